#ifndef ddo_function_space_h
#define ddo_function_space_h

/**
 * @file
 * ddo::FunctionSpace: everything ddo needs to know of a finite element space
 * on a mesh, assembled once.
 *
 * @ingroup function_space
 */

#include <deal.II/base/index_set.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/point.h>
#include <deal.II/base/quadrature.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/fe/fe.h>
#include <deal.II/fe/mapping.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>
#include <deal.II/lac/trilinos_vector.h>

#include <ddo/mesh/mesh_types.h>

#include <memory>
#include <string>
#include <vector>

namespace dealii
{
  class ParameterHandler;
} // namespace dealii

namespace ddo
{
  using namespace dealii;

  /** The vector type of FE coefficient vectors: locally owned entries. */
  using VectorType = TrilinosWrappers::MPI::Vector;

  /**
   * A scalar continuous finite element space on a mesh, with the objects that
   * covariance operators, networks and samplers need:
   *
   * - the triangulation (serial or distributed), the element (FE_Q on
   *   quadrilaterals/hexahedra, FE_SimplexP on triangles/tetrahedra, degree
   *   1 or 2), a mapping and a quadrature that suit the cell type (deal.II's
   *   default MappingQ1 would crash on simplices);
   * - the DoFHandler and the constraints: hanging nodes and periodic faces;
   * - the **mass matrix** M and the **stiffness matrix** K as Trilinos
   *   matrices. They are the Gram matrices of the nodal basis assembled
   *   without eliminating constraints, so that for every coefficient vector u
   *   that satisfies the constraints (any FE function)
   *   \f$u^T M u = \|u_h\|_{L^2}^2\f$ and \f$u^T K u = \|\nabla u_h\|^2\f$
   *   hold exactly, hanging nodes and periodicity included; \f$M 1 \cdot 1 =
   *   |\Omega|\f$ and \f$K 1 = 0\f$;
   * - the **quadrature weights** \f$w_i = \int_\Omega \psi_i\f$ of the
   *   conforming basis functions \f$\psi_i\f$ (zero on constrained DoFs),
   *   so that \f$w^T u = \int_\Omega u_h\f$: the lumped mass;
   * - the support points of the locally owned DoFs, in the order of the
   *   locally owned entries of a vector;
   * - a fingerprint: a 16-hex-digit hash of the mesh (cell types, levels,
   *   vertex positions) and the element, independent of the number of MPI
   *   ranks and of the DoF numbering. A checkpoint or data set stores it, so
   *   a mismatch of mesh or element is detected when it is loaded.
   *
   * All vectors are TrilinosWrappers::MPI::Vector over the locally owned DoFs
   * (in serial, all of them). The class is instantiated for dim = 2 and 3.
   */
  template <int dim>
  class FunctionSpace
  {
  public:
    /** The space dimension, for generic code. */
    static constexpr int dimension = dim;

    /**
     * Builds the space of continuous elements of degree @p degree on
     * @p triangulation. The cell type (hypercube or simplex) is read off the
     * mesh. @p periodic_boundaries lists the boundary pairs to identify;
     * a distributed hypercube mesh must also have them registered with
     * add_periodicity() before refinement (MeshBuilder does both).
     */
    FunctionSpace(std::shared_ptr<const Triangulation<dim>> triangulation,
                  const unsigned int                        degree,
                  const std::vector<PeriodicBoundary> &     periodic_boundaries = {});

    /** Declares `Degree` in the current subsection (`Finite element`). */
    static void
    declare_parameters(ParameterHandler &prm);

    /** The MPI communicator of the mesh (MPI_COMM_SELF for a serial mesh). */
    MPI_Comm
    get_mpi_communicator() const;

    const Triangulation<dim> &
    get_triangulation() const;
    const DoFHandler<dim> &
    get_dof_handler() const;
    const FiniteElement<dim> &
    get_fe() const;
    const Mapping<dim> &
    get_mapping() const;
    /** A quadrature exact for the mass matrix on affine cells. */
    const Quadrature<dim> &
    get_quadrature() const;
    /** Hanging node and periodicity constraints (closed). */
    const AffineConstraints<double> &
    get_constraints() const;

    /** Cell type of the mesh. */
    CellType
    cell_type() const;
    /** Whether the mesh is distributed over several ranks' memory. */
    bool
    is_distributed() const;

    types::global_dof_index
    n_dofs() const;
    const IndexSet &
    locally_owned_dofs() const;
    const IndexSet &
    locally_relevant_dofs() const;

    /** Mass matrix, see the class documentation. */
    const TrilinosWrappers::SparseMatrix &
    mass_matrix() const;
    /** Stiffness matrix, see the class documentation. */
    const TrilinosWrappers::SparseMatrix &
    stiffness_matrix() const;
    /** Quadrature weights \f$\int \psi_i\f$ of the conforming basis. */
    const VectorType &
    quadrature_weights() const;
    /** Support points of the locally owned DoFs (locally owned order). */
    const std::vector<Point<dim>> &
    locally_owned_support_points() const;

    /** A zero vector with the locally owned layout. */
    VectorType
    create_vector() const;
    /** A zero vector with locally relevant (ghost) entries, read-only use. */
    VectorType
    create_ghosted_vector() const;

    /** \f$(u_h, v_h)_{L^2} = u^T M v\f$. */
    double
    l2_inner_product(const VectorType &u, const VectorType &v) const;
    /** \f$\int_\Omega u_h = w^T u\f$. */
    double
    integral(const VectorType &u) const;
    /** Measure of the domain as integrated by the FE space: \f$1^T M 1\f$. */
    double
    volume() const;

    /** Interpolates @p function into a constraint-satisfying vector. */
    VectorType
    interpolate(const Function<dim> &function) const;

    /** Fingerprint of mesh and element, see the class documentation. */
    const std::string &
    fingerprint() const;

    /** One-paragraph description: cells, DoFs, element, volume, fingerprint. */
    std::string
    summary() const;

  private:
    void
    setup_dofs(const std::vector<PeriodicBoundary> &periodic_boundaries);
    void
    assemble();

    std::shared_ptr<const Triangulation<dim>> triangulation;
    CellType                                  cells;
    std::unique_ptr<FiniteElement<dim>>       fe;
    std::unique_ptr<Mapping<dim>>             mapping;
    std::unique_ptr<Quadrature<dim>>          quadrature;
    DoFHandler<dim>                           dof_handler;
    AffineConstraints<double>                 constraints;
    IndexSet                                  owned_dofs;
    IndexSet                                  relevant_dofs;
    TrilinosWrappers::SparseMatrix            mass;
    TrilinosWrappers::SparseMatrix            stiffness;
    VectorType                                weights;
    std::vector<Point<dim>>                   support_points;
    std::string                               mesh_fingerprint;
  };


  /**
   * Fingerprint of a mesh and an element (used by FunctionSpace): a hash of
   * the cell types, refinement levels and vertex positions (rounded to 1e-9
   * of the bounding box diameter) of all active cells, combined with the
   * element's name. Collective on distributed meshes; the result does not
   * depend on the partition.
   */
  template <int dim>
  std::string
  compute_fingerprint(const Triangulation<dim> &triangulation,
                      const FiniteElement<dim> &fe);
} // namespace ddo

#endif
