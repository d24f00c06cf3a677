// Denoising score matching: the loss is the mesh L2 norm, training makes
// progress, an interrupted run resumes exactly, and bad settings are refused.

#include <gtest/gtest.h>

#include "../trainer_test_utilities.h"

#include <cctype>
#include <filesystem>

using namespace ddo;

TEST(Trainer, LossIsTheMassNormOfTheResidual)
{
  test_support::TinyTrainingProblem problem;
  Trainer<2>                        trainer(*problem.model, *problem.noise, "spectral_operator",
                         test_support::TinyTrainingProblem::settings(""), {}, MPI_COMM_SELF);
  // With sigma -> the score term vanishes relative to xi only if F is
  // bounded; instead check the identity directly: loss(u, sigma, xi) =
  // |sigma F + xi|_M^2 / (B |Omega|), computed here through deal.II.
  const auto    u     = problem.data.slice(0, 0, 2);
  const auto    sigma = torch::tensor({0.3, 2.0}, torch::kFloat64);
  const auto    xi    = problem.data.slice(0, 2, 4);
  const double  loss  = trainer.batch_loss(u, sigma, xi, 2).item<double>();
  const auto    f     = problem.model->forward(u + sigma.unsqueeze(1) * xi, sigma).detach();
  double        expected = 0;
  for (int b = 0; b < 2; ++b)
    {
      VectorType r = problem.space->create_vector();
      torch_bridge::from_tensor((sigma[b] * f[b] + xi[b]).unsqueeze(0), r);
      expected += problem.space->l2_inner_product(r, r);
    }
  expected /= 2 * problem.space->volume();
  EXPECT_NEAR(loss, expected, 1e-12 * expected);
}


TEST(Trainer, InterruptedRunResumesWithIdenticalLosses)
{
  namespace fs = std::filesystem;
  fs::remove_all("trainer_tests");
  std::vector<double> uninterrupted, resumed;
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                       test_support::TinyTrainingProblem::settings("trainer_tests/full"), {}, MPI_COMM_SELF);
    uninterrupted = trainer.train(problem.data, false).losses;
  }
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                       test_support::TinyTrainingProblem::settings("trainer_tests/split"), {}, MPI_COMM_SELF);
    const auto first = trainer.train(problem.data, false, 4);
    EXPECT_EQ(first.last_step, 4u);
    resumed = first.losses;
  }
  {
    // A new process: fresh network (other initial weights), same directory.
    test_support::TinyTrainingProblem problem(/*network_seed=*/17);
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                       test_support::TinyTrainingProblem::settings("trainer_tests/split"), {}, MPI_COMM_SELF);
    const auto second = trainer.train(problem.data, false);
    EXPECT_EQ(second.first_step, 4u);
    resumed.insert(resumed.end(), second.losses.begin(), second.losses.end());
  }
  ASSERT_EQ(resumed.size(), uninterrupted.size());
  for (std::size_t i = 0; i < resumed.size(); ++i)
    EXPECT_EQ(resumed[i], uninterrupted[i]) << "step " << i;
  // The checkpoint holds averaged weights and the training state.
  EXPECT_TRUE(checkpoint_has_ema("trainer_tests/full"));
  const auto metadata = read_checkpoint_metadata("trainer_tests/full");
  EXPECT_EQ(metadata.at("training.step"), "6");

  // Resuming with another noise-level law, or another seed, is refused with
  // the reason (the checkpoint records the law through ddo::ModelRecord).
  for (const std::string change : {"law", "log-normal mean", "seed"})
    {
      test_support::TinyTrainingProblem problem;
      TrainingSettings settings = test_support::TinyTrainingProblem::settings("trainer_tests/full");
      settings.n_steps          = 8;
      if (change == "seed")
        settings.seed += 1;
      else
        settings.sigma_sampling = "log-normal";
      if (change == "log-normal mean")
        {
          // The same law on both sides first, then another mean.
          Trainer<2> same(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
          fs::remove_all("trainer_tests/full");
          same.train(problem.data, false, 2);
          settings.log_normal_mean += 0.5;
        }
      Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
      try
        {
          trainer.train(problem.data, false);
          ADD_FAILURE() << "resuming with another " << change << " was accepted";
        }
      catch (const ExcMessage &e)
        {
          // deal.II wraps the message: compare with single spaces.
          std::string what;
          for (const char c : std::string(e.what()))
            if (!std::isspace(static_cast<unsigned char>(c)))
              what += c;
            else if (!what.empty() && what.back() != ' ')
              what += ' ';
          EXPECT_NE(what.find(change == "seed" ? "trained with seed" : "trained with 'Sigma sampling"),
                    std::string::npos)
            << change << ": " << what;
        }
    }
}


