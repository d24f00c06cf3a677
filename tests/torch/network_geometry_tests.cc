// NetworkGeometry: the blended-mass correction of the P1 eigenvalues on
// distorted periodic meshes of the unit torus, against 4 pi^2 |k|^2.

#include <gtest/gtest.h>

#include <algorithm>

#include "../network_test_utilities.h"

using namespace ddo;

namespace
{
  /** The first @p n eigenvalues of -Laplace on the unit torus, increasing. */
  std::vector<double>
  torus_eigenvalues(const unsigned int n)
  {
    std::vector<double> values;
    for (int a = -10; a <= 10; ++a)
      for (int b = -10; b <= 10; ++b)
        values.push_back(4. * M_PI * M_PI * (a * a + b * b));
    std::sort(values.begin(), values.end());
    values.resize(n);
    return values;
  }

  /** Largest and root-mean-square relative error of @p computed (k >= 1)
   * against the torus. */
  std::pair<double, double>
  relative_errors(const torch::Tensor &computed)
  {
    const auto exact   = torus_eigenvalues(computed.numel());
    double     largest = 0, sum_of_squares = 0;
    for (unsigned int k = 1; k < exact.size(); ++k)
      {
        const double e = std::abs(computed[k].item<double>() - exact[k]) / exact[k];
        largest        = std::max(largest, e);
        sum_of_squares += e * e;
      }
    return {largest, std::sqrt(sum_of_squares / (exact.size() - 1))};
  }
} // namespace


TEST(NetworkGeometry, BlendedMassEigenvaluesAreCloserToTheContinuumOnDistortedTori)
{
  // 49 modes: the shells |k|^2 <= 16, complete.
  const unsigned int n_modes = 49;
  for (const std::string cells : {"simplex", "hypercube"})
    {
      std::vector<std::pair<double, double>> consistent, blended;
      for (const unsigned int refinements : {2u, 3u})
        {
          const test_support::BoundSpace<2> bound(
            "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n"
            "set Periodic directions = 0, 1\nset Distortion = 0.3\nset Cell type = " +
              cells + "\nset Global refinements = " + std::to_string(refinements) + "\n",
            n_modes);
          consistent.push_back(relative_errors(bound.geometry->eigenvalues));
          blended.push_back(relative_errors(bound.geometry->blended_mass_eigenvalues()));
          std::cout << cells << ", " << refinements << " refinements: relative error largest / rms "
                    << consistent.back().first << " / " << consistent.back().second
                    << " (consistent mass), " << blended.back().first << " / "
                    << blended.back().second << " (blended mass)" << std::endl;
        }
      for (unsigned int r = 0; r < 2; ++r)
        {
          // The blend cancels the error common to the modes of a shell; the
          // splitting of a shell by the distortion stays (also O(h^2)).
          EXPECT_LT(blended[r].first, 0.5 * consistent[r].first) << cells << r;
          EXPECT_LT(blended[r].second, 0.5 * consistent[r].second) << cells << r;
        }
      // Both O(h^2): about 4x smaller per refinement.
      EXPECT_GT(consistent[0].second / consistent[1].second, 3.) << cells;
      EXPECT_GT(blended[0].second / blended[1].second, 3.) << cells;
    }
}
