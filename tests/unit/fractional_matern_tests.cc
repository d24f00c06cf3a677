// Matern fields of any smoothness: the rational approximation of fractional
// powers (relative error on the whole interval, shift counts), and the SPDE
// covariance with fractional order against the exact spectral covariance
// tau^-2 sum_k (kappa^2 + lambda_k)^-alpha phi_k phi_k^T from a dense
// generalized eigendecomposition on the same mesh, in 2D and 3D, for
// nu = 0.5, 1, 1.7, 2.5 (the integer orders among them take the exact path
// and must agree with the same reference).

#include <deal.II/lac/lapack_full_matrix.h>

#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/spectral_covariance.h>
#include <ddo/lac/fractional_power.h>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../covariance_test_utilities.h"
#include "../test_utilities.h"

using namespace ddo;
using namespace ddo::test_support;

namespace
{
  const std::string box_hanging =
    "set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0.5, 0.5, 0.5\n"
    "set Local refinement radius = 0.4\n";
  const std::string simplex_distorted =
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n"
    "set Cell type = simplex\nset Distortion = 0.25\n";
  const std::string box_3d =
    "set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n";
  const std::string simplex_3d =
    "set Geometry = box\nsubsection box\nset Subdivisions = 1\nend\n"
    "set Cell type = simplex\nset Global refinements = 1\n";


  /**
   * The exact covariance P C~ P^T of the discrete Matern field of order
   * alpha: C~ = tau^-2 Z diag(lambda^-alpha) Z^T on the free DoFs, with
   * A z = lambda M z, z^T M z = 1, from the model's condensed A and M
   * (alpha: the model's unless given).
   */
  template <int dim>
  FullMatrix<double>
  spectral_reference(const FunctionSpace<dim> &space,
                     const MaternSPDE<dim> &   model,
                     const double              alpha = 0)
  {
    const double order = alpha > 0 ? alpha : model.alpha();
    const unsigned int        n    = space.n_dofs();
    const std::vector<bool>   free = free_dofs(space);
    std::vector<unsigned int> index;
    for (unsigned int i = 0; i < n; ++i)
      if (free[i])
        index.push_back(i);
    const unsigned int       n_free = index.size();
    const FullMatrix<double> a      = to_dense(model.system_matrix());
    const FullMatrix<double> m      = to_dense(model.condensed_mass_matrix());
    LAPACKFullMatrix<double> a_free(n_free, n_free), m_free(n_free, n_free);
    for (unsigned int i = 0; i < n_free; ++i)
      for (unsigned int j = 0; j < n_free; ++j)
        {
          a_free(i, j) = a(index[i], index[j]);
          m_free(i, j) = m(index[i], index[j]);
        }
    std::vector<Vector<double>> z(n_free, Vector<double>(n_free));
    a_free.compute_generalized_eigenvalues_symmetric(m_free, z);

    FullMatrix<double> reduced(n, n);
    const double       tau2 = model.tau() * model.tau();
    for (unsigned int k = 0; k < n_free; ++k)
      {
        const double lambda = a_free.eigenvalue(k).real();
        EXPECT_GE(lambda, model.kappa() * model.kappa() * (1 - 1e-10));
        const double c = std::pow(lambda, -order) / tau2;
        for (unsigned int i = 0; i < n_free; ++i)
          for (unsigned int j = 0; j < n_free; ++j)
            reduced(index[i], index[j]) += c * z[k][i] * z[k][j];
      }
    const FullMatrix<double> p = extension_matrix(space);
    FullMatrix<double>       tmp(n, n), exact(n, n);
    p.mmult(tmp, reduced);
    tmp.mTmult(exact, p);
    return exact;
  }


