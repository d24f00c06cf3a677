// Distributed function spaces on 2 ranks agree with the serial ones.

#include <deal.II/base/function.h>

#include <ddo/function_space/function_space.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::vector<std::pair<std::string, std::string>> distributed_cases = {
    {"hex 2d, hanging nodes, periodic",
     "set Geometry = box\nsubsection box\nset Subdivisions = 3, 2\nset Upper corner = 2, 1\nend\n"
     "set Distortion = 0.2\nset Periodic directions = 0, 1\nset Global refinements = 2\n"
     "set Local refinement cycles = 1\nset Local refinement radius = 0.4\n"},
    {"simplex 2d", "set Geometry = box\nsubsection box\nset Subdivisions = 3, 2\nset Upper corner = 2, 1\nend\n"
                   "set Cell type = simplex\nset Distortion = 0.2\nset Global refinements = 2\n"},
  };

  template <int dim>
  void
  compare_with_serial(const std::string &name, const std::string &prm, const unsigned int degree)
  {
    SCOPED_TRACE(name + ", degree " + std::to_string(degree));
    const auto distributed = test_support::make_space<dim>(prm + "set Partitioning = distributed\n", degree);
    const auto serial      = test_support::make_space<dim>(prm, degree, MPI_COMM_SELF);
    ASSERT_TRUE(distributed->is_distributed());
    ASSERT_FALSE(serial->is_distributed());
    // Both ranks own something: the test really is parallel.
    EXPECT_GT(Utilities::MPI::min(distributed->locally_owned_dofs().n_elements(), MPI_COMM_WORLD), 0u);

    EXPECT_EQ(distributed->n_dofs(), serial->n_dofs());
    EXPECT_EQ(distributed->fingerprint(), serial->fingerprint());
    EXPECT_NEAR(distributed->volume(), 2., 1e-12);

    // The same smooth function, periodic on [0,2]x[0,1]^(d-1): same integral
    // and norms (a non-periodic one would depend on which side is master).
    const ScalarFunctionFromFunctionObject<dim> cosine([](const Point<dim> &p) {
      double value = std::cos(M_PI * p[0]) + 0.3 * p[0] * (2. - p[0]);
      for (unsigned int d = 1; d < dim; ++d)
        value *= std::cos(2. * M_PI * p[d]);
      return value;
    });
    const VectorType u_d = distributed->interpolate(cosine);
    const VectorType u_s = serial->interpolate(cosine);
    EXPECT_NEAR(distributed->l2_inner_product(u_d, u_d), serial->l2_inner_product(u_s, u_s), 1e-12);
    EXPECT_NEAR(distributed->integral(u_d), serial->integral(u_s), 1e-12);
    EXPECT_NEAR(distributed->stiffness_matrix().matrix_scalar_product(u_d, u_d),
                serial->stiffness_matrix().matrix_scalar_product(u_s, u_s), 1e-10);
  }
} // namespace


TEST(DistributedFunctionSpace, AgreesWithSerial)
{
  for (const auto &c : distributed_cases)
    for (const unsigned int degree : {1u, 2u})
      compare_with_serial<2>(c.first, c.second, degree);
  compare_with_serial<3>("simplex 3d", "set Geometry = box\nsubsection box\nset Upper corner = 2, 1, 1\n"
                                       "set Subdivisions = 2, 1, 1\nend\nset Cell type = simplex\n",
                         1);
  compare_with_serial<3>("hex 3d", "set Geometry = box\nsubsection box\nset Upper corner = 2, 1, 1\n"
                                   "set Subdivisions = 2, 1, 1\nend\nset Global refinements = 2\n",
                         2);
}
