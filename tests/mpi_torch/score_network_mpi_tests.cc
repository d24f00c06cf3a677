// The score network on a distributed mesh (2 ranks) gives the serial output
// and, after summing over ranks, the serial parameter gradients; with the
// scalar and with the Gaussian skip connection.

#include <ddo/base/hashing.h>

#include <gtest/gtest.h>

#include "../network_test_utilities.h"

using namespace ddo;

namespace
{
  void
  check_against_serial(const bool gaussian_skip)
{
  const std::string mesh = "set Geometry = box\nsubsection box\nset Upper corner = 1, 0.7\n"
                           "set Subdivisions = 5, 4\nend\nset Distortion = 0.2\nset Global refinements = 1\n";
  // Serial reference on every rank, and the same mesh distributed.
  test_support::BoundSpace<2> serial(mesh, 10, MPI_COMM_SELF);
  const auto distributed = test_support::make_space<2>(mesh + "set Partitioning = distributed\n");
  ASSERT_TRUE(distributed->is_distributed());

  // The distributed rows are the serial rows of the same support points (so
  // both use exactly the same eigenvectors).
  std::map<std::uint64_t, std::int64_t> serial_row;
  const auto &serial_points = serial.space->locally_owned_support_points();
  for (unsigned int i = 0; i < serial_points.size(); ++i)
    serial_row[hashing::of_point(serial_points[i], 1e-9)] = i;
  std::vector<std::int64_t> rows;
  for (const auto &p : distributed->locally_owned_support_points())
    rows.push_back(serial_row.at(hashing::of_point(p, 1e-9)));
  const torch::Tensor index = torch::tensor(rows);
  auto local = std::make_shared<NetworkGeometry>(serial.geometry->permuted(index));
  local->communicator = MPI_COMM_WORLD;
  EXPECT_GT(Utilities::MPI::min(local->n_local(), MPI_COMM_WORLD), 0);

  torch::manual_seed(1);
  const auto          n     = serial.geometry->n_local();
  const torch::Tensor v     = torch::randn({2, n}, torch::kFloat64);
  const torch::Tensor r     = torch::randn({2, n}, torch::kFloat64);
  const torch::Tensor sigma = torch::tensor({0.4, 1.5}, torch::kFloat64);

  // Per-mode variances for the Gaussian skip (the same on every rank).
  const torch::Tensor lambda = serial.geometry->eigenvalues;
  const torch::Tensor data_variance  = torch::exp(-torch::sqrt(torch::clamp_min(lambda, 0.)) / 5.);
  const torch::Tensor noise_variance = 1. / (1. + lambda.abs());

  auto serial_network = test_support::make_network<2>(9, gaussian_skip);
  serial_network->bind(serial.geometry);
  serial_network->set_mode_variances(lambda, data_variance, noise_variance);
  const torch::Tensor serial_out = serial_network->forward(v, sigma);
  (serial_out * r).sum().backward();

  auto network = test_support::make_network<2>(9, gaussian_skip);
  network->bind(local);
  network->set_mode_variances(lambda, data_variance, noise_variance);
  const torch::Tensor out = network->forward(v.index_select(1, index), sigma);
  (out * r.index_select(1, index)).sum().backward();

  EXPECT_LT((out - serial_out.index_select(1, index)).abs().max().item<double>(), 1e-10);
  const auto serial_parameters = serial_network->named_parameters();
  for (const auto &parameter : network->named_parameters())
    {
      torch::Tensor grad = parameter.value().grad().contiguous().clone();
      const int     ierr = MPI_Allreduce(MPI_IN_PLACE, grad.data_ptr(), grad.numel(), MPI_DOUBLE,
                                     MPI_SUM, MPI_COMM_WORLD);
      ASSERT_EQ(ierr, MPI_SUCCESS);
      const torch::Tensor reference = serial_parameters[parameter.key()].grad();
      EXPECT_LT((grad - reference).abs().max().item<double>(),
                1e-10 * std::max(1., reference.abs().max().item<double>()))
        << parameter.key();
    }
}
} // namespace


TEST(DistributedScoreNetwork, OutputAndGradientsEqualSerial)
{
  check_against_serial(false);
}


TEST(DistributedScoreNetwork, OutputAndGradientsEqualSerialWithTheGaussianSkip)
{
  check_against_serial(true);
}
