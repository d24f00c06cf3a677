// FFM's spectrum and density metrics (ddo::FourierMetrics): exact values on a
// mesh whose vertices are the grid points, and the definition of the density
// MSE on a small case computed independently.

#include <deal.II/base/function.h>

#include <ddo/metrics/fourier_metrics.h>

#include <gtest/gtest.h>

#include <cmath>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  /** cos(2 pi (a x + b y)) interpolated on @p space, as coefficients. */
  std::vector<double>
  plane_wave(const FunctionSpace<2> &space, const int a, const int b, const double amplitude)
  {
    const ScalarFunctionFromFunctionObject<2> wave(
      [=](const Point<2> &p) { return amplitude * std::cos(2. * M_PI * (a * p[0] + b * p[1])); });
    const VectorType v = space.interpolate(wave);
    return std::vector<double>(v.begin(), v.end());
  }
} // namespace


TEST(FourierMetrics, SpectrumOfPlaneWavesIsExactOnTheGrid)
{
  // A 64 x 64 Q1 mesh of the unit square: the grid points are its vertices,
  // so the grid values are the nodal values and the DFT is exact.
  const auto space = test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 16\nend\n"
                                                 "set Global refinements = 2\n");
  const FourierMetrics<2> ffm(*space, 64);
  std::vector<double>     fields = plane_wave(*space, 2, 3, 1.);
  const auto              second = plane_wave(*space, 1, 0, 3.);
  fields.insert(fields.end(), second.begin(), second.end());
  const std::vector<double> spectrum = ffm.spectrum(ffm.grid_values(fields, 2));
  ASSERT_EQ(spectrum.size(), 32u);
  // |u_hat| = amplitude s^2 / 2 at the wave's (k_x, k_y) of the first quadrant,
  // on the shell m = k_x + k_y; the mean over the two fields.
  const double half_s2 = 64. * 64. / 2.;
  for (unsigned int m = 1; m <= 32; ++m)
    {
      const double expected = m == 5 ? half_s2 / 2. : m == 1 ? 3. * half_s2 / 2. : 0.;
      EXPECT_NEAR(spectrum[m - 1], expected, 1e-8 * half_s2) << "shell " << m;
    }
  EXPECT_DOUBLE_EQ(FourierMetrics<2>::spectra_mse(spectrum, spectrum), 0.);
  std::vector<double> shifted = spectrum;
  shifted[4] += 32.;
  EXPECT_DOUBLE_EQ(FourierMetrics<2>::spectra_mse(shifted, spectrum), 32. * 32. / 32.);
}


TEST(FourierMetrics, DensityMseFollowsTheDefinition)
{
  const std::vector<double> a = {0., 2.}, b = {0., 1., 1.5};
  EXPECT_DOUBLE_EQ(FourierMetrics<2>::density_mse(a, a), 0.);
  // Independently: grid on [min - 1.5|min|, max + 1.5|max|] = [0, 5] with 200
  // points; Gaussian KDEs with bandwidth 0.5 x sample standard deviation.
  const auto kde = [](const std::vector<double> &v, const double x) {
    double mean = 0, var = 0;
    for (const double y : v)
      mean += y / v.size();
    for (const double y : v)
      var += (y - mean) * (y - mean) / (v.size() - 1);
    const double h = 0.5 * std::sqrt(var);
    double       sum = 0;
    for (const double y : v)
      sum += std::exp(-0.5 * (x - y) * (x - y) / (h * h)) / (h * std::sqrt(2. * M_PI) * v.size());
    return sum;
  };
  double expected = 0;
  for (unsigned int g = 0; g < 200; ++g)
    {
      const double x = 5. * g / 199.;
      expected += std::pow(kde(a, x) - kde(b, x), 2) / 200.;
    }
  EXPECT_NEAR(FourierMetrics<2>::density_mse(a, b), expected, 1e-14);
  EXPECT_GT(expected, 1e-3);
  EXPECT_NEAR(FourierMetrics<2>::density_mse(b, a), expected, 1e-14);
}


TEST(FourierMetrics, RefusesThreeDimensionsAndOddGrids)
{
  const auto space3 = test_support::make_space<3>("set Geometry = box\n");
  EXPECT_THROW(FourierMetrics<3>(*space3, 64), ExcMessage);
  const auto space2 = test_support::make_space<2>("set Geometry = box\n");
  EXPECT_THROW(FourierMetrics<2>(*space2, 63), ExcMessage);
}
