// Samples judged against a reference set with the floor (split halves) and a
// Gaussian baseline: the yardsticks must behave as their definitions say.

#include <ddo/covariance/matern_spde.h>
#include <ddo/metrics/metrics_report.h>

#include <gtest/gtest.h>

#include <iomanip>
#include <sstream>

#include "../test_utilities.h"

#include <cmath>
#include <filesystem>
#include <iostream>
#include <random>

using namespace ddo;

namespace
{
  const std::string square = "set Geometry = box\nsubsection box\nset Subdivisions = 6\nend\n"
                             "set Cell type = simplex\nset Distortion = 0.2\nset Global refinements = 1\n";

  /** n Matern fields (correlation length 0.3), stream seed. */
  std::vector<double>
  matern_samples(const FunctionSpace<2> &space, const unsigned int n, const unsigned int seed)
  {
    MaternSPDE<2>::Parameters p;
    p.correlation_length = 0.3;
    return test_support::matern_sample_rows(space, p, n, seed);
  }

  /** A strongly non-Gaussian transform of Gaussian fields: exp(u/2) (lognormal, skewness ~1.8). */
  std::vector<double>
  lognormal(std::vector<double> values)
  {
    for (double &v : values)
      v = std::exp(0.5 * v);
    return values;
  }
} // namespace


TEST(MetricsReport, FloorCandidatesAndGaussianBaselineOnGaussianData)
{
  // Gaussian data: an independent draw of the same field scores like the
  // floor, and so does the Gaussian baseline (a perfect Gaussian model),
  // within the spread of sampling noise; half B itself scores exactly 0.
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands              = 4;
  const unsigned int  n         = 160;
  const auto          reference = matern_samples(*space, n, 1);
  const std::vector<double> half_b(reference.begin() + n / 2 * space->n_dofs(), reference.end());
  // A model whose fields are 25% too large: the window below must exclude it.
  std::vector<double> too_large = matern_samples(*space, n / 2, 2);
  for (double &v : too_large)
    v *= 1.25;
  const auto report = compare_with_reference(
    *space, basis, settings, 0.1,
    {{"independent", matern_samples(*space, n / 2, 2)}, {"half B", half_b}, {"25% too large", too_large}},
    reference, true, 3);
  ASSERT_EQ(report.rows.size(), 5u);
  const double floor = report.row("floor (test half A)").distance.density_mse;
  ASSERT_GT(floor, 0.);
  for (const auto &name : {"independent", "Gaussian baseline"})
    {
      SCOPED_TRACE(name);
      EXPECT_EQ(report.row(name).n_samples, n / 2);
      EXPECT_LT(report.row(name).distance.density_mse, 5 * floor);
      EXPECT_GT(report.row(name).distance.density_mse, floor / 5);
      EXPECT_LT(report.row(name).distance.variance_error, 0.5);
    }
  EXPECT_EQ(report.row("half B").distance.density_mse, 0.);
  EXPECT_EQ(report.row("half B").distance.spectrum_mse, 0.);
  EXPECT_EQ(report.row("half B").distance.variance_error, 0.);
  // The same draw as "independent", scaled: outside the window on the
  // density and the spectrum, its variance error near 1.25^2 - 1.
  const auto &wrong = report.row("25% too large").distance;
  const auto &right = report.row("independent").distance;
  std::cout << "  density MSE / floor: independent " << right.density_mse / floor << ", 25% too large "
            << wrong.density_mse / floor << "; spectrum MSE: " << right.spectrum_mse << ", "
            << wrong.spectrum_mse << std::endl;
  EXPECT_GT(wrong.density_mse, 5 * floor);
  EXPECT_GT(wrong.spectrum_mse, 5 * right.spectrum_mse);
}


TEST(MetricsReport, GaussianBaselineFailsOnLognormalDataWhileAnIndependentDrawDoesNot)
{
  // exp(u) is far from Gaussian: the Gaussian with its mean and covariance
  // misses the one-point density by far more than the floor, an independent
  // lognormal draw does not. The baseline's variance field is as close as
  // the floor's (it has the covariance of half A).
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands          = 4;
  const unsigned int n      = 160;
  const auto reference      = lognormal(matern_samples(*space, n, 1));
  const auto report = compare_with_reference(*space, basis, settings, 0.1,
                                             {{"independent", lognormal(matern_samples(*space, n / 2, 2))}},
                                             reference, true, 3);
  const double floor       = report.row("floor (test half A)").distance.density_mse;
  const double independent = report.row("independent").distance.density_mse;
  const double gaussian    = report.row("Gaussian baseline").distance.density_mse;
  std::cout << report.table();
  EXPECT_LT(independent, 5 * floor);
  EXPECT_GT(gaussian, 10 * floor);
  EXPECT_GT(gaussian, 10 * independent);
  EXPECT_GT(report.row("independent").statistics.skewness, 1.);
  EXPECT_LT(std::abs(report.row("Gaussian baseline").statistics.skewness),
            0.5 * report.row("independent").statistics.skewness);
  EXPECT_LT(report.row("Gaussian baseline").distance.variance_error,
            2 * report.row("floor (test half A)").distance.variance_error + 0.1);
}


