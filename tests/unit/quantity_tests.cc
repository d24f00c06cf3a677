// Forward uncertainty propagation: the quantity darcy_boundary_flux and the
// comparison of a quantity's distributions.
// - The outflows through the four sides of the unit square are equal for a
//   constant permeability on a mesh with the square's symmetry, and the
//   outflows through a partition of the boundary add up to the source's
//   integral for any permeability (on a distorted, locally refined mesh and
//   on a mesh with holes whose holes are impermeable): exact identities of
//   the variational flux.
// - KS statistic and Wasserstein-1 distance on sets with known values; the
//   KS p-value is calibrated (the fraction of p < 0.05 between samples of
//   one law within 3 standard errors of 5%) and has power; the comparison
//   puts a set of the reference's law at its floor and a shifted set far
//   above it.

#include <deal.II/base/function_parser.h>
#include <deal.II/lac/vector.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/metrics/quantity_comparison.h>
#include <ddo/quantity/interface.h>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_utilities.h"

using namespace ddo;
using test_support::interpolate_expression;

namespace
{
  /** The four sides of the unit square as parts that partition its boundary nodes, one corner each. */
  const std::vector<std::string> square_sides = {"x > 0.999 && y < 0.999", "y > 0.999 && x > 0.001",
                                                 "x < 0.001 && y > 0.001", "y < 0.001 && x < 0.999"};

  std::unique_ptr<QuantityOfInterest<2>>
  make_flux(const std::string &settings, const FunctionSpace<2> &space)
  {
    ParameterHandler prm;
    QuantityRegistry<2>::instance().declare_parameters(prm, "Quantity", "darcy_boundary_flux", "");
    prm.parse_input_from_string("subsection darcy_boundary_flux\n" + settings + "end\n");
    auto quantity = QuantityRegistry<2>::instance().create_and_parse(prm, "Quantity");
    quantity->initialize(space);
    return quantity;
  }


  double
  flux_through(const FunctionSpace<2> &space, const std::string &part, const Vector<double> &field,
               const std::string &extra = "")
  {
    return make_flux("set Boundary part = " + part + "\nset Source = 2\n" + extra, space)->evaluate(field);
  }

  std::vector<double>
  normal_values(const std::size_t n, const double shift, const unsigned int seed)
  {
    std::mt19937_64                  rng(seed);
    std::normal_distribution<double> normal(shift, 1.);
    std::vector<double>              values(n);
    for (double &v : values)
      v = normal(rng);
    return values;
  }
} // namespace


TEST(DarcyBoundaryFlux, TheFourSidesOfASymmetricSquareCarryAQuarterEach)
{
  const auto space = test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 8, 8\nend\n");
  const Vector<double> a     = interpolate_expression(*space, "3");
  for (const std::string &side : square_sides)
    EXPECT_NEAR(flux_through(*space, side, a), 0.5, 1e-10) << side; // a quarter of int f = 2
}


TEST(DarcyBoundaryFlux, ThePartsOfTheBoundaryAddUpToTheSourceForAnyPermeability)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 6, 6\nend\nset Distortion = 0.25\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0.3, 0.3\n");
  const Vector<double> a = interpolate_expression(*space, "3 + 9 * (sin(5 * x) * cos(3 * y) > 0)");
  double               total = 0, largest = 0;
  for (const std::string &side : square_sides)
    {
      const double flux = flux_through(*space, side, a);
      total += flux;
      largest = std::max(largest, flux);
    }
  EXPECT_NEAR(total, 2., 1e-10);
  EXPECT_GT(largest, 0.55); // the coefficient breaks the symmetry: the test is not the previous one
}


TEST(DarcyBoundaryFlux, HolesAreImpermeable)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = gmsh\nset Cell type = simplex\nsubsection gmsh\nset File name = " + std::string(DDO_SOURCE_DIR) +
    "/examples/step-4/plate.msh\nend\n");
  const double         area  = space->quadrature_weights().l1_norm();
  const Vector<double> a     = interpolate_expression(*space, "sin(3 * x) * y");
  const std::string    outer = "set Dirichlet boundary ids = 1\nset Field = log permeability\n";
  // Impermeable holes (id 2): everything the source puts in leaves through the outer square.
  const double left  = flux_through(*space, "x < 0.5", a, outer);
  const double right = flux_through(*space, "x >= 0.5", a, outer);
  EXPECT_NEAR(left + right, 2 * area, 1e-10);
  // Holes held at p = 0 take part of it.
  const double square = flux_through(*space, "x < 0.001 || x > 0.999 || y < 0.001 || y > 0.999", a,
                                     "set Dirichlet boundary ids = 1, 2\nset Field = log permeability\n");
  EXPECT_LT(square, 2 * area - 0.1);
}


