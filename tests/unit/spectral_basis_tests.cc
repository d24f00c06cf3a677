// The generalized eigenbasis K phi = lambda M phi: Laplacian eigenvalues of
// the square and cube, M-orthonormality, dense vs ARPACK, constraints, cache.

#include <ddo/lac/spectral_basis.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::string unit_square = "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n";

  template <int dim>
  void
  expect_orthonormal(const SpectralBasis<dim> &basis)
  {
    const auto &phi = basis.eigenvectors();
    for (unsigned int j = 0; j < phi.size(); ++j)
      for (unsigned int k = 0; k <= j; ++k)
        EXPECT_NEAR(basis.get_space().l2_inner_product(phi[j], phi[k]), j == k ? 1. : 0., 1e-9)
          << j << ' ' << k;
  }
} // namespace


TEST(SpectralBasis, NeumannSquareEigenvaluesConvergeToPiSquaredSums)
{
  // Exact: pi^2 (m^2 + n^2) = 0, pi^2, pi^2, 2 pi^2, 4 pi^2, 4 pi^2, 5 pi^2, 5 pi^2
  const double exact[] = {0, 1, 1, 2, 4, 4, 5, 5};
  for (const std::string cells : {"hypercube", "simplex"})
    {
      const auto space = test_support::make_space<2>(unit_square + "set Cell type = " + cells +
                                                       "\nset Global refinements = 3\nset Distortion = 0.2\n",
                                                     2);
      const SpectralBasis<2> basis(*space, 8);
      ASSERT_EQ(basis.n_modes(), 8u);
      EXPECT_NEAR(basis.eigenvalues()[0], 0., 1e-8);
      for (unsigned int k = 1; k < 8; ++k)
        EXPECT_NEAR(basis.eigenvalues()[k] / (M_PI * M_PI), exact[k], 2e-3 * exact[k]) << cells << k;
      expect_orthonormal(basis);
    }
}


TEST(SpectralBasis, DenseAndArpackAgree)
{
  const auto space = test_support::make_space<2>(unit_square + "set Cell type = simplex\n"
                                                               "set Global refinements = 2\n");
  const SpectralBasis<2> dense(*space, 12, "", SpectralBasis<2>::Method::dense);
  const SpectralBasis<2> arpack(*space, 12, "", SpectralBasis<2>::Method::arpack);
  for (unsigned int k = 0; k < 12; ++k)
    EXPECT_NEAR(dense.eigenvalues()[k], arpack.eigenvalues()[k], 1e-8 * (1. + dense.eigenvalues()[k]));
  expect_orthonormal(arpack);
  // Same eigenspaces: the projection of arpack's non-degenerate modes onto
  // dense's has norm 1 (modes 0 and 3 of the unit square are simple).
  for (const unsigned int k : {0u, 3u})
    EXPECT_NEAR(std::abs(space->l2_inner_product(dense.eigenvectors()[k], arpack.eigenvectors()[k])), 1., 1e-8);
}


TEST(SpectralBasis, PeriodicAndHangingNodeConstraintsAreRespected)
{
  // Periodic unit square: (2 pi)^2 (m^2 + n^2): 0, then 4 pi^2 four times.
  const auto periodic = test_support::make_space<2>(unit_square + "set Periodic directions = 0, 1\n"
                                                                  "set Global refinements = 3\n", 2);
  const SpectralBasis<2> basis(*periodic, 5, "", SpectralBasis<2>::Method::arpack);
  EXPECT_NEAR(basis.eigenvalues()[0], 0., 1e-8);
  for (unsigned int k = 1; k < 5; ++k)
    EXPECT_NEAR(basis.eigenvalues()[k] / (4 * M_PI * M_PI), 1., 2e-3);

  const auto hanging = test_support::make_space<2>(unit_square + "set Global refinements = 2\n"
                                                                 "set Local refinement cycles = 1\n");
  ASSERT_GT(hanging->get_constraints().n_constraints(), 0u);
  for (const auto method : {SpectralBasis<2>::Method::dense, SpectralBasis<2>::Method::arpack})
    {
      const SpectralBasis<2> b(*hanging, 4, "", method);
      EXPECT_NEAR(b.eigenvalues()[1] / (M_PI * M_PI), 1., 1e-2);
      for (const auto &phi : b.eigenvectors())
        {
          VectorType constrained = phi;
          hanging->get_constraints().distribute(constrained);
          constrained -= phi;
          EXPECT_LT(constrained.linfty_norm(), 1e-12);
        }
      expect_orthonormal(b);
    }
}


