#ifndef ddo_pde_darcy_problem_h
#define ddo_pde_darcy_problem_h

/**
 * @file
 * Steady Darcy flow with a field as its permeability,
 * \f[ -\nabla\cdot(a(u)\nabla p) = f \text{ in } \Omega,\quad p = 0 \text{ on }
 *     \Gamma_D,\quad a\,\partial_n p = 0 \text{ elsewhere}, \f]
 * on the function space of the field: the forward model of the likelihood
 * `darcy_point_pressure` and of the quantity of interest
 * `darcy_boundary_flux`, so that an inverse problem and the forward
 * propagation of the same prior solve the same PDE. Direct solves: one
 * Cholesky factorization per field (CHOLMOD, ddo::SparseCholesky) serves
 * the forward and the adjoint problem.
 *
 * An inverse problem solves this PDE thousands of times on one mesh with
 * a changing coefficient, so everything that does not depend on the field
 * is done once: the values, gradients and weights of the shape functions
 * at the quadrature points of every cell (what FEValues would compute
 * again for each field; n_q (1 + n (dim + 1)) doubles per cell for n
 * shape functions and n_q points) and the fill-reducing ordering and
 * symbolic analysis of the factorization. Measured on step-4's plate
 * (1370 P1 DoFs, benchmarks/darcy_solve_benchmark.cc,
 * doc/benchmarks_darcy.md), against FEValues assembly and UMFPACK.
 *
 * @ingroup likelihood
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/tensor.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>
#include <ddo/lac/sparse_cholesky.h>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /** The parameters of a DarcyProblem (entries of the plugin's subsection). */
  struct DarcySettings
  {
    /** How the field maps to the permeability. */
    enum class PermeabilityMap
    {
      /** a = max(u, floor): the field is the permeability (two-valued data). */
      identity,
      /** a = exp(u): the field is the log-permeability (Gaussian priors). */
      exponential
    };

    /** f: the constant volume source. */
    double source = 1;
    /** Boundary ids with p = 0 (empty: the whole boundary). */
    std::set<types::boundary_id> dirichlet_ids;
    PermeabilityMap              map = PermeabilityMap::identity;
    /** The smallest permeability for PermeabilityMap::identity. */
    double floor = 0.1;

    /** Declares `Source`, `Dirichlet boundary ids`, `Field`, `Permeability floor`. */
    static void
    declare_parameters(ParameterHandler &prm);

    /** Reads them; @p owner (a plugin name) prefixes the messages. */
    void
    parse_parameters(ParameterHandler &prm, const std::string &owner);

    /** "-div(a grad p) = f, p = 0 on ..., a = ...". */
    std::string
    summary() const;
  };


  /** The Darcy problem of the file documentation on one function space. */
  template <int dim>
  class DarcyProblem
  {
  public:
    /**
     * Sets up constraints (the space's and p = 0 on the Dirichlet boundary),
     * sparsity and right-hand side on @p space, which outlives this object.
     * Throws for a distributed mesh or a Dirichlet boundary without DoFs.
     */
    DarcyProblem(const FunctionSpace<dim> &space, const DarcySettings &settings, const std::string &owner);

    /**
     * Assembles A(a(u)), factorizes it and returns the pressure. Throws,
     * naming the range of the permeability, where the field has no pressure
     * in floating point (see try_solve_pressure()).
     */
    Vector<double>
    solve_pressure(const Vector<double> &u);

    /**
     * As solve_pressure(), but returns false (@p p unspecified) where the
     * field has no pressure in floating point: a permeability that is not
     * finite or not positive at a quadrature point (exp(u) overflows above
     * u = 709 and underflows to 0 below u = -745), a matrix that the direct
     * solver finds singular, or a pressure that is not finite. The
     * likelihoods answer such a field with log L = -infinity, so that a
     * sampler's line search shortens its step instead of stopping.
     */
    bool
    try_solve_pressure(const Vector<double> &u, Vector<double> &p);

    /**
     * Solves A z = @p rhs with the factorization of the last
     * solve_pressure() (A is symmetric, so this is the adjoint problem);
     * @p rhs is condensed on entry and z distributed on exit.
     */
    void
    solve_adjoint(Vector<double> &rhs);

    /**
     * @p gradient_i = \f$-\int \phi_i a'(u) \nabla z\cdot\nabla p\f$: the
     * derivative of \f$z^T A(u) p\f$'s negative with respect to u, i.e. the
     * gradient of a functional of p whose adjoint state is @p z.
     */
    void
    permeability_derivative(const Vector<double> &u,
                            const Vector<double> &p,
                            const Vector<double> &z,
                            Vector<double> &      gradient) const;

    /**
     * The outflow \f$-\int_{\Gamma} a\,\partial_n p\,w\f$ through the
     * boundary, weighted by the finite element function @p weight, as the
     * variational (residual) flux \f$\int f w - \int a\nabla p\cdot\nabla w\f$:
     * exact for the discrete solution (the fluxes of weights summing to one
     * add up to \f$\int_\Omega f\f$ to solver precision) and of the
     * convergence order of the energy, not of the trace of the gradient.
     */
    double
    outflow(const Vector<double> &u, const Vector<double> &p, const Vector<double> &weight) const;

    /** The indices of the DoFs on the Dirichlet boundary. */
    const std::set<types::global_dof_index> &
    dirichlet_dofs() const
    {
      return boundary_dofs;
    }

    /** Forward and adjoint solves so far. */
    unsigned int
    n_solves() const
    {
      return solves;
    }

  private:
    const FunctionSpace<dim> &        space;
    const DarcySettings               settings;
    AffineConstraints<double>         constraints;
    std::set<types::global_dof_index> boundary_dofs;
    SparsityPattern                   pattern;
    SparseMatrix<double>              matrix;
    Vector<double>                    rhs;
    std::unique_ptr<SparseCholesky>   cholesky;
    unsigned int                      solves = 0;

    /** The shape functions at the quadrature points of every cell (see the file documentation). */
    unsigned int                         n_cells = 0, n_shape = 0, n_points = 0;
    std::vector<types::global_dof_index> cell_dofs;
    std::vector<double>                  jxw, shape_values;
    std::vector<Tensor<1, dim>>          shape_gradients;
    /** The smallest and largest permeability of the last assembly. */
    std::pair<double, double> permeability_range{0., 0.};
    /** The number of quadrature points with a NaN permeability in the last assembly. */
    unsigned int nan_permeabilities = 0;

    /** a(u) and a'(u) at one value of the field. */
    std::pair<double, double>
    permeability(const double u) const;

    void
    make_constraints(const std::string &owner);

    void
    assemble_source();

    /** Fills cell_dofs, jxw, shape_values and shape_gradients. */
    void
    tabulate_cells();

    /** Values of the field @p v at the quadrature points of cell @p c. */
    void
    values_at_points(const unsigned int c, const Vector<double> &v, std::vector<double> &values) const;

    /** Gradients of the field @p v at the quadrature points of cell @p c. */
    void
    gradients_at_points(const unsigned int c, const Vector<double> &v, std::vector<Tensor<1, dim>> &gradients) const;

    /**
     * Assembles A(a(u)) into matrix (a = 1 for @p u = nullptr); false if
     * a(u) is not finite and positive everywhere.
     */
    bool
    assemble_matrix(const Vector<double> *u);
  };
} // namespace ddo

#endif
