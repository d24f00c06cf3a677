// The likelihood plugins: gradients equal central differences (the adjoint
// of darcy_point_pressure for both permeability maps, on a Gmsh mesh with
// holes), point values reproduce the linear functions the element contains,
// random points avoid the holes, the noise of the data has the requested
// level (misfit statistics over many points, within 4 standard errors), and
// inputs a user can get wrong are refused with a clear message. The widening
// with the sampler's noise level: each observation's widened variance is the
// variance the state noise gives it (sampled), and residuals of noisy states
// are calibrated by it.

#include <deal.II/base/function_parser.h>
#include <deal.II/lac/vector.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/covariance/interface.h>
#include <ddo/likelihood/interface.h>
#include <ddo/likelihood/point_observations.h>

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>

#include "../covariance_test_utilities.h"

using namespace ddo;
using test_support::interpolate_expression;

namespace
{
  const std::string plate_mesh = "set Geometry = gmsh\nset Cell type = simplex\nsubsection gmsh\nset File name = " +
                                 std::string(DDO_SOURCE_DIR) + "/tests/data/plate_with_holes.msh\nend\n";

  std::unique_ptr<Likelihood<2>>
  make_likelihood(const std::string &name, const std::string &settings, const FunctionSpace<2> &space)
  {
    ParameterHandler prm;
    LikelihoodRegistry<2>::instance().declare_parameters(prm, "Likelihood", name, "");
    prm.parse_input_from_string("subsection " + name + "\n" + settings + "end\n");
    auto likelihood = LikelihoodRegistry<2>::instance().create_and_parse(prm, "Likelihood");
    likelihood->initialize(space);
    return likelihood;
  }


  /** Largest relative error of g . v against central differences of log L, over 3 random directions. */
  double
  gradient_error(Likelihood<2> &likelihood, const Vector<double> &u, const double step)
  {
    Vector<double> gradient(u.size()), unused(u.size());
    likelihood.log_likelihood(u, 0., gradient);
    std::mt19937                     rng(7);
    std::normal_distribution<double> normal;
    double                           worst = 0;
    for (unsigned int k = 0; k < 3; ++k)
      {
        Vector<double> v(u.size());
        for (auto &x : v)
          x = normal(rng);
        Vector<double> plus = u, minus = u;
        plus.add(step, v);
        minus.add(-step, v);
        const double difference =
          (likelihood.log_likelihood(plus, 0., unused) - likelihood.log_likelihood(minus, 0., unused)) / (2 * step);
        const double exact = gradient * v;
        worst              = std::max(worst, std::abs(difference - exact) / std::abs(exact));
      }
    return worst;
  }
} // namespace


TEST(Likelihood, DarcyAdjointGradientEqualsCentralDifferencesForBothPermeabilityMaps)
{
  const auto space = test_support::make_space<2>(plate_mesh);
  // A permeability between 4.5 and 10.5 observed at 30 points with 5% noise;
  // the likelihood evaluated at a different field.
  const std::string truth = "7.5 + 3*sin(3*x)*cos(2*y)";
  const std::string field = "7 + 2*cos(2*x + y)";
  {
    auto darcy = make_likelihood("darcy_point_pressure",
                                 "set Number of observations = 30\nset Noise level = 0.05\n", *space);
    darcy->observe(interpolate_expression(*space, truth), 3);
    const double error = gradient_error(*darcy, interpolate_expression(*space, field), 1e-5);
    EXPECT_LT(error, 1e-5) << "permeability map";
    EXPECT_EQ(darcy->n_observations(), 30u);
    EXPECT_EQ(darcy->n_solves(), 1u + 2u + 3u * 2u * 2u);
  }
  {
    auto darcy = make_likelihood("darcy_point_pressure",
                                 "set Number of observations = 30\nset Noise level = 0.05\n"
                                 "set Field = log permeability\n",
                                 *space);
    darcy->observe(interpolate_expression(*space, "log(" + truth + ")"), 3);
    const double error = gradient_error(*darcy, interpolate_expression(*space, "log(" + field + ")"), 1e-6);
    EXPECT_LT(error, 1e-5) << "log-permeability map";
  }
}


