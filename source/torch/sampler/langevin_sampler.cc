#include <ddo/torch/sampler/langevin_sampler.h>

#include <chrono>
#include <cmath>
#include <sstream>

namespace ddo
{
  template <int dim>
  void
  LangevinSampler<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Number of levels", "10", Patterns::Integer(2),
                      "Number L of noise levels, geometric from sigma_max to sigma_min.");
    prm.declare_entry("Steps per level", "100", Patterns::Integer(1),
                      "Number T of Langevin steps on each level.");
    prm.declare_entry("Step size", "2e-5", Patterns::Double(0),
                      "epsilon: the step on level i is h_i = epsilon (sigma_i/sigma_min)^2. "
                      "Stable for epsilon < 2 sigma_min^2; epsilon = 0.5 sigma_min^2 with "
                      "T = 100 gives variances within about 2% for Gaussian targets.");
    prm.declare_entry("Final denoising", "true", Patterns::Bool(),
                      "Finish with the Tweedie step v + sigma_min^2 F(v, sigma_min).");
    prm.declare_entry("Preconditioned noise", "true", Patterns::Bool(),
                      "false: the unpreconditioned ablation of the DDO paper, with i.i.d. "
                      "standard normal nodal noise instead of N(0, C). Not resolution "
                      "independent; for studies only.");
    prm.declare_entry("Predictor", "none", Patterns::Selection("none|probability flow"),
                      "none: annealed Langevin dynamics (the state enters level i as it left "
                      "level i-1, and the Langevin steps must remove the excess noise). "
                      "probability flow: predictor-corrector sampling; before the steps of "
                      "level i the state is moved from sigma_{i-1} to sigma_i by the "
                      "exponential-integrator step of the probability-flow ODE, "
                      "v <- v + (1 - sigma_i/sigma_{i-1}) sigma_{i-1}^2 F(v, sigma_{i-1}) "
                      "(one more score evaluation per level), so that the Langevin steps "
                      "only correct the errors of the transport.");
    prm.declare_entry("Batch size", "100", Patterns::Integer(1),
                      "Samples advanced together (bounds the memory).");
    prm.declare_entry("Divergence factor", "1000", Patterns::Double(1),
                      "Stop with an error when the L2 norm of a sample exceeds this multiple "
                      "of its initial norm.");
  }


  template <int dim>
  void
  LangevinSampler<dim>::parse_parameters(ParameterHandler &prm)
  {
    n_levels             = prm.get_integer("Number of levels");
    steps_per_level      = prm.get_integer("Steps per level");
    step_size            = prm.get_double("Step size");
    final_denoising      = prm.get_bool("Final denoising");
    preconditioned_noise = prm.get_bool("Preconditioned noise");
    flow_predictor       = prm.get("Predictor") == "probability flow";
    batch_size           = prm.get_integer("Batch size");
    divergence_factor    = prm.get_double("Divergence factor");
    AssertThrow(n_levels >= 2,
                ExcMessage("langevin: Number of levels must be at least 2, got " +
                           std::to_string(n_levels) + "."));
    AssertThrow(steps_per_level >= 1,
                ExcMessage("langevin: Steps per level must be at least 1, got 0."));
    AssertThrow(step_size > 0 && std::isfinite(step_size),
                ExcMessage("langevin: Step size must be positive, got " +
                           std::to_string(step_size) + "."));
    AssertThrow(batch_size >= 1, ExcMessage("langevin: Batch size must be at least 1."));
  }


  namespace
  {
    std::string
    where(const unsigned int level,
          const unsigned int n_levels,
          const unsigned int step,
          const unsigned int steps_per_level,
          const double       sigma,
          const unsigned int sample)
    {
      std::ostringstream out;
      out << "at level " << level + 1 << " of " << n_levels << ", step " << step + 1 << " of "
          << steps_per_level << " (sigma = " << sigma << "), sample " << sample;
      return out.str();
    }
  } // namespace


  /** One batch of samples on its way down the levels, and what every batch shares. */
  template <int dim>
  struct LangevinSampler<dim>::Batch
  {
    const ScoreFunction &               score;
    ScoreEvaluationCounter &            counter;
    sampler_tools::NoiseDraws<dim> &    noise_draws;
    const sampler_tools::MassNorm<dim> &norm;
    const MPI_Comm                      comm;
    const std::uint64_t                 seed;
    /** Index of the batch's first sample. */
    const unsigned int first;
    const unsigned int size;

    /** The states, one sample per row. */
    torch::Tensor v;
    /** Per sample: the L2 norm beyond which the sample counts as diverged. */
    torch::Tensor limit;
  };


  template <int dim>
  unsigned int
  LangevinSampler<dim>::samples_per_batch() const
  {
    return batch_size;
  }


  template <int dim>
  torch::Tensor
  LangevinSampler<dim>::sample_batch(typename Sampler<dim>::Run &run,
                                     const unsigned int          first,
                                     const unsigned int          size) const
  {
    const std::vector<double>      levels = sampler_tools::geometric_levels(run.range, n_levels);
    sampler_tools::NoiseDraws<dim> noise_draws(preconditioned_noise ? &run.noise : nullptr, run.space);

    torch::Tensor v = run.range.sigma_max * noise_draws.draw(size, Sampler<dim>::initial_noise_seed(run.seed), first);
    // Guard against a zero initial state (a degenerate noise model).
    torch::Tensor limit = divergence_factor * run.norm(v).clamp_min(1e-300);
    Batch batch{run.score, run.counter, noise_draws, run.norm, run.comm, run.seed, first, size, std::move(v), std::move(limit)};

    for (unsigned int level = 0; level < n_levels; ++level)
      {
        if (flow_predictor && level > 0)
          predict(batch, level, levels[level - 1], levels[level]);
        correct(batch, level, levels[level], run.range.sigma_min);
      }
    if (final_denoising)
      denoise(batch, run.range.sigma_min);
    run.n_steps_accepted +=
      static_cast<std::uint64_t>(size) * (n_levels * steps_per_level + (flow_predictor ? n_levels - 1 : 0));
    return batch.v;
  }


  template <int dim>
  void
  LangevinSampler<dim>::assert_finite(const Batch &        batch,
                                      const torch::Tensor &t,
                                      const char *         what,
                                      const unsigned int   level,
                                      const unsigned int   step,
                                      const double         sigma) const
  {
    const auto bad = sampler_tools::non_finite_rows(t, batch.comm);
    AssertThrow(bad.empty(),
                ExcMessage(std::string("langevin: ") + what + " is not finite (NaN or Inf) " +
                           where(level, n_levels, step, steps_per_level, sigma,
                                 batch.first + bad.front()) +
                           "."));
  }


  template <int dim>
  void
  LangevinSampler<dim>::predict(Batch &            batch,
                                const unsigned int level,
                                const double       previous,
                                const double       sigma) const
  {
    // Exponential-integrator step of dv/dsigma = -sigma F(v, sigma) from the
    // previous level: exact when the denoiser v + sigma^2 F stays constant.
    const torch::Tensor previous_sigmas =
      torch::full({static_cast<std::int64_t>(batch.size)}, previous,
                  torch::TensorOptions().dtype(torch::kFloat64));
    const torch::Tensor f = batch.counter.evaluate(batch.score, batch.v, previous_sigmas);
    assert_finite(batch, f, "the score of the predictor", level, 0, previous);
    batch.v.add_(f, (1. - sigma / previous) * previous * previous);
    assert_finite(batch, batch.v, "the state after the predictor", level, 0, sigma);
  }


  template <int dim>
  void
  LangevinSampler<dim>::correct(Batch &            batch,
                                const unsigned int level,
                                const double       sigma,
                                const double       sigma_last) const
  {
    const double        h           = step_size * std::pow(sigma / sigma_last, 2);
    const double        noise_scale = std::sqrt(2. * h);
    const torch::Tensor sigmas      = torch::full({static_cast<std::int64_t>(batch.size)}, sigma,
                                             torch::TensorOptions().dtype(torch::kFloat64));
    for (unsigned int step = 0; step < steps_per_level; ++step)
      {
        const torch::Tensor f = batch.counter.evaluate(batch.score, batch.v, sigmas);
        assert_finite(batch, f, "the score", level, step, sigma);
        const std::uint64_t global_step = static_cast<std::uint64_t>(level) * steps_per_level + step;
        const torch::Tensor xi =
          batch.noise_draws.draw(batch.size, Sampler<dim>::step_noise_seed(batch.seed, global_step),
                                 batch.first);
        batch.v.add_(f, h).add_(xi, noise_scale);
        assert_finite(batch, batch.v, "the state", level, step, sigma);
        assert_not_diverged(batch, level, step, sigma, sigma_last);
      }
  }


  template <int dim>
  void
  LangevinSampler<dim>::assert_not_diverged(const Batch &      batch,
                                            const unsigned int level,
                                            const unsigned int step,
                                            const double       sigma,
                                            const double       sigma_last) const
  {
    const torch::Tensor too_large  = (batch.norm(batch.v) > batch.limit).nonzero();
    const int           local_flag = too_large.numel() > 0 ? 1 : 0;
    if (Utilities::MPI::max(local_flag, batch.comm) != 0)
      {
        std::ostringstream message;
        message << "langevin: the samples diverge: the L2 norm grew beyond " << divergence_factor
                << " times its initial value "
                << where(level, n_levels, step, steps_per_level, sigma,
                         batch.first +
                           (too_large.numel() > 0 ? too_large[0][0].item<std::int64_t>() : 0))
                << ". Reduce the Step size (stable below 2 sigma_min^2 = "
                << 2 * sigma_last * sigma_last << " for exact scores).";
        AssertThrow(false, ExcMessage(message.str()));
      }
  }


  template <int dim>
  void
  LangevinSampler<dim>::denoise(Batch &batch, const double sigma_last) const
  {
    const torch::Tensor sigmas = torch::full({static_cast<std::int64_t>(batch.size)}, sigma_last,
                                             torch::TensorOptions().dtype(torch::kFloat64));
    const torch::Tensor f      = batch.counter.evaluate(batch.score, batch.v, sigmas);
    const auto          bad    = sampler_tools::non_finite_rows(f, batch.comm);
    std::ostringstream  message;
    if (!bad.empty())
      message << "langevin: the score is not finite (NaN or Inf) in the final denoising "
                 "step (sigma = "
              << sigma_last << "), sample " << batch.first + bad.front() << ".";
    AssertThrow(bad.empty(), ExcMessage(message.str()));
    batch.v.add_(f, sigma_last * sigma_last);
  }


} // namespace ddo

DDO_REGISTER_SAMPLER(ddo::LangevinSampler,
                     "langevin",
                     "annealed preconditioned Langevin dynamics (DDO paper), L*T evaluations; "
                     "with Predictor = probability flow, predictor-corrector sampling")
