// The samplers "langevin" and "probability_flow", driven by the exact
// preconditioned score of a Gaussian target (GaussianScore): per-band
// variances against the truth, evaluation counts, resolution independence
// (and the white-noise ablation that lacks it), determinism, failures.
//
// Setup shared by the tests: target Sigma = Matérn(variance 2, rho 0.2,
// nu 1), noise C = Matérn(variance 1, rho 0.4, nu 1), both diagonal in the
// first K = 64 Laplacian eigenmodes of a distorted simplex mesh of the unit
// square (289 DoFs; 1089 after one refinement), noise by the spectral model
// on the same modes. Then s_k / c_k lies in [0.5, 8], and all dynamics are
// diagonal in the modes, so expected results are computable exactly.

#include <deal.II/base/time_stepping.h>

#include <ddo/torch/model/gaussian_score.h>
#include <ddo/torch/sampler/langevin_sampler.h>
#include <ddo/torch/sampler/probability_flow_sampler.h>
#include <ddo/covariance/spectral_covariance.h>
#include <ddo/torch/torch_bridge.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "../network_test_utilities.h"

using namespace ddo;

namespace
{
  const std::string square = "set Geometry = box\nsubsection box\nset Subdivisions = 8\nend\n"
                             "set Cell type = simplex\nset Distortion = 0.2\n";

  const NoiseRange range{50., 0.05};

  /**
   * The noise C drawn as Phi diag(sqrt(c)) z with GaussianScore::sample():
   * the same law as "matern_spectral" on the same modes, but batched with
   * one matrix product instead of K vector updates per sample, which keeps
   * the long Langevin runs of these tests fast. Sampling is all samplers
   * use.
   */
  class ModalNoise : public CovarianceOperator<2>
  {
  public:
    explicit ModalNoise(const GaussianScore<2> &exact)
      : exact(exact)
    {}

    void
    initialize(const FunctionSpace<2> &new_space) override
    {
      space = &new_space;
    }

    using CovarianceOperator<2>::sample;
    void
    sample(std::vector<VectorType> &out, const std::uint64_t seed, const unsigned int first) const override
    {
      const torch::Tensor x = exact.sample(exact.noise_variances(), out.size(), seed, first);
      for (unsigned int i = 0; i < out.size(); ++i)
        {
          if (out[i].size() != space->n_dofs())
            out[i] = space->create_vector();
          torch_bridge::from_tensor(x[i], out[i]);
        }
    }

    void
    apply(const VectorType &, VectorType &) const override
    {
      AssertThrow(false, ExcNotImplemented());
    }
    void
    apply_inverse(const VectorType &, VectorType &) const override
    {
      AssertThrow(false, ExcNotImplemented());
    }
    double
    cameron_martin_norm_squared(const VectorType &) const override
    {
      AssertThrow(false, ExcNotImplemented());
      return 0;
    }
    VectorType
    pointwise_variance() const override
    {
      AssertThrow(false, ExcNotImplemented());
      return {};
    }

  private:
    const GaussianScore<2> &exact;
    const FunctionSpace<2> *space = nullptr;
  };


  /**
   * The space, the noise C (the "matern_spectral" model, and the same law
   * drawn faster by ModalNoise), and the exact score of the Gaussian target.
   */
  struct GaussianProblem
  {
    std::unique_ptr<FunctionSpace<2>>  space;
    SpectralMaternCovariance<2>        noise;
    std::unique_ptr<GaussianScore<2>>  exact;
    std::unique_ptr<ModalNoise>        modal_noise;
    const MaternScales                 target_scales = MaternScales::from_user_parameters(2, 2., 0.2, 1.);
    const MaternScales                 noise_scales  = MaternScales::from_user_parameters(2, 1., 0.4, 1.);

    GaussianProblem(const unsigned int refinements, const unsigned int n_modes = 64)
    {
      space = test_support::make_space<2>(square + "set Global refinements = " +
                                            std::to_string(refinements) + "\n",
                                          1, MPI_COMM_SELF);
      noise.set_parameters(noise_scales, n_modes);
      noise.initialize(*space);
      const MaternScales t = target_scales, c = noise_scales;
      exact = std::make_unique<GaussianScore<2>>(
        noise.get_basis(),
        [t](const double lambda) { return t.spectral_density(lambda); },
        [c](const double lambda) { return c.spectral_density(lambda); });
      modal_noise = std::make_unique<ModalNoise>(*exact);
      modal_noise->initialize(*space);
    }

    const std::vector<double> &
    s() const
    {
      return exact->target_variances();
    }
  };


  /** A sampler made through the registry from the body of its subsection. */
  std::unique_ptr<Sampler<2>>
  make_sampler(const std::string &name, const std::string &body)
  {
    ParameterHandler prm;
    prm.enter_subsection("Sampler");
    SamplerRegistry<2>::instance().declare_parameters(prm, "Type", name, "The sampler.");
    prm.leave_subsection();
    prm.parse_input_from_string("subsection Sampler\nset Type = " + name + "\nsubsection " + name +
                                "\n" + body + "\nend\nend\n");
    prm.enter_subsection("Sampler");
    auto sampler = SamplerRegistry<2>::instance().create_and_parse(prm, "Type");
    prm.leave_subsection();
    return sampler;
  }


