// Spectral (Karhunen-Loeve) Matern covariance against the SPDE one, its
// statistics, and the L2 white-noise covariance.

#include <ddo/covariance/l2_white_noise_covariance.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/spectral_covariance.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::string small_square = "set Geometry = box\nsubsection box\nset Subdivisions = 6\nend\n"
                                   "set Cell type = simplex\nset Distortion = 0.2\n";
} // namespace


TEST(SpectralMaternCovariance, AllModesReproduceTheSpdeCovariance)
{
  const auto space  = test_support::make_space<2>(small_square + "set Global refinements = 1\n");
  const auto n_free = n_free_dofs(*space);

  typename MaternSPDE<2>::Parameters p;
  p.marginal_variance  = 2.;
  p.correlation_length = 0.3;
  p.smoothness         = 1.; // alpha = 2
  MaternSPDE<2> spde(p);
  spde.initialize(*space);

  SpectralMaternCovariance<2> spectral;
  spectral.set_parameters(MaternScales::from_user_parameters(2, 2., 0.3, 1.), n_free - 1);
  spectral.initialize(*space);

  // With every mode but the last, pointwise variances agree up to the last
  // mode's share, which is tiny.
  const VectorType v_spde = spde.pointwise_variance();
  const VectorType v_kl   = spectral.pointwise_variance();
  VectorType       difference = v_spde;
  difference -= v_kl;
  EXPECT_LT(difference.linfty_norm(), 1e-3 * v_spde.linfty_norm());
  // The truncation is one-sided: the KL field never has more variance.
  for (unsigned int i = 0; i < difference.size(); ++i)
    EXPECT_GT(difference[i], -1e-10);

  // apply() is the same operator on a smooth function.
  const VectorType u = space->interpolate(ScalarFunctionFromFunctionObject<2>(
    [](const Point<2> &x) { return std::sin(3 * x[0]) + x[1]; }));
  VectorType a = space->create_vector(), b = space->create_vector();
  spde.apply(u, a);
  spectral.apply(u, b);
  b -= a;
  EXPECT_LT(b.l2_norm(), 1e-3 * a.l2_norm());
}


TEST(SpectralMaternCovariance, TruncationIsReportedAndShrinksWithMoreModes)
{
  const auto space = test_support::make_space<2>(small_square + "set Global refinements = 2\n");
  double     previous = 0;
  for (const unsigned int k : {10u, 40u, 160u})
    {
      SpectralMaternCovariance<2> spectral;
      spectral.set_parameters(MaternScales::from_user_parameters(2, 1., 0.2, 1.), k);
      spectral.initialize(*space);
      const double fraction = spectral.captured_variance_fraction();
      EXPECT_GT(fraction, previous) << k;
      // The integral of the pointwise variance is the captured total,
      // sum_k c_k ||phi_k||^2 = sum_k c_k, up to the error of integrating the
      // nodal values of phi_k^2 with the quadrature weights w.
      double sum = 0;
      for (const double c : spectral.mode_variances())
        sum += c;
      EXPECT_NEAR(space->integral(spectral.pointwise_variance()), sum, 0.03 * sum);
      previous = fraction;
    }
  EXPECT_GT(previous, 0.8);
  EXPECT_LT(previous, 1.3);
}