  /**
   * apply(), pointwise_variance(), the empirical covariance of samples and
   * apply_inverse() of a Matern model against spectral_reference().
   */
  template <int dim>
  void
  check_against_spectral_reference(const std::string &                         mesh,
                                   const unsigned int                          degree,
                                   const typename MaternSPDE<dim>::Parameters &parameters)
  {
    SCOPED_TRACE(std::to_string(dim) + "D nu = " + std::to_string(parameters.smoothness) +
                 ", " + mesh);
    const auto         space = make_space<dim>(mesh, degree);
    const unsigned int n     = space->n_dofs();
    ASSERT_LE(n, 100u) << "keep the test mesh tiny";
    MaternSPDE<dim> model(parameters);
    model.initialize(*space);
    const double tolerance = parameters.fractional_tolerance;
    if (model.has_fractional_order())
      {
        ASSERT_NE(model.fractional_quadrature(), nullptr);
        EXPECT_GT(model.fractional_quadrature()->shifts().size(), 5u);
      }

    const FullMatrix<double> exact = spectral_reference(*space, model);
    const std::vector<bool>  free  = free_dofs(*space);
    const double             scale = exact.linfty_norm();

    // apply() = P C~ R: the free columns of the exact covariance within
    // the approximation's accuracy, zero columns for constrained DoFs.
    const FullMatrix<double> applied = dense_apply(*space, model);
    double                   error   = 0;
    for (unsigned int i = 0; i < n; ++i)
      for (unsigned int j = 0; j < n; ++j)
        error = std::max(error, std::abs(applied(i, j) - (free[j] ? exact(i, j) : 0.)));
    EXPECT_LT(error, 3 * tolerance * scale);
    // Not trivially: the reference of an order 1% off is far outside.
    const FullMatrix<double> other = spectral_reference(*space, model, 1.01 * model.alpha());
    double                   change = 0;
    for (unsigned int i = 0; i < n; ++i)
      for (unsigned int j = 0; j < n; ++j)
        change = std::max(change, std::abs(other(i, j) - exact(i, j)));
    EXPECT_GT(change, 30 * tolerance * scale);
    const VectorType variance = model.pointwise_variance();
    for (unsigned int i = 0; i < n; ++i)
      EXPECT_NEAR(variance[i], exact(i, i), 3 * tolerance * scale) << i;

    // The empirical covariance of 20000 samples.
    const std::vector<VectorType> batch =
      expect_sample_moments(model, exact, free, 7, "the spectral one");

    // apply_inverse() inverts apply() to the approximation's accuracy.
    VectorType inverse, round_trip;
    model.apply(batch[1], inverse);
    model.apply_inverse(inverse, round_trip);
    round_trip -= batch[1];
    EXPECT_LT(round_trip.linfty_norm(), 20 * tolerance * batch[1].linfty_norm());
  }
} // namespace


TEST(FractionalPowerQuadrature, RelativeErrorIsBelowTheToleranceOnTheWholeInterval)
{
  // Checked at random points, not the construction's grid, for one
  // quadrature serving five exponents; and the shift counts of one exponent
  // at a time (the table in fractional_power.h, printed here).
  std::mt19937                           generator(5);
  std::uniform_real_distribution<double> uniform(0., 1.);
  const std::vector<double>              exponents{0.1, 0.3, 0.5, 0.7, 0.9};
  for (const double tolerance : {1e-4, 1e-6, 1e-8})
    for (const double ratio : {1e2, 1e4, 1e6})
      {
        FractionalPowerQuadrature quadrature(exponents, ratio, tolerance);
        unsigned int              worst_count = 0;
        for (const double s : exponents)
          {
            double worst = 0;
            for (unsigned int p = 0; p < 2000; ++p)
              {
                const double x = std::pow(ratio, uniform(generator));
                worst = std::max(worst, std::abs(quadrature.evaluate(s, x) * std::pow(x, s) - 1));
              }
            EXPECT_LT(worst, tolerance) << "s = " << s << ", Lambda = " << ratio;
            EXPECT_LE(quadrature.max_relative_error(s), tolerance);
            const FractionalPowerQuadrature single({s}, ratio, tolerance);
            EXPECT_LE(single.max_relative_error(s), tolerance);
            worst_count = std::max<unsigned int>(worst_count, single.shifts().size());
          }
        std::cout << "tolerance " << tolerance << ", Lambda " << ratio << ": " << worst_count
                  << " shifts for one exponent, " << quadrature.shifts().size()
                  << " for all five (h = " << quadrature.step() << ")\n";
        // About 5 shifts per decade of tolerance plus 2 per decade of Lambda.
        EXPECT_LE(worst_count, 12 + 5 * std::log10(1e-4 / tolerance) + 2 * std::log10(ratio));
      }
}


TEST(FractionalPowerQuadrature, ExponentsNearZeroAndOneAreAccurate)
{
  // Orders a hair away from an integer: the tails and sin(pi s) lose no
  // digits.
  for (const double s : {1e-7, 1 - 1e-7})
    {
      FractionalPowerQuadrature quadrature({s}, 1e4, 1e-9);
      EXPECT_LE(quadrature.max_relative_error(s), 1e-9) << s;
    }
}


