// Distributed function spaces on 2 ranks agree with the serial ones.

#include <deal.II/base/function.h>

#include <ddo/function_space/function_space.h>
#include <ddo/lac/spectral_basis.h>

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
  compare_with_serial<3>("hex 3d, periodic", "set Geometry = box\nsubsection box\nset Upper corner = 2, 1, 1\n"
                                             "set Subdivisions = 2, 1, 1\nend\nset Periodic directions = 0, 1, 2\n"
                                             "set Global refinements = 2\n",
                         1);
  // deal.II 9.4 cannot make periodic faces on a fully distributed simplex
  // mesh: a clear error, not a wrong space.
  try
    {
      test_support::make_space<2>("set Geometry = box\nset Cell type = simplex\nset Periodic directions = 0\n"
                                  "set Partitioning = distributed\n");
      ADD_FAILURE() << "a periodic distributed simplex mesh was accepted";
    }
  catch (const std::exception &e)
    {
      EXPECT_NE(std::string(e.what()).find("Periodic boundaries on a distributed simplex mesh are not supported"),
                std::string::npos)
        << e.what();
    }
}


TEST(DistributedSpectralBasis, ParpackAgreesWithTheSerialBasis)
{
  // The same periodic quadrilateral mesh with hanging nodes on 2 ranks
  // (PARPACK shift-invert Lanczos) and serial (dense LAPACK): the same 12
  // smallest eigenvalues, and the distributed eigenvectors orthonormal in M
  // and orthogonal in K.
  const std::string mesh = distributed_cases[0].second;
  const auto        distributed = test_support::make_space<2>(mesh + "set Partitioning = distributed\n");
  const auto        serial      = test_support::make_space<2>(mesh, 1, MPI_COMM_SELF);
  const unsigned int n_modes    = 12;
  const SpectralBasis<2> parallel_basis(*distributed, n_modes);
  const SpectralBasis<2> serial_basis(*serial, n_modes, "", SpectralBasis<2>::Method::dense);
  for (unsigned int k = 0; k < n_modes; ++k)
    EXPECT_NEAR(parallel_basis.eigenvalues()[k], serial_basis.eigenvalues()[k],
                1e-8 * std::max(1., serial_basis.eigenvalues()[k]))
      << "mode " << k;
  // With the unconstrained Gram matrices, phi_i^T M phi_j and phi_i^T K phi_j
  // are the exact L2 and energy products of the FE functions: the basis
  // diagonalizes both (identity and the eigenvalues).
  const auto &phi   = parallel_basis.eigenvectors();
  VectorType  k_phi = distributed->create_vector(), m_phi = distributed->create_vector();
  for (unsigned int j = 0; j < n_modes; ++j)
    {
      distributed->stiffness_matrix().vmult(k_phi, phi[j]);
      distributed->mass_matrix().vmult(m_phi, phi[j]);
      for (unsigned int i = 0; i < n_modes; ++i)
        {
          EXPECT_NEAR(phi[i] * m_phi, i == j ? 1. : 0., 1e-10) << i << ", " << j;
          EXPECT_NEAR(phi[i] * k_phi, i == j ? parallel_basis.eigenvalues()[j] : 0.,
                      1e-8 * std::max(1., parallel_basis.eigenvalues()[j]))
            << i << ", " << j;
        }
    }
}