  // Langevin parameters of the accuracy tests: epsilon = 0.5 sigma_min^2.
  const unsigned int langevin_levels = 10, langevin_steps = 100;
  const double       langevin_epsilon = 0.5 * 0.05 * 0.05;

  std::string
  langevin_prm(const bool         preconditioned = true,
               const unsigned int steps          = langevin_steps,
               const double       epsilon        = langevin_epsilon,
               const bool         predictor      = false)
  {
    return std::string(predictor ? "set Predictor = probability flow\n" : "") +
           "set Number of levels = " + std::to_string(langevin_levels) +
           "\nset Steps per level = " + std::to_string(steps) +
           "\nset Step size = " + std::to_string(epsilon) +
           "\nset Batch size = 200\nset Preconditioned noise = " +
           (preconditioned ? "true" : "false") + "\n";
  }


  /**
   * The exact expected variance of a mode after the Langevin chain with the
   * exact score (a linear AR(1) recursion per mode): what the sampler
   * computes without sampling error, discretization bias included.
   */
  double
  langevin_mode_variance(const double       s,
                         const double       c,
                         const unsigned int steps     = langevin_steps,
                         const bool         predictor = false)
  {
    const auto levels = sampler_tools::geometric_levels(range, langevin_levels);
    double     variance = range.sigma_max * range.sigma_max * c;
    for (unsigned int i = 0; i < levels.size(); ++i)
      {
        const double sigma = levels[i];
        if (predictor && i > 0)
          {
            // v <- v + (1 - sigma_i/sigma_{i-1}) sigma_{i-1}^2 F, F = -c v/(s + sigma_{i-1}^2 c)
            const double previous = levels[i - 1];
            const double a        = 1. - (1. - sigma / previous) * previous * previous * c /
                                      (s + previous * previous * c);
            variance *= a * a;
          }
        const double h = langevin_epsilon * std::pow(sigma / range.sigma_min, 2);
        const double a = 1. - h * c / (s + sigma * sigma * c);
        for (unsigned int t = 0; t < steps; ++t)
          variance = a * a * variance + 2. * h * c;
      }
    const double tweedie = s / (s + range.sigma_min * range.sigma_min * c);
    return tweedie * tweedie * variance;
  }


  /**
   * The factor by which the exact probability-flow ODE (plus Tweedie)
   * multiplies the coefficient of mode k of the initial state:
   * sqrt((s + sigma_min^2 c)/(s + sigma_max^2 c)) s/(s + sigma_min^2 c).
   */
  double
  flow_factor(const double s, const double c, const bool denoise = true)
  {
    const double smin2 = range.sigma_min * range.sigma_min,
                 smax2 = range.sigma_max * range.sigma_max;
    return std::sqrt((s + smin2 * c) / (s + smax2 * c)) * (denoise ? s / (s + smin2 * c) : 1.);
  }


  /**
   * The exact ODE solutions of the samples drawn with (seed, first index
   * 0): sigma_max times the initial noise the sampler draws, mapped mode by
   * mode. Returns their coefficients [n, K].
   */
  torch::Tensor
  exact_flow_coefficients(const GaussianProblem &       p,
                          const CovarianceOperator<2> &noise,
                          const unsigned int           n,
                          const std::uint64_t          seed,
                          const bool                   denoise = true)
  {
    const torch::Tensor xi = sampler_tools::draw_noise<2>(noise, *p.space, n,
                                                          Sampler<2>::initial_noise_seed(seed), 0);
    std::vector<double> factors;
    for (unsigned int k = 0; k < p.exact->n_modes(); ++k)
      factors.push_back(flow_factor(p.s()[k], p.exact->noise_variances()[k], denoise));
    return range.sigma_max * p.exact->project(xi) *
           torch::tensor(factors, torch::TensorOptions().dtype(torch::kFloat64));
  }


  /** Largest per-sample relative error of coefficients @p a against @p b. */
  double
  max_relative_error(const torch::Tensor &a, const torch::Tensor &b)
  {
    return ((a - b).norm(2, {1}) / b.norm(2, {1})).max().item<double>();
  }


  void
  print_bands(const std::string &label, const std::vector<BandStatistics> &bands)
  {
    std::cout << "  " << std::left << std::setw(34) << label << std::right;
    for (const auto &band : bands)
      std::cout << " [" << std::setw(6) << std::setprecision(4) << band.lambda_min << ","
                << std::setw(6) << band.lambda_max << "] " << std::setw(6) << std::fixed
                << std::setprecision(3) << band.variance_ratio << std::defaultfloat;
    std::cout << std::endl;
  }


