// Denoising score matching: the loss is the mesh L2 norm, training makes
// progress, an interrupted run resumes exactly, and bad settings are refused.

#include <gtest/gtest.h>

#include "../trainer_test_utilities.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

using namespace ddo;

namespace
{
  /** The parameters stored in @p file of the checkpoint at @p path (a network of the tiny problem's architecture). */
  std::vector<torch::Tensor>
  checkpoint_parameters(const std::string &path, const std::string &file)
  {
    auto network = test_support::make_network<2>(/*seed=*/99);
    load_checkpoint_weights(path, file, *network);
    std::vector<torch::Tensor> parameters;
    for (const auto &p : network->parameters())
      parameters.push_back(p.detach().clone());
    return parameters;
  }

  void
  expect_equal_parameters(const std::vector<torch::Tensor> &a,
                          const std::vector<torch::Tensor> &b,
                          const std::string &               label)
  {
    ASSERT_EQ(a.size(), b.size()) << label;
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_TRUE(torch::equal(a[i], b[i])) << label << ", parameter " << i;
  }

  /** Trains the tiny problem with @p settings; returns its initial and final parameters. */
  std::pair<std::vector<torch::Tensor>, std::vector<torch::Tensor>>
  train_tiny(const TrainingSettings &settings)
  {
    test_support::TinyTrainingProblem problem;
    std::vector<torch::Tensor>        initial, final;
    for (const auto &p : problem.model->network().parameters())
      initial.push_back(p.detach().clone());
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    trainer.train(problem.data, false);
    for (const auto &p : problem.model->network().parameters())
      final.push_back(p.detach().clone());
    return {initial, final};
  }
} // namespace


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
  // The checkpoint holds averaged weights and the training state; the
  // resumed run ends with the uninterrupted run's weights and moving
  // average, exactly.
  EXPECT_TRUE(checkpoint_has_ema("trainer_tests/full"));
  const auto metadata = read_checkpoint_metadata("trainer_tests/full");
  EXPECT_EQ(metadata.at("training.step"), "6");
  for (const std::string file : {"weights.pt", "ema.pt"})
    expect_equal_parameters(checkpoint_parameters("trainer_tests/full", file),
                            checkpoint_parameters("trainer_tests/split", file), file);

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


TEST(Trainer, AKilledCheckpointWriteIsCompletedOnTheNextRun)
{
  // save_checkpoint() writes path.tmp, moves path to path.old, then path.tmp
  // to path. Killed between the two moves, it leaves no path: the next run
  // must find the complete new checkpoint, not start over (and then delete
  // it). A partial path.tmp beside an intact path is ignored.
  namespace fs = std::filesystem;
  fs::remove_all("trainer_tests_crash");
  fs::create_directories("trainer_tests_crash");
  TrainingSettings settings = test_support::TinyTrainingProblem::settings("trainer_tests_crash/complete");
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    trainer.train(problem.data, false, 4);
  }
  fs::copy("trainer_tests_crash/complete", "trainer_tests_crash/killed.old");
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    trainer.train(problem.data, false);
  }
  fs::copy("trainer_tests_crash/complete", "trainer_tests_crash/killed.tmp");
  // The state a kill between the moves leaves: old = step 4, tmp = step 6.
  settings.checkpoint_directory = "trainer_tests_crash/killed";
  ASSERT_FALSE(fs::exists(settings.checkpoint_directory));
  {
    test_support::TinyTrainingProblem problem;
    Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    const auto report = trainer.train(problem.data, false);
    EXPECT_EQ(report.first_step, 6u) << "the complete checkpoint in .tmp was not used";
    EXPECT_TRUE(report.losses.empty());
  }
  EXPECT_FALSE(fs::exists("trainer_tests_crash/killed.old"));
  EXPECT_FALSE(fs::exists("trainer_tests_crash/killed.tmp"));
  expect_equal_parameters(checkpoint_parameters("trainer_tests_crash/complete", "ema.pt"),
                          checkpoint_parameters("trainer_tests_crash/killed", "ema.pt"), "ema.pt");

  // A write killed while filling path.tmp: path is intact and wins.
  fs::create_directories("trainer_tests_crash/killed.tmp");
  std::ofstream("trainer_tests_crash/killed.tmp/metadata.json") << "{ \"format\": ";
  EXPECT_FALSE(recover_interrupted_checkpoint("trainer_tests_crash/killed"));
  EXPECT_EQ(read_checkpoint_metadata("trainer_tests_crash/killed").at("training.step"), "6");
}


TEST(Trainer, LearningRateWarmsUpLinearlyThenFollowsTheCosine)
{
  // Exact values of the schedule: linear warm-up to the rate, a cosine from
  // the rate at the end of the warm-up to 1/20 of it at the last step.
  test_support::TinyTrainingProblem problem;
  TrainingSettings                  settings = test_support::TinyTrainingProblem::settings("");
  settings.n_steps                           = 110;
  settings.warmup_steps                      = 10;
  settings.learning_rate                     = 2e-3;
  const Trainer<2> cosine(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
  const double     rate = settings.learning_rate, floor = rate / 20;
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(0), rate / 10);
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(4), rate / 2);
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(9), rate);
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(10), rate);
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(60), 0.5 * (rate + floor));
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(35), floor + (rate - floor) * 0.5 * (1 + std::cos(M_PI / 4)));
  EXPECT_DOUBLE_EQ(cosine.learning_rate_at(110), floor);
  for (unsigned int step = 11; step < 110; ++step)
    EXPECT_LT(cosine.learning_rate_at(step), cosine.learning_rate_at(step - 1)) << step;

  settings.schedule = "constant";
  const Trainer<2> constant(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
  EXPECT_DOUBLE_EQ(constant.learning_rate_at(4), rate / 2);
  EXPECT_DOUBLE_EQ(constant.learning_rate_at(10), rate);
  EXPECT_DOUBLE_EQ(constant.learning_rate_at(109), rate);
}


