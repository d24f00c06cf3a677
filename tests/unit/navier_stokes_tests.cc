// The vorticity-streamfunction Navier-Stokes solver: convergence rates in
// space and time against the Taylor-Green vortex, second-order temporal
// self-convergence of a forced nonlinear flow, the discrete enstrophy balance,
// exact skew-symmetry of the advection form, the zero-mean streamfunction,
// pointwise statistics against independent quadrature, parameter errors.
// A disabled test measures the time per sample of the Navier-Stokes data set.

#include <deal.II/base/function.h>
#include <deal.II/base/function_parser.h>
#include <deal.II/base/multithread_info.h>
#include <deal.II/base/quadrature_lib.h>
#include <deal.II/base/timer.h>
#include <deal.II/lac/vector.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/covariance/matern_spde.h>
#include "navier_stokes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iomanip>
#include <iostream>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  constexpr double pi = numbers::PI;

  /**
   * The unit torus: Subdivisions^2 squares, each cut into 8 triangles (or
   * kept as squares), interior vertices of the coarse mesh moved by
   * @p distortion, then refined: P1 has (2 S 2^R)^2 DoFs on triangles.
   */
  std::string
  torus(const unsigned int subdivisions,
        const unsigned int refinements,
        const double       distortion = 0.25,
        const std::string &cells      = "simplex")
  {
    return "set Geometry = box\nsubsection box\nset Subdivisions = " +
           std::to_string(subdivisions) + "\nend\nset Cell type = " + cells +
           "\nset Periodic directions = 0, 1\nset Distortion = " + std::to_string(distortion) +
           "\nset Global refinements = " + std::to_string(refinements) + "\n";
  }

  std::unique_ptr<FunctionSpace<2>>
  make_torus_space(const std::string &mesh, const unsigned int degree)
  {
    return test_support::make_space<2>(mesh, degree, MPI_COMM_SELF);
  }

  /** Taylor-Green vortex omega = A cos(kx) cos(ky) exp(-2 nu k^2 t), k = 2 pi. */
  class TaylorGreen : public Function<2>
  {
  public:
    TaylorGreen(const double amplitude, const double viscosity, const double time)
      : Function<2>(1, time)
      , amplitude(amplitude)
      , viscosity(viscosity)
    {}

    double
    value(const Point<2> &x, const unsigned int = 0) const override
    {
      const double k = 2 * pi;
      return amplitude * std::cos(k * x[0]) * std::cos(k * x[1]) *
             std::exp(-2 * viscosity * k * k * this->get_time());
    }

  private:
    const double amplitude, viscosity;
  };

  /** Relative L2 distance of an FE function to a function. */
  double
  relative_l2_error(const FunctionSpace<2> &space, const VectorType &u, const Function<2> &exact)
  {
    Vector<double> u_serial(u.size());
    std::copy(u.begin(), u.end(), u_serial.begin());
    const unsigned int p = space.get_fe().degree;
    std::unique_ptr<Quadrature<2>> quadrature;
    if (space.cell_type() == CellType::simplex)
      quadrature = std::make_unique<QWitherdenVincentSimplex<2>>(p + 2);
    else
      quadrature = std::make_unique<QGauss<2>>(p + 2);
    Vector<float> cellwise(space.get_triangulation().n_active_cells());
    VectorTools::integrate_difference(space.get_mapping(), space.get_dof_handler(), u_serial,
                                      exact, cellwise, *quadrature, VectorTools::L2_norm);
    const double error = VectorTools::compute_global_error(space.get_triangulation(), cellwise,
                                                           VectorTools::L2_norm);
    Vector<double> zero(u.size());
    VectorTools::integrate_difference(space.get_mapping(), space.get_dof_handler(), zero, exact,
                                      cellwise, *quadrature, VectorTools::L2_norm);
    return error / VectorTools::compute_global_error(space.get_triangulation(), cellwise,
                                                     VectorTools::L2_norm);
  }

  double
  rate(const double coarse_error, const double fine_error)
  {
    return std::log2(coarse_error / fine_error);
  }

  /** Runs the Taylor-Green vortex and returns the relative L2 error at T. */
  double
  taylor_green_error(const FunctionSpace<2> &space,
                     const double            amplitude,
                     const double            viscosity,
                     const double            final_time,
                     const double            time_step,
                     double *                max_cfl = nullptr)
  {
    VorticitySolver::Parameters parameters;
    parameters.viscosity  = viscosity;
    parameters.final_time = final_time;
    parameters.time_step  = time_step;
    VorticitySolver solver(space, parameters);
    solver.set_initial_vorticity(space.interpolate(TaylorGreen(amplitude, viscosity, 0.)));
    VectorType omega;
    solver.solve(space.create_vector(), omega);
    if (max_cfl != nullptr)
      *max_cfl = *std::max_element(solver.diagnostics().cfl.begin(), solver.diagnostics().cfl.end());
    return relative_l2_error(space, omega, TaylorGreen(amplitude, viscosity, final_time));
  }

  /**
   * A forced flow in which advection dominates diffusion: the default initial
   * vorticity and a smooth forcing of several wave numbers.
   */
  const char *forced_flow_forcing =
    "4*sin(2*pi*x)*cos(4*pi*y) + 3*cos(2*pi*(x - 2*y)) + 2*sin(6*pi*y)";

  VectorType
  interpolate_expression(const FunctionSpace<2> &space, const std::string &expression)
  {
    FunctionParser<2> function(1);
    function.initialize("x,y", expression, {{"pi", pi}});
    return space.interpolate(function);
  }

  VorticitySolver::Parameters
  forced_flow_parameters(const double time_step, const double final_time)
  {
    VorticitySolver::Parameters parameters;
    parameters.viscosity         = 1e-3;
    parameters.final_time        = final_time;
    parameters.time_step         = time_step;
    parameters.initial_vorticity = "8*(" + VorticitySolver::Parameters::default_initial_vorticity() + ")";
    return parameters;
  }
} // namespace


