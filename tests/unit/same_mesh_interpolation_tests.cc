// SameMeshInterpolation: exact for polynomials the target element contains,
// nodal for the others, its transpose is the adjoint, and it maps functions
// that satisfy the source's hanging-node constraints to functions that
// satisfy the target's.

#include <deal.II/base/function_lib.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/fe/fe_simplex_p.h>
#include <deal.II/fe/mapping_fe.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/function_space/same_mesh_interpolation.h>

#include <gtest/gtest.h>

#include <random>

using namespace dealii;
using namespace ddo;

namespace
{
  /** 1 + 2x - y + 0.5 x y, and its quadratic part x^2 added. */
  class Polynomial : public Function<2>
  {
  public:
    explicit Polynomial(const bool quadratic)
      : quadratic(quadratic)
    {}
    double
    value(const Point<2> &p, const unsigned int = 0) const override
    {
      return 1 + 2 * p[0] - p[1] + (quadratic ? p[0] * p[0] + 0.5 * p[0] * p[1] : 0.);
    }

  private:
    const bool quadratic;
  };

  void
  make_triangles(Triangulation<2> &triangles)
  {
    Triangulation<2> quads;
    GridGenerator::subdivided_hyper_cube(quads, 4);
    GridTools::distort_random(0.2, quads, true, 1);
    GridGenerator::convert_hypercube_to_simplex_mesh(quads, triangles);
  }

  Vector<double>
  random_vector(const unsigned int n, const unsigned int seed)
  {
    std::mt19937                     rng(seed);
    std::normal_distribution<double> normal;
    Vector<double>                   v(n);
    for (auto &x : v)
      x = normal(rng);
    return v;
  }
} // namespace


TEST(SameMeshInterpolation, IsExactForWhatTheTargetContainsAndNodalOtherwise)
{
  Triangulation<2> triangles;
  make_triangles(triangles);
  const MappingFE<2> mapping(FE_SimplexP<2>(1));
  DoFHandler<2>      p1(triangles), p2(triangles);
  p1.distribute_dofs(FE_SimplexP<2>(1));
  p2.distribute_dofs(FE_SimplexP<2>(2));

  // Linear in P1 to P2: the same function, to round-off.
  Vector<double> linear1(p1.n_dofs()), linear2(p2.n_dofs()), out;
  VectorTools::interpolate(mapping, p1, Polynomial(false), linear1);
  VectorTools::interpolate(mapping, p2, Polynomial(false), linear2);
  SameMeshInterpolation<2>(p1, p2).apply(linear1, out);
  out -= linear2;
  EXPECT_LT(out.linfty_norm(), 1e-13);

  // Quadratic in P2 to P1: the nodal values.
  Vector<double> quadratic1(p1.n_dofs()), quadratic2(p2.n_dofs());
  VectorTools::interpolate(mapping, p1, Polynomial(true), quadratic1);
  VectorTools::interpolate(mapping, p2, Polynomial(true), quadratic2);
  SameMeshInterpolation<2>(p2, p1).apply(quadratic2, out);
  out -= quadratic1;
  EXPECT_LT(out.linfty_norm(), 1e-13);
}


TEST(SameMeshInterpolation, TheTransposeIsTheAdjoint)
{
  Triangulation<2> triangles;
  make_triangles(triangles);
  DoFHandler<2> p1(triangles), p2(triangles);
  p1.distribute_dofs(FE_SimplexP<2>(1));
  p2.distribute_dofs(FE_SimplexP<2>(2));
  const SameMeshInterpolation<2> T(p2, p1);
  const Vector<double>           u = random_vector(p2.n_dofs(), 1), g = random_vector(p1.n_dofs(), 2);
  Vector<double>                 Tu, Ttg;
  T.apply(u, Tu);
  T.apply_transpose(g, Ttg);
  EXPECT_NEAR(Tu * g, u * Ttg, 1e-12 * std::abs(Tu * g));
  EXPECT_EQ(Ttg.size(), p2.n_dofs());
}


TEST(SameMeshInterpolation, KeepsHangingNodeConstraintsAndRefusesAnotherMesh)
{
  Triangulation<2> quads;
  GridGenerator::hyper_cube(quads);
  quads.refine_global(2);
  quads.begin_active()->set_refine_flag();
  quads.execute_coarsening_and_refinement();
  DoFHandler<2> q1(quads), q2(quads);
  q1.distribute_dofs(FE_Q<2>(1));
  q2.distribute_dofs(FE_Q<2>(2));
  AffineConstraints<double> c1, c2;
  DoFTools::make_hanging_node_constraints(q1, c1);
  DoFTools::make_hanging_node_constraints(q2, c2);
  c1.close();
  c2.close();
  ASSERT_GT(c1.n_constraints(), 0u);

  Vector<double> u = random_vector(q1.n_dofs(), 3), out;
  c1.distribute(u);
  SameMeshInterpolation<2>(q1, q2).apply(u, out);
  Vector<double> constrained = out;
  c2.distribute(constrained);
  constrained -= out;
  EXPECT_LT(constrained.linfty_norm(), 1e-13 * out.linfty_norm());

  // Q1 -> Q2 -> Q1 is the identity.
  Vector<double> back;
  SameMeshInterpolation<2>(q2, q1).apply(out, back);
  back -= u;
  EXPECT_LT(back.linfty_norm(), 1e-13 * u.linfty_norm());

  Triangulation<2> other;
  GridGenerator::hyper_cube(other);
  DoFHandler<2> elsewhere(other);
  elsewhere.distribute_dofs(FE_Q<2>(1));
  EXPECT_THROW(SameMeshInterpolation<2>(q1, elsewhere), ExceptionBase);
}