TEST(Trainer, LogUniformAndGeometricNoiseLevelsFollowTheirLaws)
{
  // log-uniform: ln sigma uniform on [ln sigma_min, ln sigma_max], its mean
  // and standard deviation within 4 standard errors. geometric levels: only
  // the L levels sigma_max (sigma_min/sigma_max)^(l/(L-1)), each drawn with
  // frequency 1/L (chi-square over L - 1 degrees of freedom).
  test_support::TinyTrainingProblem problem;
  TrainingSettings                  settings = test_support::TinyTrainingProblem::settings("");
  settings.sigma_min                         = 0.01;
  settings.sigma_max                         = 10;
  const unsigned int n = 20000, batch = 16;
  {
    settings.sigma_sampling = "log-uniform";
    const Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    const double a = std::log(settings.sigma_min), b = std::log(settings.sigma_max);
    const double mean = (a + b) / 2, deviation = (b - a) / std::sqrt(12.);
    double       sum = 0, sum_squares = 0;
    for (unsigned int step = 0; step < n / batch; ++step)
      for (unsigned int item = 0; item < batch; ++item)
        {
          const double x = std::log(trainer.sigma_of(step, item));
          ASSERT_GE(x, a - 1e-12);
          ASSERT_LE(x, b + 1e-12);
          sum += x;
          sum_squares += x * x;
        }
    const double sample_mean = sum / n, sample_deviation = std::sqrt(sum_squares / n - sample_mean * sample_mean);
    EXPECT_NEAR(sample_mean, mean, 4 * deviation / std::sqrt(n));
    // A uniform law has excess kurtosis -6/5: Var(s^2) = (4/5) d^4 / n, so
    // the standard error of s is d sqrt(1/(5n)).
    EXPECT_NEAR(sample_deviation, deviation, 4 * deviation / std::sqrt(5. * n));
  }
  {
    settings.sigma_sampling = "geometric levels";
    settings.n_levels       = 7;
    const Trainer<2> trainer(*problem.model, *problem.noise, "spectral_operator", settings, {}, MPI_COMM_SELF);
    std::vector<unsigned int> counts(settings.n_levels, 0);
    for (unsigned int step = 0; step < n / batch; ++step)
      for (unsigned int item = 0; item < batch; ++item)
        {
          const double level = std::log(settings.sigma_max / trainer.sigma_of(step, item)) /
                               std::log(settings.sigma_max / settings.sigma_min) * (settings.n_levels - 1);
          const long   l     = std::lround(level);
          ASSERT_NEAR(level, l, 1e-9) << "not one of the levels";
          ASSERT_GE(l, 0);
          ASSERT_LT(l, long(settings.n_levels));
          ++counts[l];
        }
    const double expected   = double(n) / settings.n_levels;
    double       chi_square = 0;
    for (const unsigned int c : counts)
      chi_square += (c - expected) * (c - expected) / expected;
    EXPECT_LT(chi_square, test_support::chi_square_bound(settings.n_levels - 1));
    EXPECT_GT(counts.front(), 0u);
    EXPECT_GT(counts.back(), 0u);
  }
}


TEST(Trainer, GradientClipAndMovingAverageActAsDefined)
{
  // One Adam step moves each weight by lr g/(|g| + eps) (bias-corrected):
  // about lr for any unclipped gradient, but at most lr clip/eps once the
  // global gradient norm is clipped to clip << eps = 1e-8. The moving
  // average after one step is d w0 + (1 - d) w1 with d = min(decay, 1/10).
  TrainingSettings settings = test_support::TinyTrainingProblem::settings("");
  settings.n_steps          = 1;
  settings.warmup_steps     = 0;
  settings.schedule         = "constant";
  const double lr           = settings.learning_rate;
  const auto   largest_move = [](const auto &before_after) {
    double move = 0;
    for (std::size_t i = 0; i < before_after.first.size(); ++i)
      move = std::max(move, (before_after.second[i] - before_after.first[i]).abs().max().template item<double>());
    return move;
  };
  settings.gradient_clip = 0;
  const double free_move = largest_move(train_tiny(settings));
  settings.gradient_clip = 1e-12;
  const double clipped_move = largest_move(train_tiny(settings));
  std::cout << "  largest weight change of one step: unclipped " << free_move << ", clipped to 1e-12 "
            << clipped_move << " (lr " << lr << ")" << std::endl;
  EXPECT_GT(free_move, 0.5 * lr);
  EXPECT_LE(free_move, lr * (1 + 1e-6));
  EXPECT_LE(clipped_move, lr * 1e-12 / 1e-8 * (1 + 1e-6));
  EXPECT_GT(clipped_move, 0.);

  namespace fs = std::filesystem;
  fs::remove_all("trainer_tests_ema");
  settings.gradient_clip        = 1;
  settings.ema_decay            = 0.999;
  settings.checkpoint_directory = "trainer_tests_ema";
  const auto   weights  = train_tiny(settings);
  const auto   ema      = checkpoint_parameters("trainer_tests_ema", "ema.pt");
  const double decay    = 0.1;
  for (std::size_t i = 0; i < ema.size(); ++i)
    EXPECT_TRUE(torch::allclose(ema[i], decay * weights.first[i] + (1 - decay) * weights.second[i], 1e-14, 1e-15))
      << "parameter " << i;
  expect_equal_parameters(checkpoint_parameters("trainer_tests_ema", "weights.pt"), weights.second, "weights.pt");
}