// A log-permeability whose exp(u) overflows (u = 800), underflows to 0
// (u = -800) or is NaN in one region has no Darcy pressure in floating
// point: log L is -infinity with a zero gradient and the misfit +infinity,
// so that a sampler's line search can shorten its step; solving for the
// pressure of such a field throws with the range of the permeability and the
// number of NaN values. A
// field with a large but finite contrast (exp(+-100)) still has one.
TEST(Likelihood, DarcyFieldsWithoutAPressureGetAnInfiniteMisfit)
{
  const auto space = test_support::make_space<2>(plate_mesh);
  auto       darcy = make_likelihood("darcy_point_pressure",
                               "set Number of observations = 30\nset Noise level = 0.05\n"
                               "set Field = log permeability\n",
                               *space);
  const Vector<double> truth = interpolate_expression(*space, "log(7.5 + 3*sin(3*x)*cos(2*y))");
  darcy->observe(truth, 3);
  Vector<double> gradient(space->n_dofs());
  EXPECT_TRUE(std::isfinite(darcy->log_likelihood(truth, 0., gradient)));
  for (const std::string &value : {"800", "-800", "0/0"})
    {
      const Vector<double> field = interpolate_expression(*space, "x < 0.5 ? " + value + " : 2");
      gradient                   = 1.;
      EXPECT_EQ(darcy->log_likelihood(field, 0., gradient), -std::numeric_limits<double>::infinity()) << value;
      EXPECT_EQ(gradient.l2_norm(), 0.) << value;
      EXPECT_EQ(darcy->normalized_misfit(field), std::numeric_limits<double>::infinity()) << value;
      std::string message = "no error";
      try
        {
          darcy->observe(field, 3);
        }
      catch (const ExceptionBase &exc)
        {
          message = test_support::one_line(exc.what());
        }
      EXPECT_NE(message.find("no pressure in floating point (the permeability ranges from"), std::string::npos)
        << message;
      // The message names NaN values, which the range cannot show.
      EXPECT_EQ(message.find("is NaN at") != std::string::npos, value == "0/0") << message;
    }
  const Vector<double> contrast = interpolate_expression(*space, "x < 0.5 ? 100 : -100");
  EXPECT_TRUE(std::isfinite(darcy->log_likelihood(contrast, 0., gradient)));
  EXPECT_TRUE(std::isfinite(gradient.l2_norm()));
}


TEST(Likelihood, PointValuesAreExactForLinearFunctionsAndAvoidTheHoles)
{
  const auto               space = test_support::make_space<2>(plate_mesh);
  PointObservationSettings settings;
  settings.n_points = 500;
  const PointObservations<2> observations(*space, settings);
  ASSERT_EQ(observations.size(), 500u);
  const Vector<double>      u = interpolate_expression(*space, "1 + 2*x - y");
  const std::vector<double> y = observations.values(u);
  for (unsigned int j = 0; j < observations.size(); ++j)
    {
      const Point<2> &p = observations.points()[j];
      EXPECT_NEAR(y[j], 1 + 2 * p[0] - p[1], 1e-12);
      // Inside the rectangle [0, 2] x [0, 1], outside the holes (radius 0.2
      // at (0.55, 0.45), 0.15 at (1.4, 0.6)) up to the polygonal circles:
      // with at least 6 edges per hole a point of the mesh lies at most
      // r (1 - cos(pi/6)) = 0.134 r inside the circle.
      const double sagitta = 1 - std::cos(M_PI / 6);
      EXPECT_TRUE(p[0] >= 0 && p[0] <= 2 && p[1] >= 0 && p[1] <= 1);
      EXPECT_GT(p.distance(Point<2>(0.55, 0.45)), 0.2 * (1 - sagitta));
      EXPECT_GT(p.distance(Point<2>(1.4, 0.6)), 0.15 * (1 - sagitta));
    }
  // Uniform in the domain: the fraction left of x = 1 is its area fraction
  // (1 - pi 0.2^2) / (2 - pi (0.2^2 + 0.15^2)), within 4 standard errors.
  const double area_left = (1 - M_PI * 0.04) / (2 - M_PI * (0.04 + 0.0225));
  unsigned int left      = 0;
  for (const Point<2> &p : observations.points())
    left += p[0] < 1;
  EXPECT_NEAR(left / 500., area_left, 4 * std::sqrt(area_left * (1 - area_left) / 500));
}


