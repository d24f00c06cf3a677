// Data-parallel training: two ranks, each with half of every batch, give the
// same losses and the same trained weights as one rank with the whole batch
// (float64, up to rounding).

#include <gtest/gtest.h>

#include "../trainer_test_utilities.h"

using namespace ddo;

TEST(TrainerMPI, DataParallelEqualsSerial)
{
  ASSERT_EQ(Utilities::MPI::n_mpi_processes(MPI_COMM_WORLD), 2u);
  std::vector<double>        serial, parallel;
  std::vector<torch::Tensor> serial_weights;
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                       test_support::TinyTrainingProblem::settings(""), {}, MPI_COMM_SELF);
    serial = trainer.train(problem.data, false).losses;
    for (const auto &p : problem.model->network().parameters())
      serial_weights.push_back(p.detach().clone());
  }
  test_support::TinyTrainingProblem problem;
  Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                     test_support::TinyTrainingProblem::settings(""), {}, MPI_COMM_WORLD);
  parallel = trainer.train(problem.data, false).losses;
  ASSERT_EQ(serial.size(), parallel.size());
  for (std::size_t i = 0; i < serial.size(); ++i)
    EXPECT_NEAR(parallel[i], serial[i], 1e-10 * std::abs(serial[i])) << "step " << i;
  // The trained weights equal the serial run's, tensor by tensor, on both
  // ranks.
  const auto parameters = problem.model->network().parameters();
  ASSERT_EQ(parameters.size(), serial_weights.size());
  double sum = 0;
  for (std::size_t k = 0; k < parameters.size(); ++k)
    {
      const double scale = serial_weights[k].abs().max().item<double>();
      EXPECT_LE((parameters[k].detach() - serial_weights[k]).abs().max().item<double>(),
                1e-10 * std::max(scale, 1.))
        << "parameter tensor " << k;
      sum += parameters[k].sum().item<double>();
    }
  EXPECT_NEAR(Utilities::MPI::max(sum, MPI_COMM_WORLD), Utilities::MPI::min(sum, MPI_COMM_WORLD), 1e-12);
}