  /**
   * Checks the second moment of every mode against its expected variance,
   * not only band averages (which can hide opposite errors of single modes):
   * z_k = (m_k / v_k - 1) / sqrt(2/n), the standardized error of the second
   * moment about the known zero mean of n Gaussian samples. Every |z_k|
   * must lie within the Bonferroni threshold of the number of modes, and
   * sum_k z_k^2 below the 1e-4 quantile of a chi-square with K degrees of
   * freedom.
   */
  void
  expect_per_mode_variances(const ModeStatistics &     statistics,
                            const std::vector<double> &expected,
                            const std::string &        label)
  {
    const unsigned int K = expected.size();
    const double       n = statistics.n_samples;
    double             chi_square = 0, largest = 0;
    for (unsigned int k = 0; k < K; ++k)
      {
        const double z = (statistics.second_moment[k] / expected[k] - 1.) / std::sqrt(2. / n);
        chi_square += z * z;
        largest = std::max(largest, std::abs(z));
        EXPECT_LT(std::abs(z), test_support::bonferroni_threshold(K)) << label << ", mode " << k;
      }
    std::cout << "  " << label << ": per-mode chi-square " << chi_square << " over " << K
              << " modes (bound " << test_support::chi_square_bound(K) << "), largest |z| " << largest
              << std::endl;
    EXPECT_LT(chi_square, test_support::chi_square_bound(K)) << label;
  }


  /** The message of the exception @p call throws. */
  template <typename Call>
  std::string
  message_of(const Call &call)
  {
    try
      {
        call();
      }
    catch (const std::exception &e)
      {
        // deal.II wraps long messages: collapse the white space.
        std::istringstream in(e.what());
        std::string        word, message;
        while (in >> word)
          message += (message.empty() ? "" : " ") + word;
        return message;
      }
    return "(no exception)";
  }
} // namespace


TEST(GaussianScore, IsTheExactPreconditionedScore)
{
  const GaussianProblem p(0);
  // The mode variances of the score are those of the noise model.
  for (unsigned int k = 0; k < p.exact->n_modes(); ++k)
    EXPECT_DOUBLE_EQ(p.exact->noise_variances()[k], p.noise.mode_variances()[k]);

  // (Sigma + sigma^2 C) C^{-1} F = -v on the span of the modes, checked with
  // the covariance operators (another code path): Sigma by a spectral model.
  SpectralMaternCovariance<2> target;
  target.set_parameters(p.target_scales, p.exact->n_modes());
  target.initialize(*p.space);
  const torch::Tensor v = p.exact->sample_target(3, 11);
  for (const double sigma : {0.05, 1., 30.})
    {
      const torch::Tensor f = (*p.exact)(v, torch::full({3}, sigma, torch::kFloat64));
      for (unsigned int b = 0; b < 3; ++b)
        {
          VectorType fb = p.space->create_vector(), vb = p.space->create_vector();
          torch_bridge::from_tensor(f[b], fb);
          torch_bridge::from_tensor(v[b], vb);
          VectorType c_inverse_f = p.space->create_vector(), lhs = p.space->create_vector();
          p.noise.apply_inverse(fb, c_inverse_f);
          target.apply(c_inverse_f, lhs);
          lhs.add(sigma * sigma, fb);
          lhs += vb;
          EXPECT_LT(lhs.l2_norm(), 1e-10 * vb.l2_norm()) << "sigma = " << sigma;
        }
    }

  // Exact samples have the target's mode variances (4 standard errors).
  const unsigned int n     = 2000;
  const auto         bands = band_statistics(p.exact->eigenvalues(),
                                     p.exact->mode_statistics(p.exact->sample_target(n, 3)),
                                     p.s(), 4);
  for (const auto &band : bands)
    {
      EXPECT_NEAR(band.variance_ratio, 1., 4. * band.standard_error);
      EXPECT_LT(band.max_standardized_mean, 4.5);
    }

  // Score errors per mode: zero for the exact score, 0.1^2 for 1.1 F*.
  const auto exact_error = p.exact->relative_score_error(p.exact->score_function(), 0.5, 16, 5);
  const ScoreFunction scaled = [&](const torch::Tensor &x, const torch::Tensor &sigma) {
    return 1.1 * (*p.exact)(x, sigma);
  };
  const auto scaled_error = p.exact->relative_score_error(scaled, 0.5, 16, 5);
  for (unsigned int k = 0; k < p.exact->n_modes(); ++k)
    {
      EXPECT_LT(exact_error[k], 1e-24);
      EXPECT_NEAR(scaled_error[k], 0.01, 1e-10);
    }
}