TEST(NavierStokes, TaylorGreenSpatialConvergence)
{
  // Unforced, u.grad(omega) = 0 for the exact solution, but the discrete
  // advection is not zero (|u| = A / (2k) = 1): the rate p + 1 in L2 shows
  // that it is consistent. Nested refinements of one distorted coarse mesh;
  // dt small enough that the time error is negligible (CN error ~1e-7).
  const double amplitude = 4 * pi, viscosity = 1e-2, final_time = 0.25, time_step = 2.5e-3;
  struct Case
  {
    std::string  cells;
    unsigned int degree, first_refinement;
  };
  for (const Case &c : {Case{"simplex", 1, 2}, Case{"simplex", 2, 1}, Case{"hypercube", 1, 3},
                        Case{"hypercube", 2, 2}})
    {
      std::vector<double> errors;
      for (unsigned int r = c.first_refinement; r < c.first_refinement + 3; ++r)
        {
          const auto space = make_torus_space(torus(2, r, 0.25, c.cells), c.degree);
          double     cfl   = 0;
          errors.push_back(taylor_green_error(*space, amplitude, viscosity, final_time, time_step, &cfl));
          EXPECT_LT(cfl, 0.5);
        }
      const double expected = c.degree + 1;
      SCOPED_TRACE(c.cells + " degree " + std::to_string(c.degree));
      std::cout << "Taylor-Green " << c.cells << " p = " << c.degree << ": errors " << errors[0]
                << ' ' << errors[1] << ' ' << errors[2] << ", rates " << rate(errors[0], errors[1])
                << ' ' << rate(errors[1], errors[2]) << std::endl;
      EXPECT_NEAR(rate(errors[1], errors[2]), expected, 0.25);
      EXPECT_GT(rate(errors[0], errors[1]), expected - 0.4);
    }
}


TEST(NavierStokes, TaylorGreenTemporalConvergence)
{
  // Crank-Nicolson is second order; on a fine P2 mesh the spatial error
  // (~1e-4 relative) is well below the time errors (~5 dt^2 relative).
  // Amplitude small: the CFL number stays small at the large steps.
  const auto   space     = make_torus_space(torus(2, 3), 2);
  const double viscosity = 0.05, final_time = 1.;
  std::vector<double> errors;
  for (const double dt : {0.1, 0.05, 0.025})
    errors.push_back(taylor_green_error(*space, 0.05, viscosity, final_time, dt));
  std::cout << "Taylor-Green in time: errors " << errors[0] << ' ' << errors[1] << ' '
            << errors[2] << ", rates " << rate(errors[0], errors[1]) << ' '
            << rate(errors[1], errors[2]) << std::endl;
  EXPECT_NEAR(rate(errors[0], errors[1]), 2., 0.2);
  EXPECT_NEAR(rate(errors[1], errors[2]), 2., 0.25);
}


