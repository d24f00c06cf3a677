#ifndef ddo_point_interpolation_h
#define ddo_point_interpolation_h

/**
 * @file
 * Interpolation from a serial (replicated) finite element space onto the
 * locally owned DoFs of another mesh of the same domain, serial or
 * distributed, and its transpose for gradients.
 *
 * @ingroup function_space
 */

#include <deal.II/dofs/dof_handler.h>
#include <deal.II/fe/mapping.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

namespace ddo
{
  using namespace dealii;

  /**
   * The interpolation operator \f$T\f$ from a serial FE space S (the same
   * mesh on every rank) onto a scalar nodal DoFHandler D on any mesh of the
   * same domain, serial or distributed: \f$(Tu)_i = u_h(x_i)\f$ at the
   * support points \f$x_i\f$ of D's locally owned DoFs, followed by D's
   * hanging-node constraints (a hanging DoF gets the combination of its
   * parents' values, so Tu is a conforming function of D). Periodicity
   * constraints of D are not applied: on a periodic mesh refined
   * differently on the two sides of a periodic boundary, apply D's
   * constraints to Tu.
   *
   * Each rank holds the rows of its own DoFs, so apply() exchanges no
   * values (it is collective only through the Trilinos vector it fills);
   * apply_transpose() carries a gradient of D back to S,
   * \f$\nabla\ell = T^T\nabla L\f$ for \f$\ell(u) = L(Tu)\f$, summed over the
   * ranks. Support points outside the source mesh (a polygonal boundary
   * that differs between meshes) are evaluated in the nearest source cell,
   * see point_evaluation_rows(); n_extrapolated_points() counts them.
   *
   * This is how a model that needs the whole mesh on every rank (the score
   * network) exchanges fields with an application on a distributed mesh.
   */
  template <int dim>
  class PointInterpolation
  {
  public:
    /**
     * The rows for the locally owned DoFs of @p target, whose support points
     * are computed with @p target_mapping. @p source must be serial.
     * Collective over the communicator of @p target's triangulation.
     */
    PointInterpolation(const FunctionSpace<dim> &source,
                       const DoFHandler<dim> &   target,
                       const Mapping<dim> &      target_mapping);

    /**
     * @p out = T @p in: @p in holds all coefficients of the source space
     * (the same on every rank), @p out is reinitialized to the locally owned
     * DoFs of the target on its communicator.
     */
    void
    apply(const Vector<double> &in, VectorType &out) const;

    /**
     * @p out = T^T @p in, summed over the ranks: @p in holds locally owned
     * entries of the target, @p out all coefficients of the source space,
     * bitwise the same on every rank (reduced on rank 0 and broadcast), so
     * that computations that follow on every rank stay in step. Collective.
     */
    void
    apply_transpose(const VectorType &in, Vector<double> &out) const;

    /** Support points of the target (on all ranks) that no source cell contains. */
    unsigned int
    n_extrapolated_points() const;

    /** The communicator of the target's triangulation (MPI_COMM_SELF if serial). */
    MPI_Comm
    get_mpi_communicator() const;

  private:
    MPI_Comm             communicator;
    IndexSet             owned;
    unsigned int         n_source_dofs;
    unsigned int         n_extrapolated = 0;
    SparsityPattern      pattern;
    SparseMatrix<double> matrix; // row r: the r-th locally owned DoF of the target
  };
} // namespace ddo

#endif
