#ifndef ddo_matern_spde_h
#define ddo_matern_spde_h

/**
 * @file
 * Matérn Gaussian random fields by the SPDE approach (Lindgren, Rue and
 * Lindström 2011): the covariance model "matern".
 *
 * @ingroup covariance
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/tensor.h>
#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/trilinos_precondition.h>
#include <deal.II/lac/trilinos_solver.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>

#include <ddo/covariance/interface.h>
#include <ddo/covariance/white_noise.h>
#include <ddo/lac/fractional_power.h>

#include <memory>
#include <string>
#include <vector>

class Epetra_MultiVector;

namespace ddo
{
  using namespace dealii;

  namespace internal
  {
    /** A sparse factorization with many right-hand sides (matern_spde.cc). */
    class DirectFactorization;
    /** The shifted systems of a rational approximation (shifted_systems.h). */
    class ShiftedSystems;
  } // namespace internal

  /**
   * A Matérn field on a FunctionSpace: the finite element solution of
   * \f[
   *   (\kappa^2 - \Delta)^{\alpha/2} (\tau u) = W
   * \f]
   * with white noise W and order \f$\alpha = \nu + d/2\f$: integer orders
   * exactly, fractional ones by a rational approximation (see "Fractional
   * orders" below).
   *
   * <h3>Parameters</h3>
   * Users give the marginal variance \f$\sigma^2\f$, the correlation length
   * \f$\rho\f$ (distance at which the correlation is about 0.13) and the
   * smoothness \f$\nu > 0\f$; then \f$\kappa = \sqrt{8\nu}/\rho\f$ and
   * \f$\tau\f$ follows from
   * \f$\sigma^2 = \Gamma(\nu) / (\Gamma(\alpha) (4\pi)^{d/2} \kappa^{2\nu}
   * \tau^2)\f$. Any \f$\nu > 0\f$ with \f$\alpha \le 4\f$ is
   * accepted (2D: \f$0 < \nu \le 3\f$, 3D: \f$0 < \nu \le 5/2\f$);
   * \f$\alpha\f$ = 2, 3, 4 (2D \f$\nu\f$ = 1, 2, 3; 3D \f$\nu\f$ =
   * 1/2, 3/2, 5/2) are sampled exactly with 1 or 2 solves. \f$\sigma^2\f$
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
   * <h3>Fractional orders</h3>
   * With \f$L = M^{-1}A\f$ (spectrum in \f$[\kappa^2, \Lambda\kappa^2]\f$,
   * \f$\Lambda\kappa^2\f$ the largest eigenvalue of the cell pencils
   * \f$(A_e, M_e)\f$, a rigorous bound), the covariance is
   * \f$\tilde C = \tau^{-2} L^{-\alpha} M^{-1}\f$ for every order. For a
   * non-integer \f$\alpha\f$ write \f$\alpha/2 = k + s\f$, \f$0<s<1\f$,
   * and sample
   * \f[
   *   u = \tau^{-1} (A^{-1}M)^k\, r_s(L)\, M^{-1} b,\qquad
   *   r_s(L) M^{-1} b = \kappa^{-2s}\Big(w_\infty M^{-1} b + w_0\kappa^2 A^{-1} b
   *     + \sum_j w_j \kappa^2 (A + d_j\kappa^2 M)^{-1} b\Big),
   * \f]
   * with white noise \f$\mathrm{Cov}(b) = M\f$ and \f$r_s \approx
   * x^{-s}\f$ the FractionalPowerQuadrature on \f$[1, \Lambda]\f$, so
   * \f$\mathrm{Cov}(u) = \tau^{-2} L^{-2k} r_s(L)^2 M^{-1}\f$: every
   * eigenmode's variance within a relative \f$2\epsilon\f$ of
   * \f$\tau^{-2}(\kappa^2+\lambda)^{-\alpha}\f$, \f$\epsilon\f$ =
   * `Fractional order tolerance` (default 1e-5). The shifted matrices
   * \f$A + d_j\kappa^2 M\f$ (about 20 at the default tolerance; the
   * number grows with \f$\log\Lambda\f$) are factorized (direct) or get
   * an AMG preconditioner (amg) once in initialize(); a sample costs one
   * solve with each, one with A and one with M, plus k solves with A.
   * apply() is the covariance of these samples (the same rational function;
   * samples may use single-precision factors of the shifted matrices, see
   * `Direct solver precision`); apply_inverse() applies \f$\tau^2 M
   * L^{\lceil\alpha\rceil} r_t(L)\f$, \f$t = \lceil\alpha\rceil -
   * \alpha\f$ (same shifts), the inverse of apply() to a relative
   * \f$3\epsilon\f$. Orders within 1e-8 of an integer take the exact
   * integer path.
   *
   * <h3>Anisotropy</h3>
   * `Correlation lengths per axis` \f$(\ell_1,\dots,\ell_d)\f$ (empty:
   * isotropic) and a rotation R (`Rotation angle`: in 2D one angle in
   * degrees, counter-clockwise; in 3D three Euler angles in degrees, z-x-z
   * convention, \f$R = R_z(\varphi) R_x(\theta) R_z(\psi)\f$) give the
   * operator \f$\kappa^2 - \nabla\cdot\Theta\nabla\f$, i.e. the stiffness
   * form \f$\int \Theta\nabla\phi_i\cdot\nabla\phi_j\f$, with
   * \f[
   *   \Theta = R\,\mathrm{diag}(\ell_i^2/\rho^2)\,R^T,\qquad
   *   \rho = (\ell_1\cdots\ell_d)^{1/d}\ \text{(geometric mean; replaces
   *   `Correlation length`)},\qquad \kappa = \sqrt{8\nu}/\rho .
   * \f]
   * The substitution \f$x = \Theta^{1/2} y\f$ turns the operator into the
   * isotropic \f$\kappa^2 - \Delta_y\f$, so the correlation at separation
   * \f$x\f$ is the isotropic Matérn correlation at distance
   * \f$|\Theta^{-1/2}x|\f$: along the rotated axis \f$Re_i\f$ the
   * correlation length is \f$\ell_i\f$. The spectral density becomes
   * \f$\tau^{-2}(\kappa^2 + k^T\Theta k)^{-\alpha}/(2\pi)^d\f$; with
   * \f$k' = \Theta^{1/2}k\f$ the marginal variance is
   * \f$\det(\Theta)^{-1/2}\f$ times the isotropic one, so
   * \f$\tau = \tau_{\mathrm{iso}}\det(\Theta)^{-1/4}\f$ keeps it at
   * \f$\sigma^2\f$. With \f$\rho\f$ the geometric mean,
   * \f$\det\Theta = 1\f$ and \f$\tau = \tau_{\mathrm{iso}}\f$. Equal
   * lengths give \f$\Theta = I\f$ for every rotation.
   *
   * <h3>Solvers</h3>
   * `Solver = direct`: a sparse factorization of A computed once in
   * initialize() and reused for every right-hand side (of M, when needed,
   * on first use). `Direct solver = cholmod` (default): supernodal Cholesky
   * (CHOLMOD, METIS/AMD ordering, serial problems only; a distributed
   * problem falls back to KLU); with `Direct solver block size` > 1 batches
   * are solved as blocks of right-hand sides (BLAS-3 triangular solves).
   * The triangular solves of CHOLMOD's factor run on several threads
   * (SparseCholesky); `Direct solver precision = single` stores the factor
   * in float, which halves its memory and the time of a single-sample
   * solve, at a relative error of about 1e-6 (to rounding, the same
   * samples).
   * `klu`: Amesos KLU LU (under MPI Amesos gathers the matrix on one rank);
   * `mumps`: Amesos MUMPS LU (distributed; one right-hand side at a time).
   * `Solver = amg`: conjugate gradients with an algebraic multigrid
   * preconditioner (Trilinos ML, `AMG smoother sweeps`, `AMG aggregation
   * threshold`) for A and a Jacobi preconditioner for M, set up once, to
   * relative residual `Solver tolerance`. `Solver = automatic` (default):
   * direct on one MPI rank with at most automatic_direct_limit() DoFs (a
   * quarter of it for fractional orders), amg
   * otherwise (see grf_benchmark and doc/benchmarks_grf.md for the
   * measurements behind the limits).
   *
   * The default `Solver tolerance` 1e-6 is meant for sampling: the error of
   * a sample is far below its Monte Carlo error (the relative difference
   * of AMG and direct samples is reported by grf_benchmark). apply(),
   * apply_inverse() and pointwise_variance() with the amg solver are only
   * as exact as this tolerance: set it to e.g. 1e-12, or use the direct
   * solver, when they must match exact formulas.
   *
   * Batches are cheap: assembly, white noise factors and the factorization
   * or preconditioner setup happen once in initialize(); sample() reuses its
   * work vectors. The mutable work space makes concurrent calls on one
   * object from several threads unsafe.
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

    /** Linear solvers, see the class documentation. */
    enum class SolverType
    {
      automatic,
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
      SolverType        solver             = SolverType::automatic;
      /** "cholmod", "klu" or "mumps". */
      std::string       direct_solver      = "cholmod";
      double            solver_tolerance   = 1e-6;
      /**
       * Right-hand sides per direct solve in sample() (up to 64 MB): values
       * above 1 run the triangular solves of a batch as BLAS-3 blocks; 1
       * makes every sample bitwise independent of the batch size (blocked
       * solves may differ in the last bits).
       */
      unsigned int      direct_block_size         = 1;
      /** Precision of the stored CHOLMOD factor ("double" or "single"). */
      std::string       direct_precision          = "single";
      unsigned int      amg_smoother_sweeps       = 1;
      /**
       * ML's drop tolerance for weak connections. 0 in 3D: on Q1 hexahedra
       * with 0.02 the CG iterations grew with N (time slope 1.17 over
       * 15k-275k DoFs), with 0 the slope is about 1.0 at the same time per
       * sample (grf_benchmark, doc/benchmarks_grf.md).
       */
      double            amg_aggregation_threshold = dim == 3 ? 0. : 0.02;
      /** Correlation length per axis (empty: isotropic, `correlation_length`). */
      std::vector<double> correlation_lengths;
      /** Rotation in degrees: 1 angle (2D) or 3 z-x-z Euler angles (3D); empty = none. */
      std::vector<double> rotation_angles;
      /**
       * Fractional orders: the largest relative error of the rational
       * approximation of a fractional power on the mesh's spectrum.
       */
      double              fractional_tolerance = 1e-5;
    };

    /**
     * The largest number of DoFs for which `Solver = automatic` uses the
     * direct solver (on one MPI rank): 2D 1,100,000, 3D 150,000. In 3D the
     * fill of the Cholesky factor grows like N^(4/3) and its cost like N^2;
     * with METIS ordering and an optimized BLAS (OpenBLAS, see
     * scripts/install_dependencies.sh) the factorization of the 48^3 Q1
     * cube (117,649 DoFs) takes ~7 s and 470 MB, and a sample then costs
     * ~60% of an AMG-preconditioned CG solve (a quarter in blocks). With
     * the reference BLAS the factorization is ~8x slower. Fractional orders
     * factorize one matrix per shift (about 20; 5.3 kB per DoF in 2D, see
     * doc/benchmarks_fractional_matern.md), so `automatic` takes the direct
     * solver for them only up to a quarter of these sizes.
     */
    static types::global_dof_index
    automatic_direct_limit();

    /** Default parameters (sigma^2 = 1, rho = 0.1, nu = 1 (2D) / 1/2 (3D)). */
    MaternSPDE();

    /** Given parameters; throws if they are invalid. */
    explicit MaternSPDE(const Parameters &parameters);

    ~MaternSPDE() override;

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
    /** The order \f$\alpha = \nu + d/2\f$. */
    double
    alpha() const
    {
      return alpha_value;
    }
    /** Whether \f$\alpha\f$ is not an integer (rational approximation). */
    bool
    has_fractional_order() const
    {
      return fractional;
    }
    /**
     * Fractional orders: the rational approximation in use (after
     * initialize()); nullptr for integer orders.
     */
    const FractionalPowerQuadrature *
    fractional_quadrature() const
    {
      return quadrature.get();
    }
    /**
     * Bytes of the stored sparse factors (of A, of M where factorized, and
     * of the shifted matrices of fractional orders); 0 with the AMG solver
     * or a package that does not report its memory.
     */
    std::size_t
    factor_memory() const;
    /** Robin coefficient \f$\beta\f$ (0 for Neumann conditions). */
    double
    robin_coefficient() const;
    /** The anisotropy tensor \f$\Theta\f$ (identity if isotropic). */
    const Tensor<2, dim> &
    anisotropy() const
    {
      return theta;
    }
    /** The solver in use (direct or amg; after initialize()). */
    SolverType
    active_solver() const
    {
      return active_solver_type;
    }

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

    /** alpha as an integer (integer orders). */
    unsigned int
    integer_order() const
    {
      return static_cast<unsigned int>(alpha_value + 0.5);
    }

    /** initialize() once the space is set: matrices, noise, solvers, shifted systems. */
    void
    set_up_operators();
    /** initialize(): sizes A and M with the condensed sparsity pattern of the space. */
    void
    reinit_matrices();
    /**
     * initialize(): assembles A and M; returns the cell matrices of A if
     * @p keep_cell_matrices (else an empty vector). If @p spectrum_bound is
     * given, sets it to the largest eigenvalue of the cell pencils
     * \f$(A_e, M_e)\f$ over the mesh, an upper bound of the spectrum of
     * \f$M^{-1}A\f$.
     */
    std::vector<FullMatrix<double>>
    assemble_matrices(const bool keep_cell_matrices, double *spectrum_bound = nullptr);
    /** initialize(): the white noise, weighted by the cell matrices of A for odd orders. */
    void
    make_noise(const bool odd, const std::vector<FullMatrix<double>> &a_cell_matrices);
    /** initialize(): the locally owned constrained DoFs and their local positions. */
    void
    collect_constrained_dofs();
    /** initialize(): chooses the solver and factorizes A (direct) or sets up the preconditioners. */
    void
    setup_solvers();

    /** x = A^{-1} rhs on free DoFs (rhs zero on constrained DoFs). */
    void
    solve_a(const VectorType &rhs, VectorType &x) const;
    /** y <- (A^{-1} M)^powers y. */
    void
    apply_a_inverse_m(VectorType &y, const unsigned int powers) const;
    /** x = M^{-1} rhs on free DoFs. */
    void
    solve_m(const VectorType &rhs, VectorType &x) const;
    /** Sets the locally owned constrained entries of @p v to zero: v <- Rv. */
    void
    restrict_to_free(VectorType &v) const;
    /** The same for every column of @p v (locally owned layout). */
    void
    restrict_to_free(Epetra_MultiVector &v) const;
    /** Direct solver: draws the white noise of @p count samples into @p b. */
    void
    draw_noise_block(Epetra_MultiVector &b,
                     const unsigned int  count,
                     const std::uint64_t seed,
                     const std::uint64_t first_index) const;
    /** Direct solver: samples out[first, first + count) as one block. */
    void
    sample_block(std::vector<VectorType> &out,
                 const unsigned int       first,
                 const unsigned int       count,
                 const std::uint64_t      seed,
                 const std::uint64_t      first_index) const;
    /**
     * Direct solver, the end of sample_block(): x <- (A^{-1}M)^powers x,
     * then column c of x over tau into out[first + c] (constraints
     * distributed); @p work: a block of the same shape.
     */
    void
    finish_block(Epetra_MultiVector &     x,
                 Epetra_MultiVector &     work,
                 const unsigned int       powers,
                 std::vector<VectorType> &out,
                 const unsigned int       first) const;
    /** Applies the reduced covariance \f$\tilde C\f$ in place. */
    void
    apply_reduced(VectorType &v) const;
    /** Applies \f$\tilde C^{-1}\f$ in place. */
    void
    apply_inverse_reduced(VectorType &v) const;

    /**
     * initialize(), fractional orders: the rational approximation on the
     * spectrum bounded by @p spectrum_bound and its shifted systems.
     */
    void
    setup_fractional(const double spectrum_bound);
    /**
     * out = \f$r_p(L) M^{-1}\f$ rhs \f$\approx L^{-p}M^{-1}\f$ rhs on free
     * DoFs (p: the sampling or the inverse exponent).
     */
    void
    apply_fractional_power(const double      p,
                           const VectorType &rhs,
                           VectorType &      out,
                           const bool        accurate) const;
    /**
     * Direct solver: apply_fractional_power() for every column of @p b
     * (stored factors), with @p work of the same shape.
     */
    void
    apply_fractional_power(const double              p,
                           const Epetra_MultiVector &b,
                           Epetra_MultiVector &      out,
                           Epetra_MultiVector &      work) const;
    /** Direct solver: sample_block() for fractional orders. */
    void
    sample_block_fractional(std::vector<VectorType> &out,
                            const unsigned int       first,
                            const unsigned int       count,
                            const std::uint64_t      seed,
                            const std::uint64_t      first_index) const;
    /** One sample of a fractional order from white noise @p b (Cov = M). */
    void
    sample_fractional(const VectorType &b, VectorType &u) const;
    /** apply_reduced() for fractional orders. */
    void
    apply_reduced_fractional(VectorType &v) const;
    /** apply_inverse_reduced() for fractional orders. */
    void
    apply_inverse_reduced_fractional(VectorType &v) const;

    Parameters     parameters;
    double         kappa_value = 0;
    double         tau_value   = 0;
    double         alpha_value = 0;
    /** alpha is not an integer. */
    bool           fractional = false;
    /** Fractional orders: alpha/2 = k + s (sampling) and t = ceil(alpha) - alpha (inverse). */
    unsigned int   sample_power      = 0;
    double         sample_fraction   = 0;
    double         inverse_fraction  = 0;
    Tensor<2, dim> theta;
    SolverType     active_solver_type = SolverType::direct;

    const FunctionSpace<dim> *             space = nullptr;
    TrilinosWrappers::SparseMatrix         a_matrix;
    TrilinosWrappers::SparseMatrix         m_matrix;
    std::vector<types::global_dof_index>   owned_constrained_dofs;
    /** Their positions among the locally owned entries. */
    std::vector<unsigned int>              owned_constrained_local;
    std::unique_ptr<WhiteNoise<dim>>       noise;

    std::unique_ptr<internal::DirectFactorization>         a_direct;
    /** Factorized on first use (only apply_inverse() needs M^-1). */
    mutable std::unique_ptr<internal::DirectFactorization> m_direct;
    std::unique_ptr<TrilinosWrappers::PreconditionAMG>     a_amg;
    std::unique_ptr<TrilinosWrappers::PreconditionJacobi>  m_jacobi;
    /** Work space of sample(), reused across calls. */
    mutable VectorType                                     work_noise, work_tmp;
    mutable std::unique_ptr<Epetra_MultiVector>            work_block_b, work_block_x, work_block_y;
    /** Fractional orders: the rational approximation and its shifted systems. */
    std::unique_ptr<FractionalPowerQuadrature>             quadrature;
    std::unique_ptr<internal::ShiftedSystems>              shifted;
  };
} // namespace ddo

#endif