TEST(NavierStokes, ForcedNonlinearFlowConvergesInTimeAtSecondOrder)
{
  // Self-convergence: e(dt) = ||omega_dt(T) - omega_{dt/2}(T)|| / ||omega(T)||
  // falls by 4 per halving when the CN-AB2 scheme is second order, the
  // nonlinear (advection-dominated) term included.
  const auto space   = make_torus_space(torus(2, 2), 2);
  const auto forcing = interpolate_expression(*space, forced_flow_forcing);
  std::vector<VectorType> solutions;
  double                  ratio = 0, max_cfl = 0;
  for (const double dt : {0.01, 0.005, 0.0025, 0.00125})
    {
      VorticitySolver solver(*space, forced_flow_parameters(dt, 1.));
      solutions.emplace_back();
      solver.solve(forcing, solutions.back());
      ratio   = solver.advection_to_diffusion_ratio(solutions.back());
      max_cfl = std::max(max_cfl, *std::max_element(solver.diagnostics().cfl.begin(),
                                                    solver.diagnostics().cfl.end()));
    }
  EXPECT_GT(ratio, 3.) << "the flow should be advection dominated";
  EXPECT_LT(max_cfl, 0.8);
  std::vector<double> differences;
  for (unsigned int k = 0; k + 1 < solutions.size(); ++k)
    {
      VectorType d = solutions[k];
      d -= solutions[k + 1];
      differences.push_back(std::sqrt(space->l2_inner_product(d, d) /
                                      space->l2_inner_product(solutions.back(), solutions.back())));
    }
  std::cout << "forced flow: advection/diffusion " << ratio << ", CFL " << max_cfl << ", differences " << differences[0]
            << ' ' << differences[1] << ' ' << differences[2] << ", rates "
            << rate(differences[0], differences[1]) << ' ' << rate(differences[1], differences[2])
            << std::endl;
  EXPECT_NEAR(rate(differences[1], differences[2]), 2., 0.25);
  EXPECT_NEAR(rate(differences[0], differences[1]), 2., 0.4);
}


TEST(NavierStokes, CflViolationHalvesTheTimeStep)
{
  // At dt = 0.02 the forced flow would exceed CFL 0.6 during the run: the
  // solver continues with dt = 0.01 from there, reaches T exactly, never
  // exceeds the bound, and agrees with a run at dt = 0.01 from the start to
  // the accuracy of the scheme (differences between dt = 0.01 and 0.005 runs
  // are 4.5e-4 in the convergence test above).
  const auto space   = make_torus_space(torus(2, 2), 2);
  VectorType forcing = interpolate_expression(*space, forced_flow_forcing);
  forcing *= 3.;
  VectorType      omega_halved, omega_direct;
  // A weak initial vorticity: the CFL number grows as the forcing spins the
  // flow up and crosses the bound during the run.
  auto parameters              = forced_flow_parameters(0.02, 1.);
  parameters.initial_vorticity = VorticitySolver::Parameters::default_initial_vorticity();
  VorticitySolver halved(*space, parameters);
  halved.solve(forcing, omega_halved);
  const auto &h = halved.diagnostics();
  EXPECT_EQ(h.time_step_halvings, 1u);
  EXPECT_EQ(h.time_step, 0.01);
  EXPECT_GT(h.time.size(), 51u);
  EXPECT_LT(h.time.size(), 101u);
  EXPECT_NEAR(h.time.back(), 1., 1e-12);
  EXPECT_LE(*std::max_element(h.cfl.begin(), h.cfl.end()), 0.6);
  parameters.time_step = 0.01;
  VorticitySolver direct(*space, parameters);
  direct.solve(forcing, omega_direct);
  EXPECT_EQ(direct.diagnostics().time_step_halvings, 0u);
  omega_direct -= omega_halved;
  const double difference = std::sqrt(space->l2_inner_product(omega_direct, omega_direct) /
                                       space->l2_inner_product(omega_halved, omega_halved));
  std::cout << "max CFL " << *std::max_element(h.cfl.begin(), h.cfl.end()) << ", time step halved at t = " << h.time[2 * h.time.size() - 102] << ", difference to dt = 0.01: "
            << difference << std::endl;
  EXPECT_LT(difference, 3e-3);
}


