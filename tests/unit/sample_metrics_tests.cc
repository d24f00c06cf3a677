// Statistics of sets of FE functions and the distances between sets.

#include <ddo/covariance/matern_spde.h>
#include <ddo/metrics/sample_metrics.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

#include <cmath>

using namespace ddo;

namespace
{
  const std::string square = "set Geometry = box\nsubsection box\nset Subdivisions = 8\nend\n"
                             "set Cell type = simplex\nset Distortion = 0.2\nset Global refinements = 1\n";

  std::vector<double>
  matern_samples(const FunctionSpace<2> &space, const unsigned int n, const unsigned int seed,
                 const double variance = 1.)
  {
    MaternSPDE<2>::Parameters p;
    p.correlation_length = 0.2;
    p.marginal_variance  = variance;
    p.boundary_condition = MaternSPDE<2>::BoundaryCondition::robin;
    return test_support::matern_sample_rows(space, p, n, seed);
  }
} // namespace


TEST(SampleMetrics, IdenticalSetsAreAtDistanceZeroAndTheDensityIsNormalized)
{
  const auto           space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2>     basis(*space, 40);
  const auto           values = matern_samples(*space, 50, 1);
  MetricSettings       settings;
  settings.fit_density_grid(values);
  SampleMetrics<2>     metrics(*space, basis, settings);
  const auto           a = metrics.compute(values, 50);
  const auto           c = metrics.compare(a, a);
  EXPECT_EQ(c.density_mse, 0.);
  EXPECT_EQ(c.spectrum_mse, 0.);
  EXPECT_EQ(c.mean_error, 0.);
  EXPECT_EQ(c.variance_error, 0.);
  EXPECT_EQ(c.correlation_error, 0.);
  // The kernel density integrates to one (the grid covers all values).
  const auto grid = metrics.density_grid();
  double     integral = 0;
  for (unsigned int g = 0; g + 1 < grid.size(); ++g)
    integral += 0.5 * (a.density[g] + a.density[g + 1]) * (grid[g + 1] - grid[g]);
  EXPECT_NEAR(integral, 1., 2e-3);
}


TEST(SampleMetrics, SpectrumPutsAnEigenfunctionInItsBand)
{
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 40);
  MetricSettings   settings;
  settings.n_bands = 4;
  SampleMetrics<2> metrics(*space, basis, settings);
  const unsigned int k = 25;
  std::vector<double> values(basis.eigenvectors()[k].begin(), basis.eigenvectors()[k].end());
  const auto          statistics = metrics.compute(values, 1);
  double              total      = 0;
  for (unsigned int b = 0; b < 4; ++b)
    {
      const bool inside = basis.eigenvalues()[k] >= statistics.band_limits[b].first &&
                          basis.eigenvalues()[k] <= statistics.band_limits[b].second;
      EXPECT_NEAR(statistics.band_energy[b], inside ? 1. : 0., 1e-10) << "band " << b;
      total += statistics.band_energy[b];
    }
  EXPECT_NEAR(total, 1., 1e-10);
}


TEST(SampleMetrics, MomentsAndCorrelationsOfKnownFields)
{
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 20);
  const unsigned int n = 400;
  const auto       gaussian = matern_samples(*space, n, 3);
  MetricSettings   settings;
  settings.fit_density_grid(gaussian);
  SampleMetrics<2> metrics(*space, basis, settings);

  // Gaussian fields: skewness and excess kurtosis near zero. Their spread
  // over n samples with ~(1/0.2)^2 independent regions each is small.
  const auto g = metrics.compute(gaussian, n);
  EXPECT_LT(std::abs(g.skewness), 0.1);
  EXPECT_LT(std::abs(g.excess_kurtosis), 0.2);
  // exp of a Gaussian field: lognormal, skewness (e+2)sqrt(e-1) ~ 6.2 for
  // unit variance; clearly positive whatever the spread.
  std::vector<double> lognormal(gaussian);
  for (auto &v : lognormal)
    v = std::exp(v);
  EXPECT_GT(metrics.compute(lognormal, n).skewness, 2.);

  // Random constants: correlation one at every distance.
  std::vector<double> constants(n * space->n_dofs());
  for (unsigned int s = 0; s < n; ++s)
    std::fill(constants.begin() + s * space->n_dofs(), constants.begin() + (s + 1) * space->n_dofs(),
              std::sin(1. + s));
  for (const double r : metrics.compute(constants, n).correlation)
    EXPECT_NEAR(r, 1., 1e-10);

  // Matérn correlation decays with distance.
  for (unsigned int d = 0; d + 1 < g.correlation.size(); ++d)
    EXPECT_GT(g.correlation[d], g.correlation[d + 1]);

  // Two independent sets of the same field are closer to each other than to
  // a field of twice the variance.
  const auto other   = metrics.compute(matern_samples(*space, n, 4), n);
  const auto doubled = metrics.compute(matern_samples(*space, n, 5, 2.), n);
  const auto floor   = metrics.compare(other, g);
  const auto far     = metrics.compare(doubled, g);
  EXPECT_LT(5 * floor.density_mse, far.density_mse);
  EXPECT_LT(5 * floor.spectrum_mse, far.spectrum_mse);
  EXPECT_LT(floor.variance_error, 0.5 * far.variance_error);
}


