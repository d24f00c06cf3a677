// Function spaces: exact identities of the mass and stiffness matrices and the
// quadrature weights on many kinds of meshes, support points, fingerprints.

#include <deal.II/base/function_lib.h>
#include <deal.II/fe/fe_values.h>

#include <ddo/function_space/function_space.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  struct MeshCase
  {
    std::string  name;
    unsigned int dim;
    std::string  prm;
    double       exact_volume;
  };

  // Boxes and L-shapes: their volume is known exactly, also after distortion
  // (boundary vertices do not move).
  const char *box_2d = "set Geometry = box\nsubsection box\nset Upper corner = 2, 1, 1\n"
                       "set Subdivisions = 3, 2, 2\nend\n";
  const char *box_3d = "set Geometry = box\nsubsection box\nset Upper corner = 2, 1, 1\n"
                       "set Subdivisions = 2, 1, 1\nend\n";

  std::vector<MeshCase>
  mesh_cases()
  {
    const std::string hex = "set Cell type = hypercube\n";
    const std::string tri = "set Cell type = simplex\n";
    const std::string distort = "set Distortion = 0.3\n";
    const std::string local = "set Local refinement cycles = 2\nset Local refinement center = 0.1, 0.1, 0.1\n"
                              "set Local refinement radius = 0.5\n";
    const std::string periodic = "set Periodic directions = 0, 1\n";
    return {
      {"box2d_hex", 2, box_2d + hex + "set Global refinements = 2\n", 2.},
      {"box2d_hex_distorted_local", 2, box_2d + hex + distort + local + "set Global refinements = 1\n", 2.},
      {"box2d_hex_periodic_local", 2, box_2d + hex + periodic + local + "set Global refinements = 1\n", 2.},
      {"box2d_simplex_distorted", 2, box_2d + tri + distort + "set Global refinements = 2\n", 2.},
      {"box2d_simplex_periodic", 2, box_2d + tri + periodic + distort + "set Global refinements = 1\n", 2.},
      {"lshape2d_simplex", 2, "set Geometry = L-shape\n" + tri + "set Global refinements = 1\n", 3.},
      {"lshape2d_hex_local", 2, "set Geometry = L-shape\n" + hex + local + "set Global refinements = 1\n", 3.},
      {"box3d_hex_distorted_local", 3, box_3d + hex + distort + "set Global refinements = 1\n"
         "set Local refinement cycles = 1\nset Local refinement radius = 0.6\n", 2.},
      {"box3d_simplex", 3, box_3d + tri + "set Global refinements = 0\n", 2.},
      {"box3d_simplex_distorted_refined", 3, box_3d + tri + distort + "set Global refinements = 1\n", 2.},
      {"lshape3d_hex", 3, "set Geometry = L-shape\n" + hex + "set Global refinements = 1\n", 7.},
    };
  }

  template <int dim>
  void
  check_exact_identities(const MeshCase &c, const unsigned int degree)
  {
    SCOPED_TRACE(c.name + " degree " + std::to_string(degree));
    const auto space = test_support::make_space<dim>(c.prm, degree);

    // 1^T M 1 = |Omega| and w^T 1 = |Omega|.
    EXPECT_NEAR(space->volume(), c.exact_volume, 1e-11 * c.exact_volume);
    VectorType one = space->create_vector();
    one            = 1.;
    EXPECT_NEAR(space->integral(one), c.exact_volume, 1e-11 * c.exact_volume);

    // K 1 = 0.
    VectorType k_one = space->create_vector();
    space->stiffness_matrix().vmult(k_one, one);
    EXPECT_LT(k_one.linfty_norm(), 1e-12 * space->stiffness_matrix().linfty_norm());

    // The linear function u = x (in the space, satisfies all constraints but
    // the periodic ones): u^T M u = int x^2, u^T K u = |Omega|, w^T u = int x.
    // Boxes are [0,2]x[0,1]^(d-1); the L-shape [-1,1]^d minus the positive part.
    if (c.prm.find("Periodic") == std::string::npos)
      {
        const VectorType u = space->interpolate(Functions::Monomial<dim>(
          [] { Tensor<1, dim> e; e[0] = 1; return e; }()));
        const bool   box     = c.prm.find("box") != std::string::npos;
        // int x^2 and int x over the domain
        const double x2 = box ? 8. / 3. : (dim == 2 ? 1. : 7. / 3.);
        const double x1 = box ? 2. : -0.5;
        EXPECT_NEAR(space->l2_inner_product(u, u), x2, 1e-10 * x2);
        EXPECT_NEAR(space->integral(u), x1, 1e-10);
        EXPECT_NEAR(space->stiffness_matrix().matrix_scalar_product(u, u), c.exact_volume,
                    1e-10 * c.exact_volume);

        // Support points are where the nodal values live.
        const auto &points = space->locally_owned_support_points();
        ASSERT_EQ(points.size(), space->locally_owned_dofs().n_elements());
        for (unsigned int i = 0; i < points.size(); ++i)
          ASSERT_NEAR(u[space->locally_owned_dofs().nth_index_in_set(i)], points[i][0], 1e-12);
      }
  }
} // namespace


