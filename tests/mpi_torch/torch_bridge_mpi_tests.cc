// The torch bridge on a distributed function space (2 ranks): the round trip
// is exact on the locally owned part.

#include <ddo/function_space/function_space.h>
#include <ddo/torch/torch_bridge.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::string simplex_2d = "set Geometry = box\nsubsection box\nset Subdivisions = 3, 2\nset Upper corner = 2, 1\nend\n"
                                 "set Cell type = simplex\nset Distortion = 0.2\nset Global refinements = 2\n";
} // namespace


TEST(DistributedFunctionSpace, TorchRoundTripOfLocallyOwnedPartIsExact)
{
  const auto space = test_support::make_space<2>(simplex_2d + "set Partitioning = distributed\n");
  std::vector<VectorType> vectors(2, space->create_vector());
  const auto &            owned = space->locally_owned_dofs();
  for (unsigned int b = 0; b < 2; ++b)
    {
      for (unsigned int i = 0; i < owned.n_elements(); ++i)
        vectors[b][owned.nth_index_in_set(i)] = std::sin(1. + owned.nth_index_in_set(i) * (b + 1));
      vectors[b].compress(VectorOperation::insert);
    }
  const torch::Tensor t =
    torch_bridge::to_tensor(std::vector<const VectorType *>{&vectors[0], &vectors[1]}, torch::kFloat64);
  ASSERT_EQ(t.size(1), static_cast<std::int64_t>(owned.n_elements()));
  EXPECT_EQ(Utilities::MPI::sum(static_cast<unsigned long long>(t.size(1)), MPI_COMM_WORLD),
            space->n_dofs());

  std::vector<VectorType> back(2, space->create_vector());
  torch_bridge::from_tensor(t, std::vector<VectorType *>{&back[0], &back[1]});
  for (unsigned int b = 0; b < 2; ++b)
    {
      back[b] -= vectors[b];
      EXPECT_EQ(back[b].linfty_norm(), 0.); // global: all ranks agree
    }
}