TEST(Likelihood, TheNoiseOfTheDataHasTheRequestedLevel)
{
  // 2000 points, 10% noise: the normalized misfit of the truth is the rms
  // of 2000 standard normals, 1 within 4 x 1/sqrt(2 x 2000); with the
  // likelihood assuming 20% it is 1/2.
  const auto space      = test_support::make_space<2>(plate_mesh);
  auto       likelihood = make_likelihood("point_values", "set Number of observations = 2000\nset Noise level = 0.1\n", *space);
  const Vector<double> truth = interpolate_expression(*space, "2 + sin(4*x)*y");
  likelihood->observe(truth, 11);
  EXPECT_NEAR(likelihood->normalized_misfit(truth), 1., 4 / std::sqrt(4000.));
  Vector<double> gradient(truth.size());
  // log L is quadratic: central differences are exact up to round-off.
  EXPECT_LT(gradient_error(*likelihood, interpolate_expression(*space, "x*y"), 1e-3), 1e-6);
  auto wider = make_likelihood("point_values",
                               "set Number of observations = 2000\nset Noise level = 0.1\n"
                               "set Likelihood noise level = 0.2\n",
                               *space);
  wider->observe(truth, 11);
  EXPECT_NEAR(wider->normalized_misfit(truth), 0.5, 2 / std::sqrt(4000.));
  // Another seed, other noise; the same seed, the same data.
  auto again = make_likelihood("point_values", "set Number of observations = 2000\nset Noise level = 0.1\n", *space);
  again->observe(truth, 11);
  const Vector<double> x = interpolate_expression(*space, "x");
  EXPECT_EQ(again->normalized_misfit(x), likelihood->normalized_misfit(x));
  again->observe(truth, 12);
  EXPECT_NE(again->normalized_misfit(x), likelihood->normalized_misfit(x));
}


TEST(Likelihood, WrongInputsAreRefusedWithAClearMessage)
{
  const auto space = test_support::make_space<2>(plate_mesh);
  const auto message_of = [&](const std::string &name, const std::string &settings) {
    try
      {
        make_likelihood(name, settings, *space);
      }
    catch (const ExceptionBase &exc)
      {
        return std::string(exc.what());
      }
    return std::string("no error");
  };
  const std::string noiseless = message_of("point_values", "set Noise level = 0\n");
  EXPECT_NE(noiseless.find("need a positive 'Likelihood"), std::string::npos) << noiseless;
  const std::string points_file = "likelihood_tests_points.txt";
  std::ofstream(points_file) << "0.5 0.5\n# a comment\n0.55 0.45\n";
  EXPECT_NE(message_of("point_values", "set Points file = " + points_file + "\n").find("outside the mesh"),
            std::string::npos);
  std::ofstream(points_file) << "0.1\n";
  EXPECT_NE(message_of("point_values", "set Points file = " + points_file + "\n").find("line 1"), std::string::npos);
  EXPECT_NE(message_of("darcy_point_pressure", "set Dirichlet boundary ids = 7\n").find("no DoF lies"),
            std::string::npos);
  std::remove(points_file.c_str());
}


namespace
{
  std::unique_ptr<CovarianceOperator<2>>
  make_matern(const FunctionSpace<2> &space)
  {
    return test_support::make_covariance<2>(space, "matern", "set Correlation length = 0.2\n");
  }
} // namespace