TEST(NavierStokes, AdvectionFormIsExactlySkewSymmetric)
{
  // b(u; w, w) = 0 for every w (any quadrature), and b(grad^perp psi; w, psi)
  // = 0 with exact quadrature (simplices): advection conserves enstrophy and
  // energy; N annihilates the constants, so the mean of omega is conserved.
  // Also a 2 x 1 torus of quadrilaterals with hanging nodes.
  const std::string hanging =
    "set Geometry = box\nsubsection box\nset Upper corner = 2, 1\nset Subdivisions = 3, 2\nend\n"
    "set Periodic directions = 0, 1\nset Global refinements = 1\nset Local refinement cycles = 2\n"
    "set Local refinement center = 0.1, 0.1\nset Local refinement radius = 0.5\n";
  for (const std::string cells : {"simplex", "hypercube", "hanging"})
    for (const unsigned int degree : {1u, 2u})
      {
        SCOPED_TRACE(cells + " degree " + std::to_string(degree));
        const auto space =
          make_torus_space(cells == "hanging" ? hanging :
                                                torus(2, cells == "simplex" ? 1 : 2, 0.3, cells),
                           degree);
        if (cells == "hanging")
          {
            EXPECT_GT(space->get_constraints().n_constraints(), 20u);
          }
        VorticitySolver::Parameters parameters;
        parameters.final_time = 0;
        VorticitySolver  solver(*space, parameters);
        const VectorType omega =
          interpolate_expression(*space, "exp(sin(2*pi*x) + cos(2*pi*(x+2*y)))");
        VectorType psi, advection;
        solver.compute_streamfunction(omega, psi);
        solver.compute_advection(psi, omega, advection);
        ASSERT_GT(advection.l2_norm(), 0.);
        EXPECT_LT(std::abs(advection * omega), 1e-13 * advection.l2_norm() * omega.l2_norm());
        if (cells == "simplex")
          {
            EXPECT_LT(std::abs(advection * psi), 1e-12 * advection.l2_norm() * psi.l2_norm());
          }
        VectorType one = space->create_vector();
        one            = 1.;
        EXPECT_LT(std::abs(advection * one), 1e-13 * advection.l2_norm() * one.l2_norm());
      }
}


TEST(NavierStokes, AdvectionConvergesToTheJacobian)
{
  // psi = sin(2 pi x) + sin(4 pi y), omega = -Laplace psi: two wave numbers,
  // so u.grad(omega) = -96 pi^4 cos(2 pi x) cos(4 pi y) is not zero, and
  // (u.grad omega, v) = -24 pi^4 for v = cos(2 pi x) cos(4 pi y). The
  // discrete N(psi_h(omega_h), omega_h) . v_h converges to it.
  const double exact = -24 * std::pow(pi, 4);
  for (const unsigned int degree : {1u, 2u})
    {
      std::vector<double> errors;
      for (unsigned int r = 1; r < 4; ++r)
        {
          const auto                  space = make_torus_space(torus(2, r), degree);
          VorticitySolver::Parameters parameters;
          parameters.final_time = 0;
          VorticitySolver  solver(*space, parameters);
          const VectorType omega =
            interpolate_expression(*space, "4*pi^2*sin(2*pi*x) + 16*pi^2*sin(4*pi*y)");
          const VectorType v = interpolate_expression(*space, "cos(2*pi*x)*cos(4*pi*y)");
          VectorType       psi, advection;
          solver.compute_streamfunction(omega, psi);
          solver.compute_advection(psi, omega, advection);
          errors.push_back(std::abs(advection * v - exact) / std::abs(exact));
        }
      std::cout << "advection functional, p = " << degree << ": relative errors " << errors[0]
                << ' ' << errors[1] << ' ' << errors[2] << std::endl;
      EXPECT_LT(errors[2], degree == 1 ? 5e-2 : 1e-3);
      EXPECT_GT(rate(errors[1], errors[2]), degree + 0.7) << "degree " << degree;
    }
}


