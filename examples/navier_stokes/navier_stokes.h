#ifndef ddo_navier_stokes_h
#define ddo_navier_stokes_h

/**
 * @file
 * The incompressible Navier–Stokes equations on the two-dimensional torus in
 * vorticity–streamfunction form, solved with continuous finite elements and
 * an implicit–explicit (Crank–Nicolson / Adams–Bashforth 2) time stepping:
 * the push-forward that turns random forcings into the data of the
 * Navier–Stokes experiment (doc/navier_stokes.md).
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  namespace internal
  {
    /** A CHOLMOD Cholesky factorization of a deal.II matrix (navier_stokes.cc). */
    class CholeskyFactorization;
  } // namespace internal

  /**
   * Solver of the two-dimensional incompressible Navier–Stokes equations on a
   * periodic box (a torus) in vorticity–streamfunction form:
   * \f[
   *   \partial_t\omega + u\cdot\nabla\omega = \nu\Delta\omega + f,\qquad
   *   -\Delta\psi = \omega,\quad \int\psi = 0,\qquad
   *   u = \nabla^\perp\psi = (\partial_y\psi, -\partial_x\psi),
   * \f]
   * for \f$0 < t \le T\f$ from a fixed initial vorticity \f$\omega_0\f$, with
   * a time-independent forcing f. The class is two-dimensional only: the
   * vorticity of a 3D flow is a vector and has no streamfunction.
   *
   * <h3>Zero means</h3>
   * On the torus \f$\int\omega\f$ is conserved and \f$\int f\f$ would make
   * it grow linearly; the Poisson problem needs \f$\int\omega = 0\f$. The
   * solver therefore removes the mean of the forcing and of the initial
   * vorticity (subtracts the constant \f$|\Omega|^{-1}\int f_h\f$, which is
   * in the space) before stepping; the discrete scheme then keeps
   * \f$\int\omega_h = 0\f$ to round-off.
   *
   * <h3>Discretization</h3>
   * Continuous elements of the FunctionSpace (P1/P2 on triangles, Q1/Q2 on
   * quadrilaterals) with its periodic (and hanging node) constraints, for
   * \f$\omega_h\f$ and \f$\psi_h\f$ alike. The streamfunction is the
   * Galerkin solution of \f$K\psi = M\omega\f$ with zero mean: the singular
   * periodic Laplacian is made regular by fixing one DoF to zero, which is
   * exact because the right-hand side is compatible (its mean is projected
   * out), and the mean is subtracted afterwards. The velocity
   * \f$u_h = \nabla^\perp\psi_h\f$ is exactly divergence free in every cell
   * and has continuous normal components, so the advection form is written
   * in the skew-symmetric form
   * \f[
   *   b(u; \omega, \varphi) = \tfrac12\left[(u\cdot\nabla\omega, \varphi)
   *     - (u\cdot\nabla\varphi, \omega)\right],
   * \f]
   * which equals \f$(u\cdot\nabla\omega,\varphi)\f$ for this u (with exact
   * quadrature) and satisfies \f$b(u;\omega,\omega) = 0\f$ exactly for any
   * quadrature: the advection neither creates nor destroys enstrophy.
   * The quadrature of b is exact for the polynomial integrand on affine
   * cells (degree 3p-2), so \f$b(\nabla^\perp\psi;\omega,\psi) = 0\f$ too
   * (kinetic energy is conserved by the advection) on simplex meshes.
   *
   * <h3>Time stepping (CN–AB2)</h3>
   * Diffusion and forcing Crank–Nicolson, advection second-order
   * Adams–Bashforth:
   * \f[
   *   (M + \tfrac{\Delta t\,\nu}{2} K)\,\omega^{n+1}
   *   = (M - \tfrac{\Delta t\,\nu}{2} K)\,\omega^{n} + \Delta t\, F
   *     - \Delta t\left(\tfrac32 N^n - \tfrac12 N^{n-1}\right),
   *   \qquad N^n_i = b(\nabla^\perp\psi^n_h; \omega^n_h, \varphi_i),
   * \f]
   * with \f$N^{-1} = N^0\f$ (one first-order advection step, which keeps the
   * global error second order; after a change of step, the weights of
   * variable-step AB2, \f$(1 + r/2) N^n - (r/2) N^{n-1}\f$,
   * \f$r = \Delta t_n/\Delta t_{n-1}\f$). Testing with
   * \f$\omega^{n+1/2} = (\omega^{n+1}+\omega^n)/2\f$ gives the discrete
   * enstrophy balance
   * \f$Z^{n+1}-Z^n = \Delta t[-\nu\|\nabla\omega^{n+1/2}\|^2 +
   * (f,\omega^{n+1/2}) - (N^{*},\omega^{n+1/2})]\f$, where the last term is
   * \f$O(\Delta t^2)\f$ per step because \f$b(u;\omega,\omega)=0\f$. The
   * advection is explicit: the step must satisfy a CFL condition. With the
   * CFL number \f$|u|_{\max}\Delta t\,p/h_{\min}\f$ (diagnostics())
   * runs on distorted P1 meshes blew up at about 0.7; when a step would
   * exceed Parameters::max_cfl (0.6), solve() halves the step from there
   * on (Parameters::max_time_step_halvings; variable-step AB2 weights at
   * the switch), so a data set of random forcings never contains a
   * blown-up sample and strong samples cost only what they need.
   *
   * Per step: one Poisson solve and one solve with
   * \f$M + \tfrac{\Delta t\nu}{2}K\f$ (simplicial sparse Cholesky
   * factors by CHOLMOD, computed once and reused for every sample), one
   * matrix-free evaluation of the advection from precomputed shape
   * gradients, two sparse matrix-vector products.
   *
   * <h3>Support</h3>
   * Serial spaces only (one MPI rank; data sets are generated one sample
   * per process). The mesh must be periodic in both directions: every
   * boundary face must carry the periodic boundary ids of MeshBuilder
   * (`Periodic directions = 0, 1`), and the space's constraints must
   * identify matching DoFs (checked with the interpolant of a periodic
   * function: deal.II 9.4's make_periodicity_constraints() is wrong on
   * simplex meshes). deal.II's own vector and matrix operations may use
   * several threads; call MultithreadInfo::set_thread_limit(1) for one core.
   */
  class VorticitySolver
  {
  public:
    /** The user's parameters (subsection `Generate/navier_stokes`). */
    struct Parameters
    {
      /** Kinematic viscosity \f$\nu > 0\f$. */
      double viscosity = 1e-3;
      /** Final time T (a multiple of the time step). */
      double final_time = 10.;
      /** Time step \f$\Delta t > 0\f$. */
      double time_step = 1e-2;
      /**
       * Bound on the CFL number (see Diagnostics::cfl; 0: none). The
       * explicit advection of CN-AB2 was seen to become unstable at CFL
       * numbers of about 0.7 on distorted P1 meshes; above the bound solve()
       * halves the step (max_time_step_halvings) or throws.
       */
      double max_cfl = 0.6;
      /**
       * When the CFL bound is exceeded, solve() halves the time step and
       * continues from the current state (the extrapolation of the
       * advection uses the variable-step AB2 weights at the switch, so the
       * scheme stays second order), at most this many times per run; the
       * factorization for a smaller step is computed on first use and kept
       * for later samples. 0: throw at once.
       */
      unsigned int max_time_step_halvings = 2;
      /**
       * Initial vorticity as a function of x, y (deal.II FunctionParser
       * syntax, `pi` defined; the default is periodic on the unit square);
       * its mean is removed.
       */
      std::string initial_vorticity = default_initial_vorticity();

      /** The default initial vorticity of the Navier–Stokes experiment. */
      static std::string
      default_initial_vorticity();

      /** Declares the entries in the current subsection (the generator's `Generate/navier_stokes`). */
      static void
      declare_parameters(ParameterHandler &prm);
      /** Reads the entries of declare_parameters() from the current subsection. */
      void
      parse_parameters(ParameterHandler &prm);
      /** Throws ExcMessage if a parameter is invalid. */
      void
      validate() const;
      /** Number of time steps, T / Delta t. */
      unsigned int
      n_time_steps() const;
    };

    /** Quantities recorded at every time level of the last solve(). */
    struct Diagnostics
    {
      /** The time levels \f$t_0 = 0, \dots, T\f$ (steps of Parameters::time_step until a halving). */
      std::vector<double> time;
      /** Enstrophy \f$\frac12\int\omega_h^2\f$. */
      std::vector<double> enstrophy;
      /** Kinetic energy \f$\frac12\int|u_h|^2 = \frac12\int|\nabla\psi_h|^2\f$. */
      std::vector<double> energy;
      /** Viscous enstrophy dissipation \f$\nu\int|\nabla\omega_h|^2\f$. */
      std::vector<double> dissipation;
      /** Enstrophy production by the forcing \f$\int f_h\omega_h\f$. */
      std::vector<double> forcing_power;
      /** CFL number \f$\max_{\text{cells}} |u_h|\,\Delta t\, p / h\f$ (h: shortest edge). */
      std::vector<double> cfl;
      /** The last time step: Parameters::time_step / 2^time_step_halvings. */
      double time_step = 0;
      /** How often the time step was halved in this run (see Parameters). */
      unsigned int time_step_halvings = 0;
    };

    /**
     * Sets up the solver on @p space (which must outlive it): assembles the
     * condensed matrices, factorizes \f$M + \frac{\Delta t\nu}{2}K\f$ and the
     * pinned Laplacian, precomputes the advection data and interpolates the
     * initial vorticity. Throws if the parameters are invalid, the space is
     * distributed or not doubly periodic.
     */
    VorticitySolver(const FunctionSpace<2> &space, const Parameters &parameters);
    ~VorticitySolver();

    /** The parameters. */
    const Parameters &
    get_parameters() const
    {
      return parameters;
    }

    /** Replaces the initial vorticity (its mean is removed). */
    void
    set_initial_vorticity(const VectorType &omega0);
    /** The initial vorticity (mean free, satisfies the constraints). */
    VectorType
    get_initial_vorticity() const;

    /**
     * Integrates from the initial vorticity to the final time with forcing
     * @p forcing (an FE function of the space; its mean is removed) and
     * stores \f$\omega_h(T)\f$ in @p vorticity (re-initialized if its layout
     * differs). Records diagnostics(). When the CFL number would exceed
     * Parameters::max_cfl, the time step is halved from then on (at most
     * Parameters::max_time_step_halvings times, then an exception is
     * thrown); also throws if the solution blows up (non-finite
     * enstrophy). The solver object stays usable after an exception. Not
     * thread safe (work space is shared).
     */
    void
    solve(const VectorType &forcing, VectorType &vorticity);

    /** Diagnostics of the last solve(). */
    const Diagnostics &
    diagnostics() const
    {
      return history;
    }

    /** The zero-mean streamfunction \f$\psi_h\f$ of @p vorticity (mean removed first). */
    void
    compute_streamfunction(const VectorType &vorticity, VectorType &streamfunction) const;

    /**
     * The advection vector \f$N_i = b(\nabla^\perp\psi_h;\omega_h,\varphi_i)\f$
     * (condensed: zero on constrained DoFs), so that \f$N\cdot v =
     * b(\nabla^\perp\psi_h;\omega_h,v_h)\f$ for every FE function v.
     */
    void
    compute_advection(const VectorType &streamfunction,
                      const VectorType &vorticity,
                      VectorType &      advection) const;

    /**
     * The ratio \f$\|P_h(u\cdot\nabla\omega)\|_{L^2} / \|\nu\Delta_h\omega\|_{L^2}\f$
     * of the advective to the viscous term of @p vorticity, both as L2
     * projections onto the space (\f$\Delta_h\omega = -M^{-1}K\omega\f$). A
     * ratio well above 1 means the flow is advection dominated (nonlinear).
     */
    double
    advection_to_diffusion_ratio(const VectorType &vorticity) const;

    /** Enstrophy \f$\frac12\int\omega_h^2\f$. */
    double
    enstrophy(const VectorType &vorticity) const;
    /** Kinetic energy \f$\frac12\int|\nabla\psi_h|^2\f$ of the flow with vorticity @p vorticity. */
    double
    energy(const VectorType &vorticity) const;

  private:
    using SerialVector = Vector<double>;

    void
    check_space() const;
    void
    assemble_and_factorize();
    void
    precompute_advection_data();
    void
    to_serial(const VectorType &in, SerialVector &out) const;
    void
    from_serial(const SerialVector &in, VectorType &out) const;
    /** Subtracts the mean of a constraint-satisfying FE function. */
    void
    remove_mean(SerialVector &function) const;
    /** Projects the constant mode out of a condensed dual vector. */
    void
    remove_dual_mean(SerialVector &dual) const;
    /** @p out = condensed @p matrix times the FE function @p in. */
    void
    condensed_vmult(const SparseMatrix<double> &matrix,
                    const SerialVector &        in,
                    SerialVector &              out) const;
    /** psi from the condensed dual vector M omega; returns 1/2 psi.(M omega). */
    double
    solve_poisson(const SerialVector &m_omega, SerialVector &psi) const;
    /** The Cholesky factor of M + dt nu / 2 K for dt = time_step / 2^halvings. */
    internal::CholeskyFactorization &
    system_factor(const unsigned int halvings);
    /** The time loop from the initial vorticity to T (see solve()). */
    void
    integrate(const SerialVector &forcing, const SerialVector &forcing_dual, SerialVector &omega);
    /** Advection vector; returns the largest |u| p / h over the quadrature points. */
    double
    advection(const SerialVector &psi, const SerialVector &omega, SerialVector &out) const;

    const FunctionSpace<2> &space;
    const Parameters        parameters;

    /** Constraints of the space (periodicity) and with one DoF pinned (Poisson). */
    const AffineConstraints<double> &constraints;
    AffineConstraints<double>        pinned_constraints;

    SparsityPattern      sparsity, pinned_sparsity;
    SparseMatrix<double> mass, stiffness, laplace_pinned;
    /** Factors of M + dt nu / 2 K, index: number of time step halvings. */
    std::vector<std::unique_ptr<internal::CholeskyFactorization>> system_factors;
    std::unique_ptr<internal::CholeskyFactorization>              laplace_factor;
    mutable std::unique_ptr<internal::CholeskyFactorization> mass_factor;

    /** Condensed quadrature weights \f$P^T M 1\f$ and full weights \f$\int\psi_i\f$. */
    SerialVector dual_weights, weights;
    double       volume;

    /** Advection data: per cell its DoFs, per (cell, q) JxW and physical gradients. */
    unsigned int                         dofs_per_cell = 0, n_q_points = 0;
    std::vector<types::global_dof_index> cell_dofs;
    std::vector<double>                  cell_jxw, cell_gradients, cell_inverse_h;
    std::vector<double>                  reference_values;

    SerialVector initial_vorticity;
    Diagnostics  history;
    /** Work space of solve_poisson(). */
    mutable SerialVector poisson_rhs, poisson_pinned_rhs;
  };


  /** Pointwise statistics of an FE function, see pointwise_statistics(). */
  struct PointwiseStatistics
  {
    double mean            = 0;
    double variance        = 0;
    double skewness        = 0;
    double excess_kurtosis = 0;
  };

  /**
   * Mean, variance, skewness \f$\mu_3/\mu_2^{3/2}\f$ and excess kurtosis
   * \f$\mu_4/\mu_2^2 - 3\f$ of the values of the FE function @p u at a
   * uniformly random point of the domain: \f$\mu_k = |\Omega|^{-1}\int
   * (u_h - \bar u)^k\f$, integrated with a rule of degree 4p + 1 (Witherden–
   * Vincent on simplices, Gauss with 2p + 1 points per direction on
   * hypercubes): exact for \f$\mu_4\f$ on affine cells. Gaussian fields have
   * skewness and excess kurtosis 0; nonzero values measure how non-Gaussian
   * the one-point distribution of a solution is. Collective.
   */
  template <int dim>
  PointwiseStatistics
  pointwise_statistics(const FunctionSpace<dim> &space, const VectorType &u);
} // namespace ddo

#endif
