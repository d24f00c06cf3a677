#ifndef ddo_same_mesh_interpolation_h
#define ddo_same_mesh_interpolation_h

/**
 * @file
 * Interpolation between two finite element spaces on one triangulation, and
 * its transpose for gradients.
 *
 * @ingroup function_space
 */

#include <deal.II/dofs/dof_handler.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/vector.h>

namespace ddo
{
  using namespace dealii;

  /**
   * The interpolation between two continuous scalar FE spaces on the same
   * triangulation (any degrees, same cell type): a sparse matrix T with
   * \f$(Tu)_i = u_h(x_i)\f$ at the support points of the target, built cell
   * by cell from the reference cell's interpolation matrix
   * (FETools::get_interpolation_matrix), so it costs one sparse product.
   * Exact (T u_h = u_h) when the target's degree is at least the source's.
   * Its transpose carries gradients back: if \f$\ell(u) = L(Tu)\f$ then
   * \f$\nabla\ell = T^T\nabla L\f$.
   */
  template <int dim>
  class SameMeshInterpolation
  {
  public:
    SameMeshInterpolation(const DoFHandler<dim> &source, const DoFHandler<dim> &target);

    /** @p out = T @p in. */
    void
    apply(const Vector<double> &in, Vector<double> &out) const;

    /** @p out = T^T @p in. */
    void
    apply_transpose(const Vector<double> &in, Vector<double> &out) const;

  private:
    SparsityPattern      pattern;
    SparseMatrix<double> matrix;
  };
} // namespace ddo

#endif