TEST(Samplers, MatchTheGaussianTargetAndTheOdeIsFarCheaper)
{
  const GaussianProblem p(0);
  const unsigned int    n    = 400;
  const std::uint64_t   seed = 2024;
  const unsigned int    K    = p.exact->n_modes();

  // Annealed Langevin: compare with the exact expectation of the discrete
  // chain (sampling error only), and that expectation with the truth (the
  // sampler's bias, about +2% for these parameters).
  std::vector<double> langevin_expected(K);
  for (unsigned int k = 0; k < K; ++k)
    langevin_expected[k] = langevin_mode_variance(p.s()[k], p.exact->noise_variances()[k]);
  SamplerReport langevin_report;
  const auto    langevin = make_sampler("langevin", langevin_prm());
  const torch::Tensor langevin_samples =
    langevin->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, seed, 0, &langevin_report);
  const ModeStatistics langevin_statistics = p.exact->mode_statistics(langevin_samples);
  const auto against_chain = band_statistics(p.exact->eigenvalues(), langevin_statistics, langevin_expected, 4);
  const auto against_truth = band_statistics(p.exact->eigenvalues(), langevin_statistics, p.s(), 4);
  std::cout << "  langevin: " << langevin_report.summary() << std::endl;
  print_bands("langevin / truth", against_truth);
  for (unsigned int b = 0; b < 4; ++b)
    {
      const auto  &band = against_chain[b];
      double       bias = 0;
      for (unsigned int k = band.first_mode; k < band.first_mode + band.n_modes; ++k)
        bias += langevin_expected[k] / p.s()[k] / band.n_modes;
      EXPECT_NEAR(bias, 1., 0.03) << "discretization bias of band " << b;
      EXPECT_NEAR(band.variance_ratio, 1., 4. * band.standard_error) << "band " << b;
      EXPECT_NEAR(against_truth[b].variance_ratio, 1., 4. * band.standard_error + 0.03)
        << "band " << b;
      EXPECT_LT(band.max_standardized_mean, 4.5) << "band " << b;
    }
  expect_per_mode_variances(langevin_statistics, langevin_expected, "langevin against the chain");
  EXPECT_EQ(langevin_report.evaluations_per_sample(), langevin_levels * langevin_steps + 1);
  EXPECT_EQ(langevin_report.n_network_evaluations, (langevin_levels * langevin_steps + 1) * 2);

  // Probability-flow ODE (DOPRI, per-sample error control): every sample
  // is the exact flow of its initial noise up to the tolerance; statistics
  // against the truth (bias of the exact flow here: below 1%).
  SamplerReport ode_report;
  const auto ode = make_sampler("probability_flow", "set Method = DOPRI\nset Relative tolerance = 1e-3\n"
                                                    "set Batch size = 128\n");
  const torch::Tensor ode_samples =
    ode->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, seed, 0, &ode_report);
  std::cout << "  probability flow: " << ode_report.summary() << std::endl;
  const double flow_error =
    max_relative_error(p.exact->project(ode_samples), exact_flow_coefficients(p, *p.modal_noise, n, seed));
  std::cout << "  probability flow: largest relative L2 error against the exact flow "
            << flow_error << std::endl;
  EXPECT_LT(flow_error, 1e-2);
  const ModeStatistics ode_statistics = p.exact->mode_statistics(ode_samples);
  const auto ode_bands = band_statistics(p.exact->eigenvalues(), ode_statistics, p.s(), 4);
  print_bands("probability flow / truth", ode_bands);
  // The exact flow's variance per mode: sigma_max^2 c_k times its factor squared.
  std::vector<double> flow_expected(K);
  for (unsigned int k = 0; k < K; ++k)
    {
      const double c = p.exact->noise_variances()[k];
      flow_expected[k] = range.sigma_max * range.sigma_max * c * std::pow(flow_factor(p.s()[k], c), 2);
    }
  expect_per_mode_variances(ode_statistics, flow_expected, "probability flow against the exact flow");
  for (const auto &band : ode_bands)
    {
      EXPECT_NEAR(band.variance_ratio, 1., 4. * band.standard_error + 0.01);
      EXPECT_LT(band.max_standardized_mean, 4.5);
    }

  // Comparable accuracy for at least 10 times fewer evaluations.
  EXPECT_GE(langevin_report.evaluations_per_sample(), 10. * ode_report.evaluations_per_sample());
  EXPECT_GT(ode_report.n_steps_accepted, 0u);
}


