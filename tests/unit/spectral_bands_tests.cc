// The energy spectrum over the whole spectrum of the mesh (SpectralBands):
// exact band energies of Matérn fields, the Parseval identity, and the
// Chebyshev method against the dense one.

#include <ddo/covariance/matern_spde.h>
#include <ddo/metrics/spectral_bands.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

#include <cmath>
#include <limits>
#include <numeric>

using namespace ddo;

namespace
{
  const std::string square = "set Geometry = box\nsubsection box\nset Subdivisions = 8\nend\n"
                             "set Cell type = simplex\nset Distortion = 0.2\nset Global refinements = 1\n";

  /** Neumann Matérn SPDE, alpha = 2 in 2D: band energies are tau^-2 sum (kappa^2 + lambda)^-2. */
  MaternSPDE<2>::Parameters
  neumann_matern()
  {
    MaternSPDE<2>::Parameters p;
    p.correlation_length = 0.15;
    p.smoothness         = 1;
    p.boundary_condition = MaternSPDE<2>::BoundaryCondition::neumann;
    return p;
  }
} // namespace


TEST(SpectralBands, MaternBandEnergiesMatchTheExactValuesWithinFourStandardErrors)
{
  const auto space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  typename SpectralBands<2>::Settings settings;
  settings.n_bands = 8;
  const SpectralBands<2> bands(*space, settings);
  ASSERT_EQ(bands.method(), SpectralBands<2>::Method::dense);

  MaternSPDE<2> field(neumann_matern());
  field.initialize(*space);
  const unsigned int n      = 400;
  const auto         values = test_support::matern_sample_rows(*space, neumann_matern(), n, 3);
  const auto         mean   = bands.mean_energies(values, n);

  // In the M-orthonormal eigenbasis the coefficients are independent with
  // variance c_i = tau^-2 (kappa^2 + lambda_i)^-2, so a band's energy has
  // mean sum c_i and variance 2 sum c_i^2 per function.
  const double k2 = std::pow(field.kappa(), 2), t2 = std::pow(field.tau(), 2);
  const auto   expected = bands.sum_over_bands([&](const double l) { return 1. / (t2 * std::pow(k2 + l, 2)); });
  const auto   second   = bands.sum_over_bands([&](const double l) { return 1. / std::pow(t2 * std::pow(k2 + l, 2), 2); });
  for (unsigned int b = 0; b < mean.size(); ++b)
    {
      const double standard_error = std::sqrt(2 * second[b] / n);
      EXPECT_NEAR(mean[b], expected[b], 4 * standard_error) << "band " << b;
    }
  // The spectrum spans the whole mesh: the top band holds the largest eigenvalue.
  EXPECT_NEAR(bands.edges().back(), std::sqrt(bands.largest_eigenvalue()), 1e-6 * bands.edges().back());
}


TEST(SpectralBands, BandsAndTheMeanAddUpToTheSquaredNorm)
{
  const auto space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  typename SpectralBands<2>::Settings settings;
  settings.n_bands = 5;
  const SpectralBands<2> bands(*space, settings);
  const auto             values = test_support::matern_sample_rows(*space, neumann_matern(), 1, 7);
  VectorType             u      = space->create_vector();
  for (std::size_t i = 0; i < values.size(); ++i)
    u[i] = values[i] + 0.3; // a mean, which lies in the null space
  const auto   e     = bands.energies(u);
  const double total = std::accumulate(e.begin(), e.end(), 0.);
  const double mean  = space->integral(u) / space->volume();
  EXPECT_NEAR(total + mean * mean * space->volume(), space->l2_inner_product(u, u),
              1e-10 * space->l2_inner_product(u, u));
}


TEST(SpectralBands, CellBoundIsAnUpperBoundOfTheLargestEigenvalue)
{
  const auto space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  typename SpectralBands<2>::Settings settings;
  const SpectralBands<2> bands(*space, settings);
  const double           bound = cell_eigenvalue_bound(*space);
  EXPECT_GE(bound, bands.largest_eigenvalue() * (1 - 1e-12));
  // On these distorted triangles the worst cell sets the bound: about 3x.
  EXPECT_LT(bound, 4 * bands.largest_eigenvalue());
}


TEST(SpectralBands, ChebyshevMethodAgreesWithTheDenseMethod)
{
  const auto space = test_support::make_space<2>(square, 1, MPI_COMM_SELF);
  typename SpectralBands<2>::Settings settings;
  settings.n_bands = 5;
  const SpectralBands<2> dense(*space, settings);
  settings.method = SpectralBands<2>::Method::chebyshev;
  const SpectralBands<2> chebyshev(*space, settings);
  ASSERT_EQ(chebyshev.method(), SpectralBands<2>::Method::chebyshev);
  EXPECT_NEAR(chebyshev.edges().front(), dense.edges().front(), 1e-6 * dense.edges().front());

  // The Chebyshev bands agree with the exact ones up to the leakage over
  // the smeared band edges (measured: 0.3% at the automatic degree), and
  // add up to the energy outside the null space exactly.
  const unsigned int n      = 20;
  const auto         values = test_support::matern_sample_rows(*space, neumann_matern(), n, 11);
  const auto         exact  = dense.mean_energies(values, n);
  const auto         approx = chebyshev.mean_energies(values, n);
  const double       total  = std::accumulate(exact.begin(), exact.end(), 0.);
  for (unsigned int b = 0; b < exact.size(); ++b)
    {
      EXPECT_NEAR(approx[b], exact[b], 0.03 * exact[b]) << "band " << b;
    }
  const double approx_total = std::accumulate(approx.begin(), approx.end(), 0.);
  EXPECT_NEAR(approx_total, total, 1e-8 * total);

  // The set is evaluated several functions at a time on threads: each
  // function's energies are those it has alone.
  const auto  each = chebyshev.energies_of_each(values, n);
  VectorType  u    = space->create_vector();
  for (const unsigned int s : {0u, 7u, 19u})
    {
      for (std::size_t j = 0; j < space->n_dofs(); ++j)
        u[j] = values[s * space->n_dofs() + j];
      const auto alone = chebyshev.energies(u);
      for (unsigned int b = 0; b < alone.size(); ++b)
        EXPECT_NEAR(each[s][b], alone[b], 1e-12 * std::abs(alone[b]) + 1e-15) << "function " << s << ", band " << b;
    }
  // A non-finite function is an error, not a row of garbage energies.
  u[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_ANY_THROW(chebyshev.energies(u));
}