TEST(MetricsReport, WholeSpectrumBandsOfTheFloorAreThoseOfItsHalvesAndTheBaselinesTheExpectationOfItsDraws)
{
  // The report computes every reference function's band energies once and
  // averages them per half; the Gaussian baseline's are the exact
  // expectation of its draws. Checked against the halves' own band
  // energies (to rounding) and against 4000 explicit draws of the baseline's
  // law (within 4 standard errors).
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands = 4;
  typename SpectralBands<2>::Settings band_settings;
  band_settings.n_bands = 5;
  const SpectralBands<2> bands(*space, band_settings);
  const unsigned int     n = 40, half = n / 2;
  const std::size_t      N         = space->n_dofs();
  const auto             reference = matern_samples(*space, n, 5);
  const auto report = compare_with_reference(*space, basis, settings, 0.1, {}, reference, true, 3, 1, &bands);

  const std::vector<double> half_a(reference.begin(), reference.begin() + half * N);
  const auto floor_bands = bands.mean_energies(half_a, half);
  const auto half_b      = bands.mean_energies(std::vector<double>(reference.begin() + half * N, reference.end()), half);
  for (unsigned int b = 0; b < floor_bands.size(); ++b)
    {
      EXPECT_NEAR(report.row("floor (test half A)").statistics.spectrum_band_energy[b], floor_bands[b],
                  1e-12 * floor_bands[b]);
      EXPECT_NEAR(report.reference.spectrum_band_energy[b], half_b[b], 1e-12 * half_b[b]);
    }

  std::vector<double> mean(N, 0.);
  for (unsigned int i = 0; i < half; ++i)
    for (std::size_t d = 0; d < N; ++d)
      mean[d] += half_a[i * N + d] / half;
  const unsigned int               draws = 4000;
  std::vector<double>              v(draws * N);
  std::mt19937_64                  generator(17);
  std::normal_distribution<double> normal;
  for (unsigned int j = 0; j < draws; ++j)
    {
      std::copy(mean.begin(), mean.end(), v.begin() + j * N);
      for (unsigned int i = 0; i < half; ++i)
        {
          const double a = normal(generator) / std::sqrt(half - 1.);
          for (std::size_t d = 0; d < N; ++d)
            v[j * N + d] += a * (half_a[i * N + d] - mean[d]);
        }
    }
  const auto each     = bands.energies_of_each(v, draws);
  const auto baseline = report.row("Gaussian baseline").statistics.spectrum_band_energy;
  ASSERT_EQ(baseline.size(), floor_bands.size());
  for (unsigned int b = 0; b < baseline.size(); ++b)
    {
      double m1 = 0, m2 = 0;
      for (const auto &e : each)
        {
          m1 += e[b] / draws;
          m2 += e[b] * e[b] / draws;
        }
      const double standard_error = std::sqrt((m2 - m1 * m1) / draws);
      EXPECT_NEAR(baseline[b], m1, 4 * standard_error) << "band " << b;
    }
}


TEST(MetricsReport, AnEmptyBandDoesNotTurnRoundOffIntoASpectrumError)
{
  // Zero-mean fields leave the constant band empty; a perturbation at
  // negligible level (1e-10 of the energy) there must not count.
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands   = 6;
  const unsigned int n = 40;
  auto reference       = matern_samples(*space, n, 1);
  // Remove each function's mean (the M-weighted mean = projection on constants).
  const std::size_t n_dofs = space->n_dofs();
  VectorType        one    = space->create_vector();
  one                      = 1.;
  VectorType u             = space->create_vector();
  for (unsigned int i = 0; i < n; ++i)
    {
      std::copy(reference.begin() + i * n_dofs, reference.begin() + (i + 1) * n_dofs, u.begin());
      const double mean = space->l2_inner_product(u, one) / space->volume();
      for (std::size_t k = 0; k < n_dofs; ++k)
        reference[i * n_dofs + k] -= mean;
    }
  std::vector<double> shifted(reference.begin() + n / 2 * n_dofs, reference.end());
  for (double &v : shifted)
    v += 1e-5;
  const auto report = compare_with_reference(*space, basis, settings, 0.1, {{"shifted half B", shifted}}, reference,
                                             false, 1);
  EXPECT_LT(report.row("shifted half B").distance.spectrum_mse, 1e-6);
  EXPECT_EQ(report.rows.size(), 2u);
}