TEST(Samplers, APredictorLetsLangevinUseFarFewerSteps)
{
  // With 5 steps per level, annealed Langevin cannot remove the excess noise
  // each level starts with; the probability-flow predictor transports the
  // state between levels, and the steps only correct. Exact expectations of
  // both chains, then samples of the predictor-corrector chain against its
  // expectation (the implementation) and against the truth.
  const GaussianProblem p(0);
  const unsigned int    K = p.exact->n_modes(), steps = 5, n = 400;
  std::vector<double>   annealed(K), corrected(K);
  for (unsigned int k = 0; k < K; ++k)
    {
      annealed[k]  = langevin_mode_variance(p.s()[k], p.exact->noise_variances()[k], steps, false);
      corrected[k] = langevin_mode_variance(p.s()[k], p.exact->noise_variances()[k], steps, true);
    }

  SamplerReport       report;
  const auto          sampler = make_sampler("langevin", langevin_prm(true, steps, langevin_epsilon, true));
  const torch::Tensor samples =
    sampler->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, 77, 0, &report);
  std::cout << "  predictor-corrector: " << report.summary() << std::endl;
  const ModeStatistics statistics    = p.exact->mode_statistics(samples);
  const auto           against_chain = band_statistics(p.exact->eigenvalues(), statistics, corrected, 4);
  const auto           against_truth = band_statistics(p.exact->eigenvalues(), statistics, p.s(), 4);
  print_bands("predictor-corrector / truth", against_truth);
  for (unsigned int b = 0; b < 4; ++b)
    {
      const auto &band = against_chain[b];
      double      annealed_bias = 0, corrected_bias = 0;
      for (unsigned int k = band.first_mode; k < band.first_mode + band.n_modes; ++k)
        {
          annealed_bias += annealed[k] / p.s()[k] / band.n_modes;
          corrected_bias += corrected[k] / p.s()[k] / band.n_modes;
        }
      std::cout << "  band " << b << ": expected variance / truth, annealed " << annealed_bias
                << ", with predictor " << corrected_bias << std::endl;
      EXPECT_GT(annealed_bias, 1.3) << "band " << b;
      EXPECT_NEAR(corrected_bias, 1., 0.05) << "band " << b;
      EXPECT_NEAR(band.variance_ratio, 1., 4. * band.standard_error) << "band " << b;
      EXPECT_NEAR(against_truth[b].variance_ratio, 1., 4. * band.standard_error + 0.05) << "band " << b;
      EXPECT_LT(band.max_standardized_mean, 4.5) << "band " << b;
    }
  expect_per_mode_variances(statistics, corrected, "predictor-corrector against the chain");
  // L T steps, L - 1 predictor steps and the Tweedie step.
  EXPECT_EQ(report.evaluations_per_sample(), langevin_levels * (steps + 1));
}


TEST(ProbabilityFlowSampler, FixedStepMethodsConvergeWithTheirOrderAndMatchDealII)
{
  const GaussianProblem p(0);
  const unsigned int    n = 4;
  const torch::Tensor   exact = exact_flow_coefficients(p, p.noise, n, 7, false);

  const auto error = [&](const std::string &method, const unsigned int steps) {
    const auto sampler = make_sampler("probability_flow", "set Step control = fixed\nset Method = " +
                                                            method + "\nset Number of steps = " +
                                                            std::to_string(steps) +
                                                            "\nset Final denoising = false\n");
    SamplerReport       report;
    const torch::Tensor v =
      sampler->sample(p.exact->score_function(), *p.space, p.noise, range, n, 7, 0, &report);
    return std::make_pair(max_relative_error(p.exact->project(v), exact),
                          report.evaluations_per_sample());
  };
  // Errors at 8, 16, 32 steps; halving the step divides by 2^order.
  for (const auto &[method, order, stages] :
       std::vector<std::tuple<std::string, int, int>>{{"FORWARD_EULER", 1, 1},
                                                      {"HEUN", 2, 2},
                                                      {"SSP_THIRD_ORDER", 3, 3},
                                                      {"RK_CLASSIC_FOURTH_ORDER", 4, 4},
                                                      {"DOPRI", 5, 6}})
    {
      std::vector<double> errors;
      for (const unsigned int steps : {16u, 32u, 64u})
        {
          const auto [e, nfe] = error(method, steps);
          errors.push_back(e);
          // First same as last saves one evaluation per step (DOPRI).
          EXPECT_EQ(nfe, steps * stages + (method == "DOPRI" ? 1 : 0)) << method;
        }
      const double rate = std::log2(errors[1] / errors[2]);
      std::cout << "  " << method << ": errors " << errors[0] << " " << errors[1] << " "
                << errors[2] << ", observed order " << rate << std::endl;
      EXPECT_NEAR(rate, order, 0.35) << method;
    }

  // Fixed RK4 steps are exactly deal.II's ExplicitRungeKutta on one sample.
  const auto sampler = make_sampler("probability_flow", "set Step control = fixed\n"
                                                        "set Method = RK_CLASSIC_FOURTH_ORDER\n"
                                                        "set Number of steps = 8\n"
                                                        "set Final denoising = false\n");
  const torch::Tensor ours =
    sampler->sample(p.exact->score_function(), *p.space, p.noise, range, 1, 7, 0)[0];
  torch::Tensor xi =
    sampler_tools::draw_noise<2>(p.noise, *p.space, 1, Sampler<2>::initial_noise_seed(7), 0)[0];
  Vector<double> y(xi.size(0));
  torch_bridge::view(y).copy_(range.sigma_max * xi);
  TimeStepping::ExplicitRungeKutta<Vector<double>> rk4(TimeStepping::RK_CLASSIC_FOURTH_ORDER);
  const auto f = [&](const double s, const Vector<double> &x) {
    const double   sigma = std::exp(-s);
    Vector<double> result(x.size());
    Vector<double> copy(x);
    torch_bridge::view(result).copy_(
      sigma * sigma *
      (*p.exact)(torch_bridge::view(copy).reshape({1, -1}), torch::full({1}, sigma, torch::kFloat64))[0]);
    return result;
  };
  const double s0 = -std::log(range.sigma_max), s1 = -std::log(range.sigma_min);
  double       s  = s0;
  for (unsigned int i = 0; i < 8; ++i)
    s = rk4.evolve_one_time_step(f, s, i + 1 == 8 ? s1 - s : (s1 - s0) / 8, y);
  EXPECT_LT((torch_bridge::view(y) - ours).abs().max().item<double>(),
            1e-12 * ours.abs().max().item<double>());
}


