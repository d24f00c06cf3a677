// The data generator darcy_pressure: the torsion value of the unit square for
// a constant permeability, the exact scaling p(g + c) = exp(-s c) p(g), zero
// pressure on the boundary, and, in 3D on a Gmsh tetrahedral mesh with holes
// for a Matérn log-permeability of smoothness 1, the energy identity of the
// Galerkin solution, int exp(s g) |grad p|^2 = int f p.

#include <deal.II/fe/fe_values.h>

#include <ddo/covariance/interface.h>
#include <ddo/generator/interface.h>

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "../covariance_test_utilities.h"

using namespace ddo;

namespace
{
  template <int dim>
  std::unique_ptr<Generator<dim>>
  make_darcy(const std::string &settings)
  {
    ParameterHandler prm;
    GeneratorRegistry<dim>::instance().declare_parameters(prm, "Generator", "darcy_pressure", "");
    prm.parse_input_from_string("subsection darcy_pressure\n" + settings + "end\n");
    return GeneratorRegistry<dim>::instance().create_and_parse(prm, "Generator");
  }

  /** The DoFs on the boundary of the mesh. */
  template <int dim>
  std::set<types::global_dof_index>
  boundary_dofs(const FunctionSpace<dim> &space)
  {
    std::set<types::global_dof_index>    result;
    std::vector<types::global_dof_index> dofs;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      for (const unsigned int f : cell->face_indices())
        if (cell->face(f)->at_boundary())
          {
            dofs.resize(cell->get_fe().n_dofs_per_face(f));
            cell->face(f)->get_dof_indices(dofs);
            result.insert(dofs.begin(), dofs.end());
          }
    return result;
  }

  /** int exp(s g) |grad p|^2 by the space's quadrature. */
  template <int dim>
  double
  energy(const FunctionSpace<dim> &space, const VectorType &g, const VectorType &p, const double s)
  {
    VectorType g_ghosted = space.create_ghosted_vector(), p_ghosted = space.create_ghosted_vector();
    g_ghosted = g;
    p_ghosted = p;
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    std::vector<double>         g_values(space.get_quadrature().size());
    std::vector<Tensor<1, dim>> p_gradients(space.get_quadrature().size());
    double                      sum = 0;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        fe_values.get_function_values(g_ghosted, g_values);
        fe_values.get_function_gradients(p_ghosted, p_gradients);
        for (unsigned int q = 0; q < g_values.size(); ++q)
          sum += std::exp(s * g_values[q]) * p_gradients[q].norm_square() * fe_values.JxW(q);
      }
    return sum;
  }
} // namespace


TEST(DarcyPressure, TorsionOfTheUnitSquareAndExactScalingWithThePermeability)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 32\nend\n");
  auto generator = make_darcy<2>("set Log-permeability scale = 2\n");
  generator->initialize(*space);
  VectorType g = space->create_vector(), p0, p1;
  generator->generate(g, p0);

  // -Laplace p = 1, p = 0 on the boundary of the unit square: p(1/2, 1/2) =
  // 0.0736713 (Q1 on h = 1/32: within 1e-4).
  const auto & points = space->locally_owned_support_points();
  unsigned int centres = 0;
  for (unsigned int i = 0; i < points.size(); ++i)
    if (points[i].distance(Point<2>(0.5, 0.5)) < 1e-12)
      {
        EXPECT_NEAR(p0[i], 0.0736713, 1e-4);
        ++centres;
      }
  EXPECT_EQ(centres, 1u);
  for (const auto i : boundary_dofs(*space))
    EXPECT_EQ(p0[i], 0.);

  // A constant shift c of g scales the permeability by exp(2 c): p by exp(-2 c).
  g.add(0.35);
  generator->generate(g, p1);
  p0 *= std::exp(-0.7);
  p1 -= p0;
  EXPECT_LT(p1.linfty_norm(), 1e-8 * p0.linfty_norm());
}


TEST(DarcyPressure, EnergyIdentityOnTetrahedraWithHolesForAMaternPermeability)
{
  const std::string mesh = "set Geometry = gmsh\nset Cell type = simplex\nsubsection gmsh\n"
                           "set File name = " +
                           std::string(DDO_SOURCE_DIR) + "/tests/data/block_with_holes.msh\nend\n";
  const auto space = test_support::make_space<3>(mesh);
  const auto model = test_support::make_covariance<3>(*space, "matern", "set Smoothness = 1\nset Correlation length = 0.3\n");
  auto generator = make_darcy<3>("set Source = 2\nset Log-permeability scale = 1.5\n");
  generator->initialize(*space);

  VectorType g = space->create_vector(), p;
  model->sample(g, 3, 0);
  generator->generate(g, p);
  ASSERT_GT(p.linfty_norm(), 0.);
  for (const auto i : boundary_dofs(*space))
    EXPECT_EQ(p[i], 0.);
  // Testing the weak form with p itself: int a |grad p|^2 = int f p.
  const double work = 2. * space->integral(p);
  EXPECT_GT(work, 0.);
  EXPECT_NEAR(energy(*space, g, p, 1.5), work, 1e-7 * work);
  // Not a linear map of g: p(2 g) != 2 p(g) - p(0) by far.
  VectorType doubled(g), zero = space->create_vector(), p_doubled, p_zero;
  doubled *= 2.;
  generator->generate(doubled, p_doubled);
  generator->generate(zero, p_zero);
  p_doubled.add(-2., p);
  p_doubled += p_zero;
  EXPECT_GT(p_doubled.linfty_norm(), 0.05 * p.linfty_norm());
}


TEST(DarcyPressure, BoundaryIdsWithoutDofsAreAnError)
{
  const auto space =
    test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 2\nend\n");
  auto generator = make_darcy<2>("set Dirichlet boundary ids = 77\n");
  EXPECT_THROW(generator->initialize(*space), ExceptionBase);
}
