// FE vectors <-> torch tensors: exact round trips, aliasing, batches, errors.

#include <ddo/function_space/function_space.h>
#include <ddo/torch/torch_bridge.h>

#include <gtest/gtest.h>

#include <random>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  std::vector<VectorType>
  random_vectors(const FunctionSpace<2> &space, const unsigned int n)
  {
    std::vector<VectorType> vectors(n, space.create_vector());
    std::mt19937_64         rng(42);
    std::normal_distribution<double> normal;
    for (auto &v : vectors)
      for (auto &entry : v)
        entry = normal(rng);
    return vectors;
  }
} // namespace


TEST(TorchBridge, SerialVectorRoundTripIsExactInDouble)
{
  Vector<double> v(17), w(17);
  for (unsigned int i = 0; i < v.size(); ++i)
    v(i) = std::sin(1. + i) * 1e3;
  const torch::Tensor t = torch_bridge::to_tensor(v, torch::kFloat64);
  ASSERT_EQ(t.dim(), 2);
  EXPECT_EQ(t.size(0), 1);
  EXPECT_EQ(t.size(1), 17);
  torch_bridge::from_tensor(t, w);
  for (unsigned int i = 0; i < v.size(); ++i)
    EXPECT_EQ(v(i), w(i));
}


TEST(TorchBridge, Float32RoundTripEqualsRoundingToFloat)
{
  Vector<double> v(9), w(9);
  for (unsigned int i = 0; i < v.size(); ++i)
    v(i) = 1. / (3. + i);
  const torch::Tensor t = torch_bridge::to_tensor(v, torch::kFloat32);
  EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  torch_bridge::from_tensor(t, w);
  for (unsigned int i = 0; i < v.size(); ++i)
    EXPECT_EQ(w(i), static_cast<double>(static_cast<float>(v(i))));
}


TEST(TorchBridge, TrilinosBatchRoundTripIsExact)
{
  const auto space = test_support::make_space<2>("set Cell type = simplex\nset Global refinements = 2\n");
  const auto vectors = random_vectors(*space, 3);
  std::vector<const VectorType *> inputs;
  for (const auto &v : vectors)
    inputs.push_back(&v);
  const torch::Tensor batch = torch_bridge::to_tensor(inputs, torch::kFloat64);
  ASSERT_EQ(batch.size(0), 3);
  ASSERT_EQ(batch.size(1), static_cast<std::int64_t>(space->locally_owned_dofs().n_elements()));
  // Row b, column i holds the i-th locally owned entry of vector b.
  const auto accessor = batch.accessor<double, 2>();
  for (unsigned int b = 0; b < 3; ++b)
    for (unsigned int i = 0; i < vectors[b].locally_owned_size(); ++i)
      ASSERT_EQ(accessor[b][i], vectors[b][space->locally_owned_dofs().nth_index_in_set(i)]);

  std::vector<VectorType>   outputs(3, space->create_vector());
  std::vector<VectorType *> targets;
  for (auto &v : outputs)
    targets.push_back(&v);
  torch_bridge::from_tensor(batch * 2., targets);
  for (unsigned int b = 0; b < 3; ++b)
    {
      VectorType difference = outputs[b];
      difference.add(-2., vectors[b]);
      EXPECT_EQ(difference.linfty_norm(), 0.);
    }
}


TEST(TorchBridge, ViewAliasesTheVectorStorage)
{
  const auto space = test_support::make_space<2>("set Global refinements = 1\n");
  VectorType v     = space->create_vector();
  torch::Tensor alias = torch_bridge::view(v);
  alias.fill_(3.5);
  EXPECT_EQ(v.linfty_norm(), 3.5);
  EXPECT_EQ(v.l1_norm(), 3.5 * v.size());
  v = 1.;
  EXPECT_EQ(alias.sum().item<double>(), static_cast<double>(v.size()));
}


TEST(TorchBridge, ShapeMismatchesAreErrors)
{
  Vector<double> a(4), b(5);
  EXPECT_THROW(torch_bridge::to_tensor(std::vector<const Vector<double> *>{&a, &b}), ExcMessage);
  EXPECT_THROW(torch_bridge::from_tensor(torch::zeros({1, 3}), a), ExcMessage);
  EXPECT_THROW(torch_bridge::from_tensor(torch::zeros({2, 4}), std::vector<Vector<double> *>{&a}),
               ExcMessage);
  EXPECT_THROW(torch_bridge::to_tensor(std::vector<const Vector<double> *>{}), ExcMessage);

  const auto space   = test_support::make_space<2>("set Global refinements = 1\n");
  VectorType ghosted = space->create_ghosted_vector();
  EXPECT_THROW(torch_bridge::from_tensor(torch::zeros({1, 4}), ghosted), ExcMessage);
}