TEST(Samplers, ResolutionIndependenceAndTheWhiteNoiseAblation)
{
  // The same parameters (epsilon, T, L; ODE tolerances) on a mesh and its
  // refinement. The same seed gives the same mode noise on both meshes
  // (the noise is drawn per mode), so the preconditioned samplers give
  // nearly the same per-band statistics: differences come from the
  // eigenvalues, not from sampling. Langevin with T = 50, epsilon =
  // sigma_min^2 here (bias about +3%), half the cost of the other test.
  const unsigned int steps = 50;
  const double       epsilon = range.sigma_min * range.sigma_min;
  const unsigned int  n    = 200;
  const std::uint64_t seed = 99;
  std::vector<std::vector<BandStatistics>> langevin_bands, ablation_bands;
  std::vector<double>                      ode_nfe;
  std::vector<std::string>                 ablation_error; // empty: it ran
  for (const unsigned int refinements : {0u, 1u})
    {
      const GaussianProblem p(refinements);
      std::cout << "  mesh with " << p.space->n_dofs() << " DoFs" << std::endl;

      const auto langevin = make_sampler("langevin", langevin_prm(true, steps, epsilon));
      langevin_bands.push_back(band_statistics(
        p.exact->eigenvalues(),
        p.exact->mode_statistics(
          langevin->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, seed, 0)),
        p.s(), 4));
      print_bands("langevin / truth", langevin_bands.back());

      SamplerReport report;
      const auto    ode = make_sampler("probability_flow", "set Batch size = 200\n");
      const auto    ode_bands = band_statistics(
        p.exact->eigenvalues(),
        p.exact->mode_statistics(
          ode->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, seed, 0, &report)),
        p.s(), 4);
      print_bands("probability flow / truth", ode_bands);
      ode_nfe.push_back(report.evaluations_per_sample());
      std::cout << "  probability flow: " << report.summary() << std::endl;

      // The ablation: white nodal noise, same epsilon.
      try
        {
          const auto ablation = make_sampler("langevin", langevin_prm(false, steps, epsilon));
          ablation_bands.push_back(band_statistics(
            p.exact->eigenvalues(),
            p.exact->mode_statistics(
              ablation->sample(p.exact->score_function(), *p.space, *p.modal_noise, range, n, seed, 0)),
            p.s(), 4));
          print_bands("white-noise ablation / truth", ablation_bands.back());
          ablation_error.emplace_back();
        }
      catch (const std::exception &e)
        {
          std::cout << "  white-noise ablation failed: " << e.what() << std::endl;
          ablation_error.emplace_back(e.what());
        }
    }

  for (unsigned int b = 0; b < 4; ++b)
    {
      for (unsigned int r = 0; r < 2; ++r)
        EXPECT_NEAR(langevin_bands[r][b].variance_ratio, 1.,
                    4. * langevin_bands[r][b].standard_error + 0.03);
      EXPECT_NEAR(langevin_bands[0][b].variance_ratio, langevin_bands[1][b].variance_ratio, 0.03)
        << "band " << b;
    }
  // The ODE's error control is mesh independent: the same work on both meshes.
  EXPECT_NEAR(ode_nfe[1], ode_nfe[0], 0.1 * ode_nfe[0]);

  // The ablation is wrong and mesh dependent: white noise puts about
  // |Omega|/N on each mode, so the low modes lose variance under
  // refinement, or the chain diverges on the fine mesh. Either outcome is
  // checked; the coarse mesh must run and be wrong already.
  ASSERT_TRUE(ablation_error[0].empty()) << ablation_error[0];
  const double coarse_error = std::abs(std::log(ablation_bands[0][0].variance_ratio));
  EXPECT_GT(coarse_error, 1.);
  if (ablation_error[1].empty())
    {
      const double fine_error = std::abs(std::log(ablation_bands[1][0].variance_ratio));
      std::cout << "  ablation, lowest band: |log(variance ratio)| " << coarse_error << " -> "
                << fine_error << " under refinement" << std::endl;
      EXPECT_GT(fine_error, coarse_error + 0.5);
    }
  else
    EXPECT_NE(ablation_error[1].find("langevin: the samples diverge"), std::string::npos)
      << "the fine-mesh ablation failed for another reason: " << ablation_error[1];
}