TEST(NavierStokes, EnstrophyBalanceHoldsToSecondOrder)
{
  // Z(T) - Z(0) = int_0^T (-nu ||grad omega||^2 + (f, omega)) dt for the
  // continuous problem. The CN-AB2 discretization satisfies it up to O(dt^2)
  // (the skew form contributes nothing but the time extrapolation error):
  // the defect must be small against the dissipated enstrophy and fall ~4x
  // when dt halves.
  const auto space   = make_torus_space(torus(2, 2), 1);
  const auto forcing = interpolate_expression(*space, forced_flow_forcing);
  std::vector<double> defects;
  double              dissipated = 0;
  for (const double dt : {0.02, 0.01, 0.005})
    {
      VorticitySolver solver(*space, forced_flow_parameters(dt, 2.));
      VectorType      omega;
      solver.solve(forcing, omega);
      const auto &h        = solver.diagnostics();
      double      integral = 0;
      dissipated           = 0;
      for (unsigned int n = 0; n + 1 < h.time.size(); ++n)
        {
          integral += 0.5 * dt *
                      (h.forcing_power[n] - h.dissipation[n] + h.forcing_power[n + 1] -
                       h.dissipation[n + 1]);
          dissipated += 0.5 * dt * (h.dissipation[n] + h.dissipation[n + 1]);
        }
      EXPECT_NEAR(h.enstrophy.back(), solver.enstrophy(omega), 1e-12 * h.enstrophy.back());
      defects.push_back(std::abs(h.enstrophy.back() - h.enstrophy.front() - integral));
    }
  std::cout << "enstrophy balance defects " << defects[0] << ' ' << defects[1] << ' '
            << defects[2] << " (dissipated " << dissipated << ")" << std::endl;
  EXPECT_LT(defects[2], 1e-3 * dissipated);
  EXPECT_GT(defects[0] / defects[1], 3.);
  EXPECT_GT(defects[1] / defects[2], 3.);
}


TEST(NavierStokes, StreamfunctionIsTheZeroMeanPoissonSolution)
{
  // omega = 8 pi^2 sin(2 pi x) sin(2 pi y) + 5: psi = sin sin (the constant
  // is removed), energy 1/2 int |grad psi|^2 = pi^2; L2 rate p + 1.
  for (const unsigned int degree : {1u, 2u})
    {
      std::vector<double> errors, energy_errors;
      for (unsigned int r = 1; r < 4; ++r)
        {
          const auto                  space = make_torus_space(torus(2, r), degree);
          VorticitySolver::Parameters parameters;
          parameters.final_time = 0;
          VorticitySolver  solver(*space, parameters);
          const VectorType omega =
            interpolate_expression(*space, "8*pi^2*sin(2*pi*x)*sin(2*pi*y) + 5");
          VectorType psi;
          solver.compute_streamfunction(omega, psi);
          EXPECT_LT(std::abs(space->integral(psi)), 1e-12);
          FunctionParser<2> exact(1);
          exact.initialize("x,y", "sin(2*pi*x)*sin(2*pi*y)", {{"pi", pi}});
          errors.push_back(relative_l2_error(*space, psi, exact));
          energy_errors.push_back(std::abs(solver.energy(omega) - pi * pi) / (pi * pi));
        }
      std::cout << "streamfunction p = " << degree << ": errors " << errors[0] << ' ' << errors[1]
                << ' ' << errors[2] << ", energy errors " << energy_errors[0] << ' '
                << energy_errors[1] << ' ' << energy_errors[2] << std::endl;
      EXPECT_NEAR(rate(errors[1], errors[2]), degree + 1., 0.25) << "degree " << degree;
      // The energy error is the squared H1 error: rate 2p.
      EXPECT_NEAR(rate(energy_errors[1], energy_errors[2]), 2. * degree, 0.3) << "degree " << degree;
    }
}


TEST(NavierStokes, MeansOfForcingAndInitialVorticityAreRemoved)
{
  const auto                  space = make_torus_space(torus(2, 1), 1);
  VorticitySolver::Parameters parameters;
  parameters.final_time        = 0.1;
  parameters.time_step         = 0.01;
  parameters.initial_vorticity = "3 + " + VorticitySolver::Parameters::default_initial_vorticity();
  VorticitySolver solver(*space, parameters);
  EXPECT_LT(std::abs(space->integral(solver.get_initial_vorticity())), 1e-13);

  VectorType forcing = interpolate_expression(*space, forced_flow_forcing);
  VectorType omega, omega_shifted;
  solver.solve(forcing, omega);
  EXPECT_LT(std::abs(space->integral(omega)), 1e-13);
  forcing.add(2.);
  solver.solve(forcing, omega_shifted);
  omega_shifted -= omega;
  EXPECT_LT(omega_shifted.linfty_norm(), 1e-12 * omega.linfty_norm());
}