TEST(MetricsReport, WritesDataFilesAndRejectsBadInput)
{
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands = 4;
  const auto values = matern_samples(*space, 8, 1);
  typename SpectralBands<2>::Settings band_settings;
  band_settings.n_bands = 6;
  const SpectralBands<2> bands(*space, band_settings);
  const auto report =
    compare_with_reference(*space, basis, settings, 0.1, {{"same", values}}, values, true, 1, 1, &bands);
  const std::string directory = "metrics_report_test_output";
  std::filesystem::remove_all(directory);
  const auto files = report.write_data_files(directory);
  ASSERT_EQ(files.size(), 5u); // density, spectrum, correlation, gradient density, bands
  EXPECT_NE(report.band_table().find("same / reference"), std::string::npos);
  EXPECT_EQ(report.row("same").distance.band_ratios.size(), 6u);
  for (const auto &file : files)
    EXPECT_GT(std::filesystem::file_size(file), 100u) << file;
  EXPECT_NE(report.table().find("Gaussian baseline"), std::string::npos);
  EXPECT_NE(report.key_values().find("Gaussian_baseline.density_mse"), std::string::npos);
  EXPECT_THROW(report.row("no such row"), std::exception);
  const std::vector<double> three(values.begin(), values.begin() + 3 * space->n_dofs());
  EXPECT_THROW(compare_with_reference(*space, basis, settings, 0.1, {}, three, true, 1), std::exception);
  const std::vector<double> ragged(values.begin(), values.end() - 1);
  EXPECT_THROW(compare_with_reference(*space, basis, settings, 0.1, {{"ragged", ragged}}, values, true, 1),
               std::exception);
  std::filesystem::remove_all(directory);
}


TEST(MetricsReport, SplitsAverageTheDistancesOverRandomHalvesAndSplitZeroIsTheFileOrder)
{
  const auto       space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  SpectralBasis<2> basis(*space, 30);
  MetricSettings   settings;
  settings.n_bands               = 4;
  const unsigned int n           = 120;
  const auto         reference   = matern_samples(*space, n, 1);
  const std::vector<std::pair<std::string, std::vector<double>>> candidates{
    {"independent", matern_samples(*space, n / 2, 2)}};
  const auto single = compare_with_reference(*space, basis, settings, 0.1, candidates, reference, true, 3);
  const unsigned int n_splits = 8;
  typename SpectralBands<2>::Settings band_settings;
  band_settings.n_bands = 4;
  const SpectralBands<2> bands(*space, band_settings);
  const auto             split =
    compare_with_reference(*space, basis, settings, 0.1, candidates, reference, true, 3, n_splits, &bands);
  ASSERT_EQ(split.rows.size(), single.rows.size());
  EXPECT_EQ(split.n_splits, n_splits);
  for (std::size_t r = 0; r < split.rows.size(); ++r)
    {
      SCOPED_TRACE(split.rows[r].name);
      const auto &distances = split.rows[r].split_distances;
      ASSERT_EQ(distances.size(), n_splits);
      // Split 0 is the report without splits, exactly.
      EXPECT_EQ(distances[0].density_mse, single.rows[r].distance.density_mse);
      EXPECT_EQ(distances[0].spectrum_mse, single.rows[r].distance.spectrum_mse);
      EXPECT_EQ(split.rows[r].statistics.excess_kurtosis, single.rows[r].statistics.excess_kurtosis);
      // The reported distance is the mean over the splits, which differ.
      double mean = 0, low = distances[0].density_mse, high = low;
      for (const auto &d : distances)
        {
          mean += d.density_mse / n_splits;
          low  = std::min(low, d.density_mse);
          high = std::max(high, d.density_mse);
        }
      EXPECT_NEAR(split.rows[r].distance.density_mse, mean, 1e-12 * mean);
      EXPECT_LT(low, high) << "the splits must really permute the reference";
    }
  // On Gaussian data the independent draw and the baseline score like the
  // floor within the spread of sampling noise (as in the first test; the
  // candidate's own draw of 60 fields is fixed, so its deviation does not
  // average out over the splits).
  const double floor = split.row("floor (test half A)").distance.density_mse;
  for (const auto &name : {"independent", "Gaussian baseline"})
    {
      EXPECT_LT(split.row(name).distance.density_mse, 5 * floor) << name;
      EXPECT_GT(split.row(name).distance.density_mse, floor / 5) << name;
    }
  const std::string table = split.table();
  EXPECT_NE(table.find("over 8 A/B splits"), std::string::npos) << table;
  EXPECT_NE(table.find("–"), std::string::npos) << table;
  const std::string key_values = split.key_values();
  EXPECT_NE(key_values.find("n_splits = 8"), std::string::npos);
  // The per-split range of every band ratio, for scripts that judge a set
  // against the floor's spread.
  ASSERT_FALSE(split.band_edges.empty());
  const auto &floor_row = split.row("floor (test half A)");
  double      low = 1e300, high = 0;
  for (const auto &d : floor_row.split_distances)
    {
      low  = std::min(low, d.band_ratios[0]);
      high = std::max(high, d.band_ratios[0]);
    }
  std::ostringstream expected;
  expected << std::setprecision(6) << "floor__test_half_A_.band_ratio_low_0 = " << low
           << "\nfloor__test_half_A_.band_ratio_high_0 = " << high << '\n';
  EXPECT_NE(key_values.find(expected.str()), std::string::npos) << key_values;
  EXPECT_LT(low, high);

  EXPECT_THROW(compare_with_reference(*space, basis, settings, 0.1, candidates, reference, true, 3, 0),
               std::exception);
}