TEST(Samplers, SamplesDoNotDependOnTheBatchSize)
{
  const GaussianProblem p(0);
  for (const std::string name : {"langevin", "probability_flow"})
    {
      const std::string common = name == "langevin" ?
                                   "set Number of levels = 3\nset Steps per level = 5\n"
                                   "set Step size = 1e-3\n" :
                                   "set Method = BOGACKI_SHAMPINE\n";
      const auto big   = make_sampler(name, common + "set Batch size = 64\n");
      const auto small = make_sampler(name, common + "set Batch size = 7\n");
      const torch::Tensor a = big->sample(p.exact->score_function(), *p.space, p.noise, range, 20, 5, 0);
      const torch::Tensor b = small->sample(p.exact->score_function(), *p.space, p.noise, range, 20, 5, 0);
      // A later part of the same stream, drawn on its own.
      const torch::Tensor c = small->sample(p.exact->score_function(), *p.space, p.noise, range, 6, 5, 9);
      const double        scale = a.abs().max().item<double>();
      EXPECT_LE((a - b).abs().max().item<double>(), 1e-12 * scale) << name;
      EXPECT_LE((a.narrow(0, 9, 6) - c).abs().max().item<double>(), 1e-12 * scale) << name;
      std::cout << "  " << name << ": batch 64 vs 7 differ by at most "
                << (a - b).abs().max().item<double>() << std::endl;
      // Another seed gives other samples.
      const torch::Tensor d = big->sample(p.exact->score_function(), *p.space, p.noise, range, 20, 6, 0);
      EXPECT_GT((a - d).abs().max().item<double>(), 0.1 * scale) << name;
    }
}


TEST(Samplers, NonFiniteScoresAndDivergenceAreReported)
{
  const GaussianProblem p(0, 16);
  const auto            exact = p.exact->score_function();
  // NaN below sigma = 1 (in the 4th and later of 6 levels from 50 to 0.05).
  const ScoreFunction broken = [&](const torch::Tensor &v, const torch::Tensor &sigma) {
    torch::Tensor f = exact(v, sigma);
    return torch::where((sigma < 1.).reshape({-1, 1}), torch::full_like(f, NAN), f);
  };
  const auto langevin = make_sampler("langevin", "set Number of levels = 6\nset Steps per level = 3\n"
                                                 "set Step size = 1e-3\n");
  const std::string langevin_message =
    message_of([&] { langevin->sample(broken, *p.space, p.noise, range, 4, 1, 0); });
  std::cout << "  " << langevin_message.substr(langevin_message.find("langevin:")) << std::endl;
  EXPECT_NE(langevin_message.find("not finite"), std::string::npos);
  EXPECT_NE(langevin_message.find("level 4 of 6, step 1 of 3"), std::string::npos);
  EXPECT_NE(langevin_message.find("sigma = 0.792"), std::string::npos);

  const auto        ode = make_sampler("probability_flow", "set Method = DOPRI\n");
  const std::string ode_message =
    message_of([&] { ode->sample(broken, *p.space, p.noise, range, 4, 1, 0); });
  std::cout << "  " << ode_message.substr(ode_message.find("probability_flow:")) << std::endl;
  EXPECT_NE(ode_message.find("not finite"), std::string::npos);
  EXPECT_NE(ode_message.find("in step"), std::string::npos);
  EXPECT_NE(ode_message.find("at sigma = 0."), std::string::npos); // below 1

  // Unstable step size (epsilon > 2 sigma_min^2): divergence is detected.
  const auto unstable = make_sampler("langevin", "set Number of levels = 4\nset Steps per level = 50\n"
                                                 "set Step size = 0.025\n");
  const std::string unstable_message =
    message_of([&] { unstable->sample(exact, *p.space, p.noise, range, 4, 1, 0); });
  std::cout << "  " << unstable_message.substr(unstable_message.find("langevin:")) << std::endl;
  EXPECT_NE(unstable_message.find("diverge"), std::string::npos);
  EXPECT_NE(unstable_message.find("level 1 of 4"), std::string::npos);
}


TEST(Samplers, ParameterErrorsAreClear)
{
  const GaussianProblem p(0, 8);
  const auto            score = p.exact->score_function();

  // Both samplers are registered; unknown names are listed in the error.
  const auto names = SamplerRegistry<2>::instance().names();
  EXPECT_NE(std::find(names.begin(), names.end(), "langevin"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "probability_flow"), names.end());
  EXPECT_NE(message_of([] { SamplerRegistry<3>::instance().create("euler_maruyama"); })
              .find("langevin|probability_flow"),
            std::string::npos);

  // sigma_min >= sigma_max, or not positive.
  for (const auto &bad : {NoiseRange{1., 1.}, NoiseRange{0.1, 1.}, NoiseRange{1., 0.}})
    for (const std::string name : {"langevin", "probability_flow"})
      {
        const std::string message =
          message_of([&] { make_sampler(name, "")->sample(score, *p.space, p.noise, bad, 2, 1, 0); });
        EXPECT_NE(message.find("Noise range"), std::string::npos) << name << ": " << message;
      }

  // Zero steps and unknown methods are rejected when the file is read.
  EXPECT_THROW(make_sampler("langevin", "set Steps per level = 0\n"), std::exception);
  EXPECT_THROW(make_sampler("langevin", "set Number of levels = 1\n"), std::exception);
  EXPECT_THROW(make_sampler("probability_flow", "set Step control = fixed\nset Number of steps = 0\n"),
               std::exception);
  EXPECT_THROW(make_sampler("probability_flow", "set Method = RK45\n"), std::exception);
  // A method without error estimator cannot control the step.
  const std::string message =
    message_of([] { make_sampler("probability_flow", "set Method = RK_CLASSIC_FOURTH_ORDER\n"); });
  EXPECT_NE(message.find("no embedded error estimator"), std::string::npos) << message;
  EXPECT_NO_THROW(make_sampler("probability_flow",
                               "set Method = RK_CLASSIC_FOURTH_ORDER\nset Step control = fixed\n"));

  // A score of the wrong shape (e.g. bound to another mesh).
  const ScoreFunction wrong = [](const torch::Tensor &v, const torch::Tensor &) {
    return torch::zeros({v.size(0), v.size(1) + 1}, torch::kFloat64);
  };
  EXPECT_NE(message_of([&] {
              make_sampler("langevin", "")->sample(wrong, *p.space, p.noise, range, 2, 1, 0);
            }).find("shape"),
            std::string::npos);
}