TEST(SpectralMaternCovariance, SampleStatisticsAndCameronMartin)
{
  const auto space = test_support::make_space<2>(small_square + "set Global refinements = 1\n");
  SpectralMaternCovariance<2> spectral;
  const unsigned int          K = 20;
  spectral.set_parameters(MaternScales::from_user_parameters(2, 1., 0.3, 1.5), K);
  spectral.initialize(*space);

  // Mode coefficients of samples: mean 0, variance c_k; CM norm ~ chi^2_K.
  const unsigned int      n_samples = 4000;
  std::vector<VectorType> samples(n_samples, space->create_vector());
  spectral.sample(samples, 7, 0);
  std::vector<double> second_moment(K, 0.);
  double              cm_mean = 0, cm_square = 0;
  for (const auto &s : samples)
    {
      const Vector<double> c = spectral.get_basis().project(s);
      for (unsigned int k = 0; k < K; ++k)
        second_moment[k] += c[k] * c[k] / n_samples;
      const double cm = spectral.cameron_martin_norm_squared(s);
      cm_mean += cm / n_samples;
      cm_square += cm * cm / n_samples;
    }
  // Var(c_k^2) = 2 c_k^2: standard error sqrt(2/n) c_k; 4 standard errors.
  for (unsigned int k = 0; k < K; ++k)
    EXPECT_NEAR(second_moment[k] / spectral.mode_variances()[k], 1., 4. * std::sqrt(2. / n_samples)) << k;
  const double cm_std_error = std::sqrt((cm_square - cm_mean * cm_mean) / n_samples);
  EXPECT_NEAR(cm_mean, K, 3. * cm_std_error);

  // Reproducible: the same seed and index give the same sample, in any batch.
  VectorType again = space->create_vector();
  spectral.sample(again, 7, 123);
  again -= samples[123];
  EXPECT_EQ(again.linfty_norm(), 0.);

  // apply(apply_inverse(v)) projects onto the span of the modes: identity there.
  VectorType back = space->create_vector(), inverse = space->create_vector();
  spectral.apply_inverse(samples[0], inverse);
  spectral.apply(inverse, back);
  back -= samples[0];
  EXPECT_LT(back.l2_norm(), 1e-10 * samples[0].l2_norm());
}


TEST(SpectralMaternCovariance, InvalidParametersAreErrors)
{
  EXPECT_THROW(MaternScales::from_user_parameters(2, 1., 0.1, 0.), ExcMessage);
  EXPECT_THROW(MaternScales::from_user_parameters(2, 1., -0.1, 1.), ExcMessage);
  EXPECT_THROW(MaternScales::from_user_parameters(3, 0., 0.1, 1.), ExcMessage);
  const auto space = test_support::make_space<2>(small_square);
  SpectralMaternCovariance<2> spectral;
  spectral.set_parameters(MaternScales::from_user_parameters(2, 1., 0.1, 1.), 1000);
  EXPECT_THROW(spectral.initialize(*space), ExcMessage);
}


TEST(L2WhiteNoiseCovariance, CovarianceIsInverseMassAndNormGrowsWithRefinement)
{
  const auto space = test_support::make_space<2>(small_square);
  L2WhiteNoiseCovariance<2> white;
  white.initialize(*space);

  // E[(xi, f)^2] = ||f||^2 for FE functions f: with f = u (a fixed function)
  const VectorType f = space->interpolate(ScalarFunctionFromFunctionObject<2>(
    [](const Point<2> &x) { return 1. + x[0] * x[1]; }));
  const double     f_norm2 = space->l2_inner_product(f, f);
  const unsigned   n       = 20000;
  std::vector<VectorType> samples(n, space->create_vector());
  white.sample(samples, 3, 0);
  double mean = 0, second = 0, norm2 = 0;
  for (const auto &s : samples)
    {
      const double projection = space->l2_inner_product(s, f);
      mean += projection / n;
      second += projection * projection / n;
      norm2 += space->l2_inner_product(s, s) / n;
    }
  // (xi, f) ~ N(0, ||f||^2): the mean within 4 standard errors, the second
  // moment within 4 sqrt(2/n) relative.
  EXPECT_NEAR(mean, 0., 4. * std::sqrt(f_norm2 / n));
  EXPECT_NEAR(second / f_norm2, 1., 4. * std::sqrt(2. / n));
  // E||xi||^2 = trace(M M^{-1}) = N, the number of DoFs (not trace class);
  // ||xi||^2 is a chi-square with N degrees of freedom, variance 2N: the
  // mean of n within 4 standard errors, 4 sqrt(2/(N n)) relative.
  const double n_dofs = space->n_dofs();
  EXPECT_NEAR(norm2 / n_dofs, 1., 4. * std::sqrt(2. / (n_dofs * n)));

  // apply o apply_inverse = identity on FE functions; pointwise variance is diag(M^{-1}).
  VectorType a = space->create_vector(), b = space->create_vector();
  white.apply_inverse(f, a);
  white.apply(a, b);
  b -= f;
  EXPECT_LT(b.l2_norm(), 1e-9 * f.l2_norm());
  EXPECT_NEAR(white.cameron_martin_norm_squared(f), f_norm2, 1e-12 * f_norm2);
}