TEST(NavierStokes, PointwiseStatisticsMatchIndependentQuadrature)
{
  // omega = cos(t) + c cos(2t), t = 2 pi x: moments from a 1D trapezoidal
  // rule (spectrally accurate for periodic functions) against the FE
  // quadrature of the P2 interpolant.
  const double c = 0.8;
  double       m[5] = {0, 0, 0, 0, 0};
  const unsigned int n = 4096;
  for (unsigned int k = 0; k < n; ++k)
    {
      const double t = 2 * pi * k / n, v = std::cos(t) + c * std::cos(2 * t);
      for (unsigned int j = 0; j < 5; ++j)
        m[j] += std::pow(v, j) / n;
    }
  const double variance = m[2] - m[1] * m[1];
  const double skewness = m[3] / std::pow(variance, 1.5); // mean 0
  const double kurtosis = m[4] / (variance * variance) - 3;
  EXPECT_NEAR(skewness, 0.75 * c / std::pow((1 + c * c) / 2, 1.5), 1e-12);

  const auto space = make_torus_space(torus(2, 3), 2);
  const auto omega = interpolate_expression(*space, "cos(2*pi*x) + 0.8*cos(4*pi*x)");
  const PointwiseStatistics s = pointwise_statistics(*space, omega);
  EXPECT_NEAR(s.mean, 0, 1e-6);
  EXPECT_NEAR(s.variance, variance, 1e-4 * variance);
  EXPECT_NEAR(s.skewness, skewness, 1e-3);
  EXPECT_NEAR(s.excess_kurtosis, kurtosis, 1e-3);

  // Shifts and positive scalings leave skewness and kurtosis unchanged, a
  // sign change flips the skewness; a sine has excess kurtosis -3/2.
  VectorType transformed = omega;
  transformed *= -2.;
  transformed.add(1.);
  const PointwiseStatistics t = pointwise_statistics(*space, transformed);
  EXPECT_NEAR(t.mean, 1., 1e-6);
  EXPECT_NEAR(t.variance, 4 * s.variance, 1e-10);
  EXPECT_NEAR(t.skewness, -s.skewness, 1e-10);
  EXPECT_NEAR(t.excess_kurtosis, s.excess_kurtosis, 1e-10);
  const PointwiseStatistics sine =
    pointwise_statistics(*space, interpolate_expression(*space, "sin(2*pi*(x+y))"));
  EXPECT_NEAR(sine.skewness, 0, 1e-6);
  EXPECT_NEAR(sine.excess_kurtosis, -1.5, 2e-3);
}


