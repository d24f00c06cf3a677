#ifndef ddo_matern_spde_h
#define ddo_matern_spde_h

/**
 * @file
 * Matérn Gaussian random fields by the SPDE approach (Lindgren, Rue and
 * Lindström 2011): the covariance model "matern".
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/trilinos_precondition.h>
#include <deal.II/lac/trilinos_solver.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>

#include <ddo/covariance_operator.h>
#include <ddo/white_noise.h>

#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * A Matérn field on a FunctionSpace: the finite element solution of
   * \f[
   *   (\kappa^2 - \Delta)^{\alpha/2} (\tau u) = W
   * \f]
   * with white noise W and integer order \f$\alpha = \nu + d/2\f$.
   *
   * <h3>Parameters</h3>
   * Users give the marginal variance \f$\sigma^2\f$, the correlation length
   * \f$\rho\f$ (distance at which the correlation is about 0.13) and the
   * smoothness \f$\nu > 0\f$; then \f$\kappa = \sqrt{8\nu}/\rho\f$ and
   * \f$\tau\f$ follows from
   * \f$\sigma^2 = \Gamma(\nu) / (\Gamma(\alpha) (4\pi)^{d/2} \kappa^{2\nu}
   * \tau^2)\f$. \f$\alpha\f$ must be an integer in [2, 4]: in 2D
   * \f$\nu\f$ = 1, 2, 3, in 3D \f$\nu\f$ = 1/2, 3/2, 5/2. (Fractional
   * orders need a rational approximation, not implemented.) \f$\sigma^2\f$
   * is the variance of the continuous field on \f$\mathbb{R}^d\f$; on a
   * bounded domain with Neumann conditions the variance grows towards the
   * boundary (about 2x on a flat boundary), Robin conditions reduce that.
   *
   * <h3>Discrete operator</h3>
   * With the mass matrix M, the stiffness matrix K and the boundary mass
   * matrix \f$B = \oint \phi_i\phi_j\f$ (all condensed to the free DoFs with
   * the space's constraints, so hanging nodes and periodic faces are
   * handled)
   * \f[
   *   A = \kappa^2 M + K + \beta B,
   * \f]
   * with \f$\beta = 0\f$ for `Boundary condition = neumann` and
   * \f$\beta = c\kappa\f$ for `robin`, \f$c\f$ = `Robin coefficient factor`
   * (default 1/1.42 as in hIPPYlib's BiLaplacianPrior, after Daon and
   * Stadler 2018, "Mitigating the influence of the boundary on PDE-based
   * covariance operators"; see also Roininen et al. 2014). Faces with the
   * boundary ids that MeshBuilder gives to periodic faces
   * (periodic_boundary_of_direction()) get no Robin term: periodicity comes
   * from the space's constraints.
   *
   * The Galerkin form of \f$\kappa^2 - \Delta\f$ on coefficient vectors is
   * \f$M^{-1}A\f$, so the covariance of the free coefficients is
   * \f[
   *   \tilde C = \tau^{-2} (A^{-1} M)^{\alpha-1} A^{-1}:\qquad
   *   \alpha = 2:\ \tau^{-2} A^{-1} M A^{-1},\qquad
   *   \alpha = 3:\ \tau^{-2} A^{-1} M A^{-1} M A^{-1},
   * \f]
   * symmetric positive definite, with inverse
   * \f$\tilde C^{-1} = \tau^2 A (M^{-1} A)^{\alpha-1}\f$
   * (see CovarianceOperator for how \f$\tilde C\f$ acts on coefficient
   * vectors with constraints).
   *
   * <h3>Sampling</h3>
   * - \f$\alpha = 2k\f$: \f$u = \tau^{-1} (A^{-1}M)^{k-1} A^{-1} b\f$ with
   *   white noise \f$\mathrm{Cov}(b) = M\f$ (WhiteNoise): k solves, and
   *   \f$\mathrm{Cov}(u) = \tau^{-2}(A^{-1}M)^{k-1}A^{-1} M A^{-1}
   *   (MA^{-1})^{k-1} = \tilde C\f$.
   * - \f$\alpha = 2k+1\f$: \f$u = \tau^{-1} (A^{-1}M)^{k} A^{-1} b_A\f$ with
   *   noise \f$\mathrm{Cov}(b_A) = A\f$ from local Cholesky factors of the
   *   cell matrices \f$A_e = \kappa^2 M_e + K_e + \beta B_e\f$: k+1 solves,
   *   \f$\mathrm{Cov}(u) = \tau^{-2}(A^{-1}M)^{k}A^{-1} A A^{-1}(MA^{-1})^{k}
   *   = \tilde C\f$. (For \f$\alpha = 3\f$: \f$u = \tau^{-1} A^{-1} M A^{-1}
   *   b_A\f$.)
   *
   * <h3>Solvers</h3>
   * `Solver = direct`: sparse LU (Amesos KLU) of A and of M computed once in
   * initialize() and reused for every right-hand side; best for small and
   * serial problems (under MPI Amesos gathers the matrix on one rank).
   * `Solver = amg`: conjugate gradients with an algebraic multigrid
   * preconditioner (Trilinos ML) for A and a Jacobi preconditioner for M,
   * set up once, to relative residual `Solver tolerance`.
   *
   * Batches are cheap: assembly, white noise factors and the factorization
   * or preconditioner setup happen once in initialize().
   */
  template <int dim>
  class MaternSPDE : public CovarianceOperator<dim>
  {
  public:
    /** Boundary conditions of the SPDE. */
    enum class BoundaryCondition
    {
      neumann,
      robin
    };

    /** Linear solvers. */
    enum class SolverType
    {
      direct,
      amg
    };

    /** The user's parameters. */
    struct Parameters
    {
      double            marginal_variance  = 1.;
      double            correlation_length = 0.1;
      double            smoothness         = 1.;
      BoundaryCondition boundary_condition = BoundaryCondition::neumann;
      double            robin_factor       = 1. / 1.42;
      SolverType        solver             = SolverType::direct;
      double            solver_tolerance   = 1e-10;
    };

    /** Default parameters (sigma^2 = 1, rho = 0.1, nu = 1 (2D) / 1/2 (3D)). */
    MaternSPDE();

    /** Given parameters; throws if they are invalid. */
    explicit MaternSPDE(const Parameters &parameters);

    /** Declares the parameters in the current subsection. */
    static void
    declare_parameters(ParameterHandler &prm);

    void
    parse_parameters(ParameterHandler &prm) override;

    /** Replaces the parameters (call initialize() afterwards); throws if invalid. */
    void
    set_parameters(const Parameters &parameters);

    void
    initialize(const FunctionSpace<dim> &space) override;

    using CovarianceOperator<dim>::sample;

    void
    sample(std::vector<VectorType> &out,
           const std::uint64_t      seed,
           const unsigned int       first_sample_index) const override;

    void
    apply(const VectorType &in, VectorType &out) const override;

    void
    apply_inverse(const VectorType &in, VectorType &out) const override;

    double
    cameron_martin_norm_squared(const VectorType &v) const override;

    /**
     * Exact diagonal of the covariance, computed column by column: costs
     * \f$\lceil\alpha/2\rceil\f$ solves per DoF (N collective solves in
     * total), so meant for small problems and tests.
     */
    VectorType
    pointwise_variance() const override;

    /** The parameters. */
    const Parameters &
    get_parameters() const
    {
      return parameters;
    }
    /** \f$\kappa = \sqrt{8\nu}/\rho\f$. */
    double
    kappa() const
    {
      return kappa_value;
    }
    /** \f$\tau\f$, see the class documentation. */
    double
    tau() const
    {
      return tau_value;
    }
    /** The integer order \f$\alpha = \nu + d/2\f$. */
    unsigned int
    alpha() const
    {
      return alpha_value;
    }
    /** Robin coefficient \f$\beta\f$ (0 for Neumann conditions). */
    double
    robin_coefficient() const;

    /** The condensed matrix \f$A\f$ (after initialize()). */
    const TrilinosWrappers::SparseMatrix &
    system_matrix() const
    {
      return a_matrix;
    }
    /**
     * The mass matrix condensed with the space's constraints (after
     * initialize()); unlike FunctionSpace::mass_matrix(), rows and columns of
     * constrained DoFs hold only a diagonal entry.
     */
    const TrilinosWrappers::SparseMatrix &
    condensed_mass_matrix() const
    {
      return m_matrix;
    }

  private:
    /** Checks the parameters and derives kappa, alpha, tau. */
    void
    check_and_derive();

    void
    assert_initialized() const;

    /** x = A^{-1} rhs on free DoFs (rhs zero on constrained DoFs). */
    void
    solve_a(const VectorType &rhs, VectorType &x) const;
    /** x = M^{-1} rhs on free DoFs. */
    void
    solve_m(const VectorType &rhs, VectorType &x) const;
    /** Sets the locally owned constrained entries of @p v to zero: v <- Rv. */
    void
    restrict_to_free(VectorType &v) const;
    /** Applies the reduced covariance \f$\tilde C\f$ in place. */
    void
    apply_reduced(VectorType &v) const;
    /** Applies \f$\tilde C^{-1}\f$ in place. */
    void
    apply_inverse_reduced(VectorType &v) const;

    Parameters   parameters;
    double       kappa_value = 0;
    double       tau_value   = 0;
    unsigned int alpha_value = 0;

    const FunctionSpace<dim> *             space = nullptr;
    TrilinosWrappers::SparseMatrix         a_matrix;
    TrilinosWrappers::SparseMatrix         m_matrix;
    std::vector<types::global_dof_index>   owned_constrained_dofs;
    std::unique_ptr<WhiteNoise<dim>>       noise;

    mutable SolverControl                                 a_control, m_control;
    mutable std::unique_ptr<TrilinosWrappers::SolverDirect> a_direct, m_direct;
    std::unique_ptr<TrilinosWrappers::PreconditionAMG>     a_amg;
    std::unique_ptr<TrilinosWrappers::PreconditionJacobi>  m_jacobi;
  };
} // namespace ddo

#endif