TEST(DarcyBoundaryFlux, RefusesAPartWithoutDirichletDoFs)
{
  const auto space = test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 4, 4\nend\n");
  try
    {
      make_flux("set Boundary part = x > 2\n", *space);
      FAIL() << "an empty boundary part was accepted";
    }
  catch (const std::exception &e)
    {
      EXPECT_NE(std::string(e.what()).find("no Dirichlet DoF"), std::string::npos) << e.what();
    }
}


TEST(QuantityComparison, DistancesOfKnownSets)
{
  EXPECT_EQ(ks_statistic({1, 2, 3}, {3, 2, 1}), 0.);
  EXPECT_EQ(ks_statistic({1, 2}, {5, 6, 7}), 1.);
  EXPECT_NEAR(ks_statistic({1, 2, 3, 4}, {3, 4}), 0.5, 1e-15);
  EXPECT_NEAR(wasserstein_distance({1, 2, 3}, {1.5, 2.5, 3.5}), 0.5, 1e-15);
  EXPECT_NEAR(wasserstein_distance({0}, {1, 3}), 2., 1e-15);
  const QuantitySummary s = summarize_quantity({4, 1, 3, 2, 5});
  EXPECT_EQ(s.mean, 3.);
  EXPECT_NEAR(s.deviation, std::sqrt(2.5), 1e-15);
  EXPECT_EQ(s.q50, 3.);
  EXPECT_NEAR(s.q05, 1.2, 1e-15);
}


TEST(QuantityComparison, TheKSPValueIsCalibratedAndHasPower)
{
  const unsigned int n_trials = 2000;
  unsigned int       rejected = 0, detected = 0;
  for (unsigned int t = 0; t < n_trials; ++t)
    {
      const auto a = normal_values(60, 0., 2 * t), b = normal_values(40, 0., 2 * t + 1);
      rejected += ks_p_value(ks_statistic(a, b), a.size(), b.size()) < 0.05;
      const auto shifted = normal_values(40, 1., 2 * t + 1);
      detected += ks_p_value(ks_statistic(a, shifted), a.size(), shifted.size()) < 0.05;
    }
  const double standard_error = std::sqrt(0.05 * 0.95 / n_trials);
  EXPECT_NEAR(double(rejected) / n_trials, 0.05, 3 * standard_error);
  EXPECT_GT(double(detected) / n_trials, 0.95);
}


TEST(QuantityComparison, TheReferencesLawScoresItsFloorAndAShiftDoesNot)
{
  const auto reference = normal_values(400, 0., 11);
  const auto same      = normal_values(400, 0., 12);
  const auto shifted   = normal_values(400, 0.5, 13);
  const auto comparison =
    compare_quantity_distributions(reference, {{"same", same}, {"shifted", shifted}}, 20, 1);
  ASSERT_EQ(comparison.rows.size(), 3u);
  EXPECT_EQ(comparison.half_size, 200u);
  const double floor_ks = comparison.rows[0].ks, floor_w1 = comparison.rows[0].wasserstein;
  // Two sets of 200 from one law: the mean KS statistic is about 0.87 / sqrt(100) (Kolmogorov's law).
  EXPECT_NEAR(floor_ks, 0.087, 0.03);
  EXPECT_LT(comparison.rows[1].ks / floor_ks, 1.5);
  EXPECT_LT(comparison.rows[1].wasserstein / floor_w1, 1.5);
  EXPECT_GT(comparison.rows[2].ks / floor_ks, 2.);
  EXPECT_NEAR(comparison.rows[2].wasserstein, 0.5, 0.15);
  EXPECT_GT(comparison.rows[1].p_value, 0.05);
  EXPECT_LT(comparison.rows[2].p_value, 1e-6);
  EXPECT_NE(comparison.table().find("shifted"), std::string::npos);
}
