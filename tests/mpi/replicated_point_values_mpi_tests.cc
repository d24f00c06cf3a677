// ReplicatedPointValues on 2 ranks: a field of a distributed mesh evaluated
// at points given on every rank. Exact for a linear function on a distorted
// Q2 mesh with hanging nodes, bitwise the same on every rank; points on the
// circle just outside the polygonal cells of a disk are extrapolated (still
// exact for a linear function), points far outside are refused; the
// extremes of the circle between boundary vertices (a turned disk) too.

#include <deal.II/base/function.h>
#include <deal.II/distributed/tria.h>
#include <deal.II/fe/mapping_q.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/manifold_lib.h>

#include <ddo/function_space/function_space.h>
#include <ddo/function_space/replicated_point_values.h>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  double
  linear(const Point<2> &p)
  {
    return 1. + 2. * p[0] - 0.7 * p[1];
  }


  /** The linear function interpolated on the owned DoFs of @p space. */
  VectorType
  linear_field(const FunctionSpace<2> &space)
  {
    return space.interpolate(ScalarFunctionFromFunctionObject<2>(linear));
  }
} // namespace


TEST(ReplicatedPointValues, IsExactForALinearFunctionAndTheSameOnEveryRank)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 3, 2\nset Upper corner = 2, 1\nend\n"
    "set Distortion = 0.2\nset Global refinements = 2\nset Local refinement cycles = 1\n"
    "set Local refinement radius = 0.4\nset Partitioning = distributed\n",
    2);
  ASSERT_TRUE(space->is_distributed());
  std::mt19937                           random(11); // the same points on every rank
  std::uniform_real_distribution<double> uniform(0., 1.);
  std::vector<Point<2>>                  points;
  for (unsigned int i = 0; i < 301; ++i)
    points.emplace_back(2 * uniform(random), uniform(random));
  points.emplace_back(0., 0.); // corners and edges of the domain too
  points.emplace_back(2., 1.);
  points.emplace_back(1., 0.);

  const ReplicatedPointValues<2> evaluation(space->get_dof_handler(), space->get_mapping(), points);
  EXPECT_EQ(evaluation.n_extrapolated_points(), 0u);
  Vector<double> values;
  evaluation.evaluate(linear_field(*space), values);
  ASSERT_EQ(values.size(), points.size());
  double error = 0;
  for (unsigned int i = 0; i < points.size(); ++i)
    error = std::max(error, std::abs(values[i] - linear(points[i])));
  EXPECT_LT(error, 1e-12);
  EXPECT_EQ(Utilities::MPI::max(values.l2_norm(), MPI_COMM_WORLD), Utilities::MPI::min(values.l2_norm(), MPI_COMM_WORLD));
}


TEST(ReplicatedPointValues, ExtrapolatesJustOutsideACurvedBoundaryAndRefusesFarPoints)
{
  // Q1 with straight cells: the polygon cuts off the circle between its vertices.
  const auto space = test_support::make_space<2>(
    "set Geometry = ball\nset Global refinements = 3\nset Partitioning = distributed\n", 1);
  const MappingQ<2>     straight(1);
  std::vector<Point<2>> points;
  for (unsigned int i = 0; i < 50; ++i)
    points.emplace_back(0.5 * std::cos(0.3 + 0.1 * i), 0.5 * std::sin(0.3 + 0.1 * i));
  for (unsigned int i = 0; i < 50; ++i)
    points.emplace_back(std::cos(0.013 + 2 * M_PI * i / 50), std::sin(0.013 + 2 * M_PI * i / 50));

  const ReplicatedPointValues<2> evaluation(space->get_dof_handler(), straight, points);
  EXPECT_GT(evaluation.n_extrapolated_points(), 40u);
  EXPECT_LE(evaluation.n_extrapolated_points(), 50u);
  Vector<double> values;
  evaluation.evaluate(linear_field(*space), values);
  double error = 0;
  for (unsigned int i = 0; i < points.size(); ++i)
    error = std::max(error, std::abs(values[i] - linear(points[i])));
  EXPECT_LT(error, 1e-10);

  points.emplace_back(1.5, 0.);
  EXPECT_THROW(ReplicatedPointValues<2>(space->get_dof_handler(), straight, points), ExceptionBase);
}


TEST(ReplicatedPointValues, FindsTheExtremesOfACurvedBoundaryBetweenVertices)
{
  // A disk turned by 0.1: the circle's extremes (1, 0), (0, 1), ... lie
  // between boundary vertices, outside the vertices' bounding box of every
  // cell (deal.II's point search still finds them).
  Triangulation<2> coarse;
  GridGenerator::hyper_ball_balanced(coarse);
  GridTools::rotate(0.1, coarse);
  auto triangulation = std::make_shared<parallel::distributed::Triangulation<2>>(MPI_COMM_WORLD);
  triangulation->copy_triangulation(coarse);
  triangulation->reset_all_manifolds();
  triangulation->set_all_manifold_ids(numbers::flat_manifold_id);
  triangulation->set_all_manifold_ids_on_boundary(0);
  triangulation->set_manifold(0, SphericalManifold<2>());
  triangulation->refine_global(3);
  const FunctionSpace<2> space(triangulation, 1);
  const MappingQ<2>      straight(1);

  std::vector<Point<2>> points = {Point<2>(1, 0), Point<2>(0, 1), Point<2>(-1, 0), Point<2>(0, -1),
                                  Point<2>(0.3, 0.2)};
  const ReplicatedPointValues<2> evaluation(space.get_dof_handler(), straight, points);
  EXPECT_EQ(evaluation.n_extrapolated_points(), 4u);
  Vector<double> values;
  evaluation.evaluate(linear_field(space), values);
  // Extrapolated from a boundary cell: exact for a linear function.
  for (unsigned int i = 0; i < 4; ++i)
    EXPECT_LT(std::abs(values[i] - linear(points[i])), 1e-10) << "point " << points[i];
  EXPECT_LT(std::abs(values[4] - linear(points[4])), 1e-12);
  EXPECT_EQ(Utilities::MPI::max(values.l2_norm(), MPI_COMM_WORLD), Utilities::MPI::min(values.l2_norm(), MPI_COMM_WORLD));
}