TEST(NavierStokes, RejectsInvalidParametersAndMeshes)
{
  const auto space = make_torus_space(torus(1, 1), 1);
  auto       with  = [](auto change) {
    VorticitySolver::Parameters p;
    change(p);
    return p;
  };
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.viscosity = 0; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.viscosity = -1e-3; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.time_step = 0; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.time_step = -0.1; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.final_time = -1; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.final_time = 0.015; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.max_cfl = -1; })), ExcMessage);
  EXPECT_THROW(VorticitySolver(*space, with([](auto &p) { p.initial_vorticity = "sin(("; })),
               std::exception);

  // Parameter files: the same checks through ParameterHandler.
  ParameterHandler prm;
  VorticitySolver::Parameters::declare_parameters(prm);
  prm.parse_input_from_string("set Viscosity = 2e-3\n"
                              "set Final time = 1\nset Time step = 0.05\n");
  VorticitySolver::Parameters parsed;
  parsed.parse_parameters(prm);
  EXPECT_EQ(parsed.viscosity, 2e-3);
  EXPECT_EQ(parsed.n_time_steps(), 20u);
  prm.parse_input_from_string("set Viscosity = -1\n");
  EXPECT_THROW(parsed.parse_parameters(prm), ExcMessage);

  // Meshes that are not a torus: no periodicity, periodic in x only, and
  // periodic faces without periodicity constraints in the space.
  const VorticitySolver::Parameters defaults;
  const std::string plain = "set Geometry = box\nsubsection box\nset Subdivisions = 2\nend\n"
                            "set Cell type = simplex\n";
  EXPECT_THROW(VorticitySolver(*make_torus_space(plain, 1), defaults), ExcMessage);
  EXPECT_THROW(VorticitySolver(*make_torus_space(plain + "set Periodic directions = 0\n", 1), defaults),
               ExcMessage);
  const auto builder = test_support::make_mesh_builder<2>(torus(1, 1));
  const FunctionSpace<2> unconstrained(builder.create(MPI_COMM_SELF), 1);
  EXPECT_THROW(VorticitySolver(unconstrained, defaults), ExcMessage);

  // A time step far beyond the CFL limit stops the run at once, with a
  // message; the solver stays usable.
  {
    VorticitySolver fast(*space, with([](auto &p) {
      p.final_time = 1;
      p.time_step  = 0.05;
    }));
    fast.set_initial_vorticity(interpolate_expression(*space, "100*(cos(2*pi*x) + sin(2*pi*y))"));
    VectorType omega;
    EXPECT_THROW(fast.solve(space->create_vector(), omega), ExcMessage);
    EXPECT_TRUE(fast.diagnostics().time.empty());
    fast.set_initial_vorticity(interpolate_expression(*space, "0.01*(cos(2*pi*x) + sin(2*pi*y))"));
    EXPECT_NO_THROW(fast.solve(space->create_vector(), omega));
  }

  // Vectors of another space.
  VorticitySolver  solver(*space, with([](auto &p) { p.final_time = 0.01; }));
  const auto       other = make_torus_space(torus(1, 2), 1);
  VectorType       omega;
  EXPECT_THROW(solver.solve(other->create_vector(), omega), ExcMessage);
}


// Timing of the Navier-Stokes data set (not run by default):
//   ./unit_tests --gtest_also_run_disabled_tests --gtest_filter='*NavierStokesTiming*'
// One thread; P1 on distorted periodic simplex meshes of 4225 and 16641 DoFs
// (64^2 and 128^2 free); forcing: Matern GRF (rho = 0.15, nu = 1, sigma = 0.7);
// nu = 1e-3, T = 10, default initial vorticity; dt = 0.01 on the coarse mesh,
// 0.005 on the fine one (the CFL number doubles with the resolution).
TEST(NavierStokes, DISABLED_NavierStokesTiming)
{
  MultithreadInfo::set_thread_limit(1);
  const unsigned int n_samples = 4;
  for (const auto &[refinements, time_step] : {std::pair{3u, 0.01}, std::pair{4u, 0.005}})
    {
      const auto space = make_torus_space(torus(4, refinements, 0.3), 1);
      MaternSPDE<2>::Parameters grf;
      grf.correlation_length = 0.15;
      grf.smoothness         = 1.;
      grf.marginal_variance  = 0.7 * 0.7;
      MaternSPDE<2> matern(grf);
      matern.initialize(*space);

      Timer                       setup_timer;
      VorticitySolver::Parameters parameters;
      parameters.time_step = time_step;
      VorticitySolver solver(*space, parameters);
      setup_timer.stop();

      double wall = 0, cpu = 0, max_cfl = 0;
      for (unsigned int s = 0; s < n_samples; ++s)
        {
          VectorType forcing, omega;
          matern.sample(forcing, 1234, s);
          Timer timer;
          solver.solve(forcing, omega);
          timer.stop();
          wall += timer.wall_time();
          cpu += timer.cpu_time();
          const auto &h = solver.diagnostics();
          max_cfl       = std::max(max_cfl, *std::max_element(h.cfl.begin(), h.cfl.end()));
          const PointwiseStatistics stats = pointwise_statistics(*space, omega);
          std::cout << "  sample " << s << ": " << timer.wall_time() << " s, dt " << h.time_step
                    << ", skewness " << stats.skewness << ", excess kurtosis "
                    << stats.excess_kurtosis << ", std " << std::sqrt(stats.variance)
                    << ", advection/diffusion " << solver.advection_to_diffusion_ratio(omega)
                    << ", u_rms " << std::sqrt(2 * h.energy.back()) << std::endl;
        }
      std::cout << space->n_dofs() << " DoFs: setup " << setup_timer.wall_time() << " s, "
                << wall / n_samples << " s wall, " << cpu / n_samples << " s CPU per sample ("
                << parameters.n_time_steps() << " steps), max CFL " << max_cfl << std::endl;
    }
}