TEST(Samplers, RunWithAScoreNetwork)
{
  // The whole path with a (random, untrained) network: make_score_function,
  // a sampler, shapes, counts.
  test_support::BoundSpace<2>       bound(square, 16, MPI_COMM_SELF);
  std::shared_ptr<ScoreNetworkBase> network = test_support::make_network<2>();
  network->bind(bound.geometry);
  const ScoreFunction         score = make_score_function(network);
  SpectralMaternCovariance<2> noise;
  noise.set_parameters(MaternScales::from_user_parameters(2, 1., 0.4, 1.), 16);
  noise.initialize(*bound.space);

  const auto sampler = make_sampler("probability_flow", "set Step control = fixed\nset Method = HEUN\n"
                                                        "set Number of steps = 4\n");
  SamplerReport       report;
  const torch::Tensor v = sampler->sample(score, *bound.space, noise, NoiseRange{5., 0.1}, 3, 1, 0, &report);
  ASSERT_EQ(v.size(0), 3);
  ASSERT_EQ(v.size(1), static_cast<std::int64_t>(bound.space->n_dofs()));
  EXPECT_TRUE(torch::isfinite(v).all().item<bool>());
  EXPECT_EQ(report.evaluations_per_sample(), 2 * 4 + 1);
  EXPECT_EQ(report.n_network_evaluations, 2u * 4u + 1u);

  const torch::Tensor sigma = torch::full({3}, 0.3, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(score(v, sigma), network->forward(v, sigma), 1e-12, 1e-14));
}


TEST(Samplers, AnEnsembleSamplesWithTheMeanOfItsMembersScores)
{
  test_support::BoundSpace<2>       bound(square, 16, MPI_COMM_SELF);
  std::shared_ptr<ScoreNetworkBase> a = test_support::make_network<2>(3), b = test_support::make_network<2>(4);
  a->bind(bound.geometry);
  b->bind(bound.geometry);
  const ScoreFunction score_a = make_score_function(a), score_b = make_score_function(b);
  torch::manual_seed(3);
  const torch::Tensor v     = torch::randn({4, bound.geometry->n_local()}, torch::kFloat64);
  const torch::Tensor sigma = torch::tensor({0.1, 0.5, 2., 7.}, torch::kFloat64);

  // The mean of the members' scores, row by row.
  const torch::Tensor expected = 0.5 * (score_a(v, sigma) + score_b(v, sigma));
  EXPECT_TRUE(torch::allclose(average_score_functions({score_a, score_b})(v, sigma), expected, 1e-14, 1e-15));
  // A member twice weighs twice; one member is that member.
  const torch::Tensor weighted = (2. * score_a(v, sigma) + score_b(v, sigma)) / 3.;
  EXPECT_TRUE(
    torch::allclose(average_score_functions({score_a, score_b, score_a})(v, sigma), weighted, 1e-14, 1e-15));
  EXPECT_TRUE(torch::equal(average_score_functions({score_a})(v, sigma), score_a(v, sigma)));
  // An ensemble of identical members samples exactly what the member does.
  const auto sampler = make_sampler("probability_flow", "set Step control = fixed\nset Method = HEUN\n"
                                                        "set Number of steps = 3\n");
  SpectralMaternCovariance<2> noise;
  noise.set_parameters(MaternScales::from_user_parameters(2, 1., 0.4, 1.), 16);
  noise.initialize(*bound.space);
  const NoiseRange    range{5., 0.1};
  const torch::Tensor single = sampler->sample(score_a, *bound.space, noise, range, 2, 1, 0);
  const torch::Tensor pair = sampler->sample(average_score_functions({score_a, score_a}), *bound.space, noise, range, 2, 1, 0);
  EXPECT_TRUE(torch::equal(single, pair));
  // No members, or an empty one: errors.
  EXPECT_THROW(average_score_functions({}), std::exception);
  EXPECT_THROW(average_score_functions({score_a, ScoreFunction()}), std::exception);
}