TEST(FunctionSpace, ExactIdentitiesOnAllMeshKinds)
{
  for (const MeshCase &c : mesh_cases())
    for (const unsigned int degree : {1u, 2u})
      {
        if (c.dim == 2)
          check_exact_identities<2>(c, degree);
        else
          check_exact_identities<3>(c, degree);
      }
}


TEST(FunctionSpace, HangingNodesAndPeriodicityCreateConstraints)
{
  const auto local = test_support::make_space<2>(
    std::string(box_2d) + "set Local refinement cycles = 1\nset Local refinement radius = 0.5\n");
  EXPECT_GT(local->get_constraints().n_constraints(), 0u);

  const auto periodic = test_support::make_space<2>(std::string(box_2d) + "set Periodic directions = 0\n"
                                               "set Global refinements = 1\n");
  // Subdivisions 3x2 refined once: 5 nodes on each side in y, all identified.
  EXPECT_EQ(periodic->get_constraints().n_constraints(), 5u);
  const auto plain = test_support::make_space<2>(std::string(box_2d) + "set Global refinements = 1\n");
  EXPECT_EQ(plain->get_constraints().n_constraints(), 0u);
}


TEST(FunctionSpace, VolumeOfCurvedAndGmshMeshesMatchesIndependentComputation)
{
  // Ball (hexes): sum of the cells' own measures (straight-sided, as MappingQ1).
  const auto ball = test_support::make_space<2>("set Geometry = ball\nset Global refinements = 2\n");
  double     measure = 0;
  for (const auto &cell : ball->get_triangulation().active_cell_iterators())
    measure += cell->measure();
  EXPECT_NEAR(ball->volume(), measure, 1e-12 * measure);
  EXPECT_LT(std::abs(ball->volume() - M_PI), 0.05); // a polygonal disk

  // Gmsh triangle and tetrahedron meshes: sum of |det| / d! computed here.
  for (const std::string file : {"disk_triangles.msh", "cube_tetrahedra.msh"})
    {
      const bool   three_d = file.find("cube") != std::string::npos;
      const std::string prm =
        "set Geometry = gmsh\nset Cell type = simplex\nsubsection gmsh\nset File name = " +
        std::string(DDO_SOURCE_DIR) + "/tests/data/" + file + "\nend\n";
      auto check = [&](auto space) {
        constexpr int dim = std::remove_reference_t<decltype(*space)>::dimension;
        double        volume = 0;
        for (const auto &cell : space->get_triangulation().active_cell_iterators())
          {
            Tensor<2, dim> jacobian;
            for (unsigned int d = 0; d < dim; ++d)
              for (unsigned int e = 0; e < dim; ++e)
                jacobian[d][e] = cell->vertex(e + 1)[d] - cell->vertex(0)[d];
            volume += std::abs(determinant(jacobian)) / (dim == 2 ? 2. : 6.);
          }
        EXPECT_NEAR(space->volume(), volume, 1e-12 * volume) << file;
        EXPECT_GT(space->n_dofs(), 20u);
      };
      if (three_d)
        check(test_support::make_space<3>(prm));
      else
        check(test_support::make_space<2>(prm));
    }
}


TEST(FunctionSpace, FingerprintChangesExactlyWhenMeshOrElementChanges)
{
  const std::string base = std::string(box_2d) + "set Cell type = simplex\nset Distortion = 0.2\n"
                                                 "set Global refinements = 1\n";
  const std::string fp = test_support::make_space<2>(base)->fingerprint();
  EXPECT_EQ(fp.size(), 16u);
  // Same mesh and element, built again: same fingerprint.
  EXPECT_EQ(test_support::make_space<2>(base)->fingerprint(), fp);
  // Periodicity changes constraints, not the mesh or element.
  EXPECT_EQ(test_support::make_space<2>(base + "set Periodic directions = 0\n")->fingerprint(), fp);
  // Anything that changes the mesh or the element changes it.
  EXPECT_NE(test_support::make_space<2>(base, 2)->fingerprint(), fp);
  EXPECT_NE(test_support::make_space<2>(base + "set Global refinements = 2\n")->fingerprint(), fp);
  EXPECT_NE(test_support::make_space<2>(base + "set Distortion = 0.21\n")->fingerprint(), fp);
  EXPECT_NE(test_support::make_space<2>(base + "set Distortion seed = 2\n")->fingerprint(), fp);
  EXPECT_NE(test_support::make_space<2>(base + "set Cell type = hypercube\n")->fingerprint(), fp);
  EXPECT_NE(test_support::make_space<2>(base + "set Local refinement cycles = 1\n")->fingerprint(), fp);
}


TEST(FunctionSpace, RejectsUnsupportedInput)
{
  const auto builder = test_support::make_mesh_builder<2>(box_2d);
  EXPECT_THROW(FunctionSpace<2>(builder.create(MPI_COMM_SELF), 3), ExcMessage);
  EXPECT_THROW(test_support::make_space<2>("set Distortion = 0.6\n"), std::exception);
  EXPECT_THROW(test_support::make_space<2>("set Periodic directions = 2\n"), ExcMessage);
  EXPECT_THROW(test_support::make_space<2>("set Geometry = gmsh\nsubsection gmsh\n"
                                      "set File name = /nonexistent.msh\nend\n"),
               ExcMessage);
}
