// PointInterpolation from a serial simplex mesh onto a distributed, distorted
// quadrilateral mesh with hanging nodes (Q2) on 2 ranks: exact for a linear
// function at every owned DoF (hanging ones included), and its transpose is
// the adjoint summed over the ranks, the same on every rank.

#include <deal.II/base/function.h>

#include <ddo/function_space/function_space.h>
#include <ddo/function_space/point_interpolation.h>

#include <gtest/gtest.h>

#include <random>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::string target_mesh =
    "set Geometry = box\nsubsection box\nset Subdivisions = 3, 2\nset Upper corner = 2, 1\nend\n"
    "set Distortion = 0.2\nset Global refinements = 2\nset Local refinement cycles = 1\n"
    "set Local refinement radius = 0.4\nset Partitioning = distributed\n";
  const std::string source_mesh =
    "set Geometry = box\nsubsection box\nset Subdivisions = 5, 3\nset Upper corner = 2, 1\nend\n"
    "set Cell type = simplex\nset Global refinements = 1\n";

  double
  linear(const Point<2> &p)
  {
    return 1. + 2. * p[0] - 0.7 * p[1];
  }
} // namespace


TEST(PointInterpolation, IsExactForALinearFunctionOnADistributedMeshWithHangingNodes)
{
  const auto target = test_support::make_space<2>(target_mesh, 2);
  const auto source = test_support::make_space<2>(source_mesh, 1, MPI_COMM_SELF);
  ASSERT_TRUE(target->is_distributed());
  EXPECT_GT(Utilities::MPI::min(target->locally_owned_dofs().n_elements(), MPI_COMM_WORLD), 0u);

  const PointInterpolation<2> transfer(*source, target->get_dof_handler(), target->get_mapping());
  EXPECT_EQ(transfer.n_extrapolated_points(), 0u);

  const VectorType source_values = source->interpolate(ScalarFunctionFromFunctionObject<2>(linear));
  const Vector<double> in(source_values.begin(), source_values.end());
  VectorType           out;
  transfer.apply(in, out);
  ASSERT_EQ(out.locally_owned_elements(), target->locally_owned_dofs());

  const auto &points = target->locally_owned_support_points();
  double      error  = 0;
  unsigned int r     = 0;
  for (const auto dof : target->locally_owned_dofs())
    error = std::max(error, std::abs(out[dof] - linear(points[r++])));
  EXPECT_LT(Utilities::MPI::max(error, MPI_COMM_WORLD), 1e-12);

  // The hanging nodes are constrained: for a function that is not in the
  // target space (where the value at a hanging point differs from its
  // parents' combination), distributing the target's constraints changes
  // nothing.
  const VectorType curved = source->interpolate(ScalarFunctionFromFunctionObject<2>(
    [](const Point<2> &p) { return std::sin(3 * p[0]) * std::cos(2 * p[1]) + p[0] * p[0]; }));
  transfer.apply(Vector<double>(curved.begin(), curved.end()), out);
  VectorType conforming(out);
  target->get_constraints().distribute(conforming);
  conforming -= out;
  EXPECT_LT(conforming.linfty_norm(), 1e-12);
  // The mesh has hanging nodes (on some rank; not necessarily this one).
  EXPECT_GT(Utilities::MPI::sum(target->get_constraints().n_constraints(), MPI_COMM_WORLD), 0u);
}


TEST(PointInterpolation, TheTransposeIsTheAdjointSummedOverTheRanks)
{
  const auto target = test_support::make_space<2>(target_mesh, 2);
  const auto source = test_support::make_space<2>(source_mesh, 1, MPI_COMM_SELF);
  const PointInterpolation<2> transfer(*source, target->get_dof_handler(), target->get_mapping());

  std::mt19937                     generator(7); // the same v on every rank
  std::normal_distribution<double> normal;
  Vector<double>                   v(source->n_dofs());
  for (auto &x : v)
    x = normal(generator);
  VectorType g = target->create_vector();
  std::mt19937 local_generator(11 + Utilities::MPI::this_mpi_process(MPI_COMM_WORLD));
  for (const auto dof : target->locally_owned_dofs())
    g[dof] = normal(local_generator);
  g.compress(VectorOperation::insert);

  VectorType tv;
  transfer.apply(v, tv);
  Vector<double> tg;
  transfer.apply_transpose(g, tg);
  const double left  = tv * g; // global
  const double right = v * tg;
  EXPECT_NEAR(left, right, 1e-12 * std::abs(left) + 1e-12);

  // Every rank holds the same T^T g, bit for bit.
  Vector<double> root = tg;
  MPI_Bcast(root.begin(), root.size(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  root -= tg;
  EXPECT_EQ(root.linfty_norm(), 0.);
}


TEST(PointInterpolation, RefusesADistributedSource)
{
  const auto target = test_support::make_space<2>(target_mesh, 1);
  EXPECT_THROW(PointInterpolation<2>(*target, target->get_dof_handler(), target->get_mapping()), ExceptionBase);
}