TEST(Trainer, TrainingReducesTheLoss)
{
  test_support::TinyTrainingProblem problem;
  auto                              settings = test_support::TinyTrainingProblem::settings("");
  settings.n_steps                           = 300;
  settings.learning_rate                     = 5e-3;
  settings.batch_size                        = 8;
  settings.schedule                          = "constant";
  Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);

  // A fixed evaluation batch: every data function at 4 noise levels spread
  // over the training range, with fixed noise.
  const int     n_data = problem.data.size(0);
  const auto    u      = problem.data.repeat({4, 1});
  const auto    sigma  = torch::tensor({0.05, 0.3, 1.5, 5.0}, torch::kFloat64).repeat_interleave(n_data);
  std::vector<VectorType> noise(4 * n_data, problem.space->create_vector());
  problem.noise->sample(noise, 1234, 0);
  std::vector<const VectorType *> pointers;
  for (const auto &v : noise)
    pointers.push_back(&v);
  const auto xi     = torch_bridge::to_tensor(pointers, torch::kFloat64);
  const auto before = trainer.batch_loss(u, sigma, xi, 4 * n_data).item<double>();
  trainer.train(problem.data, false);
  const auto after = trainer.batch_loss(u, sigma, xi, 4 * n_data).item<double>();
  EXPECT_LT(after, 0.9 * before) << before << " -> " << after;
}


TEST(Trainer, InvalidSettingsAreRefused)
{
  TrainingSettings s;
  s.sigma_min = 2;
  s.sigma_max = 1;
  EXPECT_THROW(s.check(), ExceptionBase);
  s           = TrainingSettings();
  s.ema_decay = 1.;
  EXPECT_THROW(s.check(), ExceptionBase);
  s          = TrainingSettings();
  s.schedule = "linear";
  EXPECT_THROW(s.check(), ExceptionBase);

  test_support::TinyTrainingProblem problem;
  Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator",
                     test_support::TinyTrainingProblem::settings(""), {}, MPI_COMM_SELF);
  auto bad = problem.data.clone();
  bad[1][3] = std::nan("");
  EXPECT_THROW(trainer.train(bad, false), ExceptionBase);
}


TEST(Trainer, LogNormalNoiseLevelsFollowTheTruncatedLaw)
{
  // ln sigma of 20 000 draws against the mean and standard deviation of the
  // normal law N(-1.2, 1.2^2) truncated to [ln 0.01, ln 1] (moments by
  // quadrature), within 4 standard errors; all draws inside the range.
  test_support::TinyTrainingProblem problem;
  TrainingSettings                  settings = test_support::TinyTrainingProblem::settings("");
  settings.sigma_min                         = 0.01;
  settings.sigma_max                         = 1;
  settings.sigma_sampling                    = "log-normal";
  settings.log_normal_mean                   = -1.2;
  settings.log_normal_deviation              = 1.2;
  const Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);

  const double a = std::log(settings.sigma_min), b = std::log(settings.sigma_max);
  double       weight = 0, first = 0, second = 0;
  for (unsigned int i = 0; i <= 100000; ++i)
    {
      const double x = a + (b - a) * i / 100000., z = (x - settings.log_normal_mean) / 1.2;
      const double w = std::exp(-0.5 * z * z) * ((i == 0 || i == 100000) ? 0.5 : 1.);
      weight += w;
      first += w * x;
      second += w * x * x;
    }
  const double mean = first / weight, deviation = std::sqrt(second / weight - mean * mean);

  const unsigned int n   = 20000;
  double             sum = 0, sum_squares = 0;
  for (unsigned int step = 0; step < n / 16; ++step)
    for (unsigned int item = 0; item < 16; ++item)
      {
        const double sigma = trainer.sigma_of(step, item);
        ASSERT_GE(sigma, settings.sigma_min * (1 - 1e-12));
        ASSERT_LE(sigma, settings.sigma_max * (1 + 1e-12));
        sum += std::log(sigma);
        sum_squares += std::log(sigma) * std::log(sigma);
      }
  const double sample_mean = sum / n, sample_deviation = std::sqrt(sum_squares / n - sample_mean * sample_mean);
  EXPECT_NEAR(sample_mean, mean, 4 * deviation / std::sqrt(n));
  // The standard error of a sample standard deviation is about sigma / sqrt(2n).
  EXPECT_NEAR(sample_deviation, deviation, 4 * deviation / std::sqrt(2. * n));
  // The truncation matters here: the untruncated law would have mean -1.2.
  EXPECT_GT(std::abs(mean + 1.2), 0.1);
  EXPECT_GT(std::abs(sample_mean + 1.2), 0.1);

  settings.log_normal_deviation = 0;
  EXPECT_THROW(settings.check(), ExceptionBase);
}