// g^T C g for the point-evaluation row g of x_j is the variance of xi(x_j),
// xi ~ N(0, C): against the sample variance of 4000 samples, whose relative
// standard error is sqrt(2/4000) = 2.2% (4 standard errors: 9%).
TEST(Likelihood, ObservationVarianceIsTheVarianceTheNoiseGivesThePoint)
{
  const auto              space      = test_support::make_space<2>(plate_mesh);
  const auto              covariance = make_matern(*space);
  PointObservationSettings settings;
  settings.n_points = 6;
  const PointObservations<2> points(*space, settings);
  std::vector<VectorType>    xi(4000);
  covariance->sample(xi, 3, 0);
  std::vector<double> second_moment(points.size(), 0.);
  Vector<double>      v(space->n_dofs());
  for (const auto &x : xi)
    {
      for (unsigned int i = 0; i < v.size(); ++i)
        v[i] = x[i];
      const auto y = points.values(v);
      for (unsigned int j = 0; j < y.size(); ++j)
        second_moment[j] += y[j] * y[j] / xi.size();
    }
  std::vector<double> unit(points.size(), 0.);
  for (unsigned int j = 0; j < points.size(); ++j)
    {
      Vector<double> g(space->n_dofs());
      unit[j] = 1.;
      points.add_transpose(unit, g);
      unit[j]             = 0.;
      const double exact  = PointObservations<2>::observation_variance(*space, *covariance, g);
      EXPECT_NEAR(second_moment[j] / exact, 1., 4 * std::sqrt(2. / xi.size())) << "point " << j;
    }
}


// A noisy state u = truth + sigma xi of a linear observation: with the
// widening of the noisy state, -2 log L / n_obs is the mean of the squared
// standardized residuals, 1 in expectation; without the widening it is far
// above 1. 400 states of 20 points: 8000 squares, correlated within a state
// (points closer than the correlation length); the standard error is at
// most sqrt(2/400) = 7% (all correlated), 1.6% if independent: window 0.15.
TEST(Likelihood, WideningCalibratesTheResidualsOfNoisyStates)
{
  const auto space      = test_support::make_space<2>(plate_mesh);
  const auto covariance = make_matern(*space);
  auto likelihood = make_likelihood("point_values", "set Number of observations = 20\nset Noise level = 0.01\n", *space);
  const Vector<double> truth = interpolate_expression(*space, "2 + sin(4*x)*y");
  likelihood->observe(truth, 5);
  Vector<double> reference(space->n_dofs()), gradient(space->n_dofs()), u(space->n_dofs());
  likelihood->set_state_noise(*covariance, reference, 0.);
  const double            sigma = 0.5;
  std::vector<VectorType> xi(400);
  covariance->sample(xi, 9, 0);
  double widened = 0, plain = 0;
  for (const auto &x : xi)
    {
      for (unsigned int i = 0; i < u.size(); ++i)
        u[i] = truth[i] + sigma * x[i];
      widened += -2 * likelihood->log_likelihood(u, sigma, gradient) / 20 / xi.size();
      plain += -2 * likelihood->log_likelihood(u, 0., gradient) / 20 / xi.size();
    }
  EXPECT_NEAR(widened, 1., 0.15);
  EXPECT_GT(plain, 100.);
  // At the denoised estimate of fields of scale s the widening is
  // sigma^2 s^2/(s^2 + sigma^2) v: with s = sigma, half of it.
  likelihood->set_state_noise(*covariance, reference, sigma);
  double half = 0;
  for (const auto &x : xi)
    {
      for (unsigned int i = 0; i < u.size(); ++i)
        u[i] = truth[i] + sigma / std::sqrt(2.) * x[i];
      half += -2 * likelihood->log_likelihood(u, sigma, gradient) / 20 / xi.size();
    }
  EXPECT_NEAR(half, 1., 0.15);
}