TEST(SampleMetrics, MeanAndVarianceFieldsOfKnownSets)
{
  // u_s = c + x + a t_s y with t_s = -2, -1, 0, 1, 2: at every node the mean
  // is c + x and the variance (over the set, divided by n) is 2 a^2 y^2.
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 10);
  const auto &     points = space->locally_owned_support_points();
  const std::size_t n_dofs = space->n_dofs();
  auto make_set = [&](const double c, const double a) {
    std::vector<double> values(5 * n_dofs);
    for (unsigned int s = 0; s < 5; ++s)
      for (std::size_t i = 0; i < n_dofs; ++i)
        values[s * n_dofs + i] = c + points[i][0] + a * (double(s) - 2.) * points[i][1];
    return values;
  };
  const auto       set_a = make_set(1., 1.);
  MetricSettings   settings;
  settings.fit_density_grid(set_a);
  SampleMetrics<2> metrics(*space, basis, settings);
  const auto       a = metrics.compute(set_a, 5);
  for (std::size_t i = 0; i < n_dofs; ++i)
    {
      EXPECT_NEAR(a.mean[i], 1. + points[i][0], 1e-12) << "node " << i;
      EXPECT_NEAR(a.variance[i], 2. * points[i][1] * points[i][1], 1e-12) << "node " << i;
    }
  // Against u_s = x + 2 t_s y: the means differ by the constant 1, so the
  // mean error is 1; the variances are 2y^2 and 8y^2, a relative
  // difference of 6/8 in any norm.
  const auto b = metrics.compute(make_set(0., 2.), 5);
  const auto c = metrics.compare(a, b);
  EXPECT_NEAR(c.mean_error, 1., 1e-12);
  EXPECT_NEAR(c.variance_error, 0.75, 1e-12);
}


TEST(SampleMetrics, GradientDensityOfLinearFieldsIsAtTheirSlopes)
{
  // u = x and u = 2y are exact in P1 on any mesh: |grad u| is 1 on every
  // point of the first and 2 on every point of the second, so the density
  // of |grad u| has half its mass near 1 and half near 2.
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 10);
  const auto &     points = space->locally_owned_support_points();
  std::vector<double> values;
  for (const auto &p : points)
    values.push_back(p[0]);
  for (const auto &p : points)
    values.push_back(2 * p[1]);
  MetricSettings settings;
  settings.fit_density_grid(values);
  SampleMetrics<2> metrics(*space, basis, settings);
  metrics.fit_gradient_grid(values, 2, 0.05);
  const auto statistics = metrics.compute(values, 2);
  const auto grid       = metrics.gradient_grid();
  double     below = 0, above = 0;
  for (unsigned int g = 0; g + 1 < grid.size(); ++g)
    {
      const double mass = 0.5 * (statistics.gradient_density[g] + statistics.gradient_density[g + 1]) *
                          (grid[g + 1] - grid[g]);
      (grid[g] < 1.5 ? below : above) += mass;
      if (std::abs(grid[g] - 1) > 0.3 && std::abs(grid[g] - 2) > 0.3)
        {
          EXPECT_LT(statistics.gradient_density[g], 1e-6) << "at " << grid[g];
        }
    }
  EXPECT_NEAR(below, 0.5, 1e-3);
  EXPECT_NEAR(above, 0.5, 1e-3);
  EXPECT_EQ(metrics.compare(statistics, statistics).gradient_density_mse, 0.);
}