TEST(FractionalPowerQuadrature, ExactAtIntegerLimitsAndInvalidInputIsAnError)
{
  // Outside [1, Lambda] the relative error is not controlled, inside it is:
  // the approximation of x^-1/2 at x = Lambda is good, at 100 Lambda not.
  FractionalPowerQuadrature quadrature({0.5}, 100., 1e-6);
  EXPECT_NEAR(quadrature.evaluate(0.5, 100.) * 10., 1., 1e-6);
  EXPECT_GT(std::abs(quadrature.evaluate(0.5, 1e6) * 1e3 - 1.), 1e-3);
  EXPECT_THROW(FractionalPowerQuadrature({0.}, 10., 1e-6), ExceptionBase);
  EXPECT_THROW(FractionalPowerQuadrature({1.}, 10., 1e-6), ExceptionBase);
  EXPECT_THROW(FractionalPowerQuadrature({0.5}, 0.5, 1e-6), ExceptionBase);
  EXPECT_THROW(FractionalPowerQuadrature({0.5}, 10., 0.), ExceptionBase);
  EXPECT_THROW(FractionalPowerQuadrature({}, 10., 1e-6), ExceptionBase);
}


TEST(FractionalMatern, MatchesTheSpectralCovarianceIn2D)
{
  for (const double nu : {0.5, 1., 1.7, 2.5})
    {
      typename MaternSPDE<2>::Parameters p;
      p.smoothness         = nu;
      p.correlation_length = 0.4;
      p.marginal_variance  = 1.5;
      check_against_spectral_reference<2>(box_hanging, 1, p);
    }
}


TEST(FractionalMatern, MatchesTheSpectralCovarianceOnDistortedTrianglesWithRobin)
{
  typename MaternSPDE<2>::Parameters p;
  p.smoothness           = 1.7;
  p.correlation_length   = 0.3;
  p.boundary_condition   = MaternSPDE<2>::BoundaryCondition::robin;
  p.fractional_tolerance = 1e-7;
  check_against_spectral_reference<2>(simplex_distorted, 1, p);
}


TEST(FractionalMatern, MatchesTheSpectralCovarianceIn3D)
{
  for (const double nu : {0.5, 1., 1.7, 2.5})
    {
      typename MaternSPDE<3>::Parameters p;
      p.smoothness         = nu;
      p.correlation_length = 0.5;
      check_against_spectral_reference<3>(box_3d, 1, p);
    }
  typename MaternSPDE<3>::Parameters p;
  p.smoothness = 1.;
  check_against_spectral_reference<3>(simplex_3d, 1, p);
}


TEST(FractionalMatern, AmgAndDirectSolversGiveTheSameSamples)
{
  const auto space = make_space<2>(simplex_distorted + "set Global refinements = 2\n", 1);
  typename MaternSPDE<2>::Parameters p;
  p.smoothness       = 0.5;
  p.solver_tolerance = 1e-10;
  p.solver           = MaternSPDE<2>::SolverType::direct;
  MaternSPDE<2> direct(p);
  p.solver = MaternSPDE<2>::SolverType::amg;
  MaternSPDE<2> amg(p);
  direct.initialize(*space);
  amg.initialize(*space);
  std::vector<VectorType> a(3), b(3);
  direct.sample(a, 11, 0);
  amg.sample(b, 11, 0);
  for (unsigned int s = 0; s < a.size(); ++s)
    {
      b[s] -= a[s];
      // The single precision factor (1e-6) dominates.
      EXPECT_LT(b[s].linfty_norm(), 1e-5 * a[s].linfty_norm());
    }
}


TEST(FractionalMatern, AgreesWithTheSpectralModelOfTheLibrary)
{
  // "matern" (SPDE, rational approximation) against "matern_spectral" with
  // every mode but one: variances agree up to the last mode's share.
  const auto space  = make_space<2>(simplex_distorted + "set Global refinements = 1\n", 1);
  const auto n_free = n_free_dofs(*space);
  for (const double nu : {0.5, 1.7, 2.5})
    {
      SCOPED_TRACE("nu = " + std::to_string(nu));
      typename MaternSPDE<2>::Parameters p;
      p.smoothness         = nu;
      p.correlation_length = 0.3;
      MaternSPDE<2> spde(p);
      spde.initialize(*space);
      SpectralMaternCovariance<2> spectral;
      spectral.set_parameters(MaternScales::from_user_parameters(2, 1., 0.3, nu), n_free - 1);
      spectral.initialize(*space);
      VectorType difference = spde.pointwise_variance();
      const double scale    = difference.linfty_norm();
      difference -= spectral.pointwise_variance();
      EXPECT_LT(difference.linfty_norm(), 2e-2 * scale);
      for (unsigned int i = 0; i < difference.size(); ++i)
        EXPECT_GT(difference[i], -1e-4 * scale); // truncation is one-sided
    }
}
