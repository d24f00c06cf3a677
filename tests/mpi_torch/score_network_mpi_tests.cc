// The score network on a distributed mesh (2 ranks) gives the serial output
// and, after summing over ranks, the serial parameter gradients; with the
// scalar and with the Gaussian skip connection; and with the geometry built
// on the distributed mesh itself, from its PARPACK eigenbasis.

#include <ddo/base/hashing.h>

#include <gtest/gtest.h>

#include "../network_test_utilities.h"

using namespace ddo;

namespace
{
  const std::string box_mesh = "set Geometry = box\nsubsection box\nset Upper corner = 1, 0.7\n"
                               "set Subdivisions = 5, 4\nend\nset Distortion = 0.2\nset Global refinements = 1\n";

  /** For each locally owned support point of @p distributed, its row in @p serial. */
  template <int dim>
  torch::Tensor
  serial_rows_of(const FunctionSpace<dim> &serial, const FunctionSpace<dim> &distributed)
  {
    std::map<std::uint64_t, std::int64_t> serial_row;
    const auto &serial_points = serial.locally_owned_support_points();
    for (unsigned int i = 0; i < serial_points.size(); ++i)
      serial_row[hashing::of_point(serial_points[i], 1e-9)] = i;
    std::vector<std::int64_t> rows;
    for (const auto &p : distributed.locally_owned_support_points())
      rows.push_back(serial_row.at(hashing::of_point(p, 1e-9)));
    return torch::tensor(rows);
  }


  void
  check_against_serial(const bool gaussian_skip)
{
  // Serial reference on every rank, and the same mesh distributed.
  test_support::BoundSpace<2> serial(box_mesh, 10, MPI_COMM_SELF);
  const auto distributed = test_support::make_space<2>(box_mesh + "set Partitioning = distributed\n");
  ASSERT_TRUE(distributed->is_distributed());

  // The distributed rows are the serial rows of the same support points (so
  // both use exactly the same eigenvectors).
  const torch::Tensor index = serial_rows_of(*serial.space, *distributed);
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


// The geometry made by make_network_geometry() on the distributed mesh, with
// the eigenbasis that PARPACK computes there, against the serial geometry and
// its dense eigenbasis: the same eigenvalues, quadrature weights and volume,
// the same modes up to sign, and a network bound to it gives the serial
// output and (summed over ranks) the serial gradients. The network sees the
// modes only through Phi g(lambda) Phi^T M, which does not depend on their
// signs; the tolerances are those of the eigensolvers.
TEST(DistributedScoreNetwork, TheGeometryOfADistributedMeshAndItsEigenbasisGiveTheSerialNetwork)
{
  const unsigned int          K = 10;
  test_support::BoundSpace<2> serial(box_mesh, K, MPI_COMM_SELF);
  test_support::BoundSpace<2> distributed(box_mesh + "set Partitioning = distributed\n", K, MPI_COMM_WORLD);
  ASSERT_TRUE(distributed.space->is_distributed());
  ASSERT_EQ(Utilities::MPI::n_mpi_processes(MPI_COMM_WORLD), 2u);
  const auto &geometry = *distributed.geometry;
  EXPECT_EQ(geometry.communicator, MPI_COMM_WORLD);
  EXPECT_GT(Utilities::MPI::min(geometry.n_local(), MPI_COMM_WORLD), 0);
  EXPECT_EQ(Utilities::MPI::sum(geometry.n_local(), MPI_COMM_WORLD), serial.geometry->n_local());
  const torch::Tensor index = serial_rows_of(*serial.space, *distributed.space);

  // Eigenvalues (relative 1e-8), weights (exact up to round-off), volume.
  const double lambda_error =
    ((geometry.eigenvalues - serial.geometry->eigenvalues).abs() /
     serial.geometry->eigenvalues.abs().clamp_min(1.))
      .max()
      .item<double>();
  EXPECT_LT(lambda_error, 1e-10); // measured 1.5e-15
  EXPECT_LT((geometry.weights - serial.geometry->weights.index_select(0, index)).abs().max().item<double>(),
            1e-14);
  EXPECT_NEAR(geometry.volume, serial.geometry->volume, 1e-12);
  EXPECT_NEAR(geometry.integrate(torch::ones({1, geometry.n_local(), 1}, torch::kFloat64)).item<double>(),
              serial.geometry->volume, 1e-12);

  // Modes up to sign: the sign of each column from its largest entry overall.
  const torch::Tensor serial_modes = serial.geometry->modes.index_select(0, index);
  const torch::Tensor dot          = all_reduce_sum((geometry.modes * serial_modes).sum(0), MPI_COMM_WORLD);
  const torch::Tensor signs        = torch::sign(dot);
  EXPECT_LT((geometry.modes * signs - serial_modes).abs().max().item<double>(), 1e-9); // 9e-13
  EXPECT_LT((geometry.mass_modes * signs - serial.geometry->mass_modes.index_select(0, index))
              .abs()
              .max()
              .item<double>(),
            1e-9);

  // The network: output and gradients.
  torch::manual_seed(2);
  const auto          n     = serial.geometry->n_local();
  const torch::Tensor v     = torch::randn({3, n}, torch::kFloat64);
  const torch::Tensor r     = torch::randn({3, n}, torch::kFloat64);
  const torch::Tensor sigma = torch::tensor({0.05, 0.7, 4.}, torch::kFloat64);

  auto serial_network = test_support::make_network<2>(5);
  serial_network->bind(serial.geometry);
  const torch::Tensor serial_out = serial_network->forward(v, sigma);
  (serial_out * r).sum().backward();

  auto network = test_support::make_network<2>(5);
  network->bind(distributed.geometry);
  const torch::Tensor out = network->forward(v.index_select(1, index), sigma);
  (out * r.index_select(1, index)).sum().backward();

  const double scale = serial_out.abs().max().item<double>();
  EXPECT_LT((out - serial_out.index_select(1, index)).abs().max().item<double>(), 1e-9 * scale); // 8e-15
  const auto serial_parameters = serial_network->named_parameters();
  for (const auto &parameter : network->named_parameters())
    {
      const torch::Tensor grad      = all_reduce_sum(parameter.value().grad().contiguous(), MPI_COMM_WORLD);
      const torch::Tensor reference = serial_parameters[parameter.key()].grad();
      EXPECT_LT((grad - reference).abs().max().item<double>(),
                1e-9 * std::max(1., reference.abs().max().item<double>()))
        << parameter.key();
    }
}