TEST(SpectralBasis, ThreeDimensionalSimplexCube)
{
  const auto space = test_support::make_space<3>("set Cell type = simplex\nset Global refinements = 1\n"
                                                 "subsection box\nset Subdivisions = 3\nend\n", 2);
  const SpectralBasis<3> basis(*space, 4);
  EXPECT_NEAR(basis.eigenvalues()[0], 0., 1e-8);
  for (unsigned int k = 1; k < 4; ++k)
    EXPECT_NEAR(basis.eigenvalues()[k] / (M_PI * M_PI), 1., 2e-2);
}


TEST(SpectralBasis, ProjectExpandRoundTrip)
{
  const auto space = test_support::make_space<2>(unit_square + "set Global refinements = 1\n");
  const SpectralBasis<2> basis(*space, 10);
  Vector<double>         c(10);
  for (unsigned int k = 0; k < 10; ++k)
    c[k] = std::cos(1. + k);
  VectorType v;
  basis.expand(c, v);
  const Vector<double> back = basis.project(v);
  for (unsigned int k = 0; k < 10; ++k)
    EXPECT_NEAR(back[k], c[k], 1e-10);
}


TEST(SpectralBasis, CacheIsReusedAndCorruptFilesAreRecomputed)
{
  const std::string directory = "spectral_cache_test";
  std::filesystem::remove_all(directory);
  const auto space = test_support::make_space<2>(unit_square + "set Global refinements = 1\n"
                                                               "set Cell type = simplex\n");
  const SpectralBasis<2> first(*space, 6, directory);
  EXPECT_FALSE(first.loaded_from_cache());
  const SpectralBasis<2> second(*space, 6, directory);
  EXPECT_TRUE(second.loaded_from_cache());
  for (unsigned int k = 0; k < 6; ++k)
    {
      EXPECT_EQ(first.eigenvalues()[k], second.eigenvalues()[k]);
      VectorType d = first.eigenvectors()[k];
      d -= second.eigenvectors()[k];
      EXPECT_EQ(d.linfty_norm(), 0.);
    }
  // Another number of modes or another mesh: a different cache entry.
  EXPECT_FALSE(SpectralBasis<2>(*space, 5, directory).loaded_from_cache());

  // Flip one byte in the middle: detected, recomputed, replaced.
  for (const auto &entry : std::filesystem::directory_iterator(directory))
    if (entry.path().string().find("_6.bin") != std::string::npos)
      {
        std::fstream file(entry.path(), std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(200);
        file.put('\x7f');
      }
  const SpectralBasis<2> third(*space, 6, directory);
  EXPECT_FALSE(third.loaded_from_cache());
  EXPECT_NEAR(third.eigenvalues()[3], first.eigenvalues()[3], 1e-10 * first.eigenvalues()[3]);
  EXPECT_TRUE(SpectralBasis<2>(*space, 6, directory).loaded_from_cache());
  std::filesystem::remove_all(directory);
}


TEST(SpectralBasis, TooManyModesIsAnError)
{
  const auto space = test_support::make_space<2>(unit_square);
  EXPECT_THROW(SpectralBasis<2>(*space, 25), ExcMessage); // 25 DoFs
  EXPECT_THROW(SpectralBasis<2>(*space, 0), ExcMessage);
}
