#include <deal.II/lac/vector.h>

#include <ddo/base/finite.h>
#include <ddo/torch/sampler/dps_posterior.h>
#include <ddo/torch/torch_bridge.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ddo
{
  std::vector<double>
  power_law_levels(const NoiseRange &range, const unsigned int n, const double rho)
  {
    range.check();
    AssertThrow(n >= 2, ExcMessage("Noise levels: at least 2 are needed, got " + std::to_string(n) + "."));
    AssertThrow(rho > 0 && std::isfinite(rho), ExcMessage("Noise levels: the exponent must be positive."));
    const double        top = std::pow(range.sigma_max, 1. / rho), bottom = std::pow(range.sigma_min, 1. / rho);
    std::vector<double> levels(n);
    for (unsigned int i = 0; i < n; ++i)
      levels[i] = std::pow(top + double(i) / (n - 1) * (bottom - top), rho);
    levels.front() = range.sigma_max;
    levels.back()  = range.sigma_min;
    return levels;
  }


  namespace
  {
    void
    check_settings(const DpsSettings &settings, const unsigned int n_dofs, const ScoreFunction &prior,
                   const LikelihoodWithGradient &likelihood, const bool distributed)
    {
      AssertThrow(!distributed, ExcMessage("DPS posterior: distributed meshes are not supported; use a serial "
                                           "(or replicated) mesh, or GenerativePrior with a model mesh."));
      AssertThrow(prior && likelihood,
                  ExcMessage("DPS posterior: the prior score and the likelihood must both be given."));
      AssertThrow(settings.n_steps >= 2,
                  ExcMessage("DPS posterior: at least 2 steps are needed, got " + std::to_string(settings.n_steps) + "."));
      AssertThrow(settings.misfit_reduction > 0 && settings.misfit_reduction <= 1,
                  ExcMessage("DPS posterior: the misfit reduction must lie in (0, 1]."));
      AssertThrow(settings.misfit_floor >= 0, ExcMessage("DPS posterior: the misfit floor must not be negative."));
      AssertThrow(settings.fresh_noise <= 1., ExcMessage("DPS posterior: Fresh noise must be at most 1."));
      AssertThrow(settings.difference_step > 0 && settings.difference_step < 1,
                  ExcMessage("DPS posterior: the difference step must lie in (0, 1)."));
      AssertThrow(settings.batch_size >= 1, ExcMessage("DPS posterior: Batch size must be positive."));
      AssertThrow(settings.guidance_end >= 0 && std::isfinite(settings.guidance_end),
                  ExcMessage("DPS posterior: the guidance end must be a noise level, at least 0."));
      AssertThrow(settings.preconditioner_power >= 1,
                  ExcMessage("DPS posterior: the preconditioner's power must be at least 1."));
      AssertThrow(settings.proximal_below >= 0 && std::isfinite(settings.proximal_below),
                  ExcMessage("DPS posterior: Proximal below must be a noise level, at least 0."));
      AssertThrow(settings.proximal_fresh_noise <= 1.,
                  ExcMessage("DPS posterior: the fresh noise of the proximal steps must be at most 1."));
      AssertThrow(settings.proximal_iterations >= 1,
                  ExcMessage("DPS posterior: at least 1 iteration per proximal step."));
      AssertThrow(settings.field_scale > 0 && std::isfinite(settings.field_scale),
                  ExcMessage("DPS posterior: the field scale of the proximal steps must be positive."));
      AssertThrow(n_dofs > 0, ExcMessage("DPS posterior: the space has no DoFs."));
    }


    /**
     * The next step of a backtracking search after the step @p alpha raised
     * the misfit by @p rise (slope -@p slope at 0): the minimizer of the
     * parabola through the two values and the slope, kept within [0.1, 0.5]
     * of @p alpha (Nocedal & Wright, section 3.5); 0.1 alpha where the value
     * was not finite.
     */
    double
    next_trial(const double alpha, const double rise, const double slope)
    {
      if (!std::isfinite(rise))
        return 0.1 * alpha;
      const double minimizer = slope * alpha * alpha / (2. * (rise + slope * alpha));
      return std::min(0.5 * alpha, std::max(0.1 * alpha, minimizer));
    }


    /**
     * The guidance of one step for a batch, row by row: the misfit
     * \f$\Phi = -\log L\f$ of the denoised estimates, its gradient, and the
     * line search along the direction through the denoiser.
     */
    template <int dim>
    class MisfitGuidance
    {
    public:
      MisfitGuidance(const FunctionSpace<dim> &space, const LikelihoodWithGradient &likelihood,
                     const DpsSettings &settings, PosteriorCounts &counts)
        : space(space)
        , likelihood(likelihood)
        , settings(settings)
        , counts(counts)
        , row(space.n_dofs())
        , gradient(space.n_dofs())
      {}

      /** Misfits of the rows of @p x in @p misfit, their Euclidean gradients as a tensor. */
      torch::Tensor
      misfit_gradients(const torch::Tensor &x, std::vector<double> &misfit)
      {
        torch::Tensor result = torch::empty_like(x);
        misfit.resize(x.size(0));
        for (std::int64_t b = 0; b < x.size(0); ++b)
          {
            misfit[b] = evaluate(x[b]);
            AssertThrow(std::isfinite(misfit[b]) && all_finite(gradient),
                        ExcMessage("DPS posterior: the likelihood or its gradient is not finite at a denoised "
                                   "estimate."));
            gradient *= -1.;
            result[b].copy_(torch_bridge::view(gradient));
          }
        return result;
      }

      /**
       * Row b of @p x moved to x - alpha delta by the misfit-controlled step
       * (see sample_dps_posterior()); returns the number of rows moved.
       */
      unsigned int
      step(torch::Tensor &x, const torch::Tensor &delta, const torch::Tensor &gradients,
           const std::vector<double> &misfit)
      {
        const torch::Tensor slopes = (gradients * delta).sum(1);
        unsigned int        moved  = 0;
        for (std::int64_t b = 0; b < x.size(0); ++b)
          {
            const double excess = misfit[b] - settings.misfit_floor;
            const double slope  = slopes[b].item<double>();
            if (!(excess > 0) || !(slope > 0) || !std::isfinite(slope))
              continue;
            double alpha = settings.misfit_reduction * excess / slope;
            for (unsigned int trial = 0; trial <= 10; ++trial)
              {
                const double value = evaluate(x[b] - alpha * delta[b]);
                if (std::isfinite(value) && value < misfit[b])
                  {
                    x[b].copy_(torch_bridge::view(row));
                    ++moved;
                    break;
                  }
                alpha = next_trial(alpha, value - misfit[b], slope);
              }
          }
        return moved;
      }

    private:
      /** -log L of @p x (constraints distributed; kept in row), the gradient of log L in gradient. */
      double
      evaluate(const torch::Tensor &x)
      {
        torch_bridge::from_tensor(x, row);
        space.get_constraints().distribute(row);
        gradient = 0;
        ++counts.likelihood_evaluations;
        return -likelihood(row, gradient);
      }

      const FunctionSpace<dim> &    space;
      const LikelihoodWithGradient &likelihood;
      const DpsSettings &           settings;
      PosteriorCounts &             counts;
      Vector<double>                row, gradient;
    };


    /** Per-row Euclidean norms as a column `[B, 1]`, at least 1e-300. */
    torch::Tensor
    row_norms(const torch::Tensor &t)
    {
      return t.norm(2, {1}, true).clamp_min(1e-300);
    }
  } // namespace


  template <int dim>
  torch::Tensor
  sample_dps_posterior(const ScoreFunction &           prior,
                       const FunctionSpace<dim> &      space,
                       const CovarianceOperator<dim> &noise,
                       const NoiseRange &              range,
                       const LikelihoodWithGradient &  likelihood,
                       const DpsSettings &             settings,
                       const unsigned int              n_samples,
                       const std::uint64_t             seed,
                       const unsigned int              first_sample_index,
                       PosteriorCounts *               counts,
                       SamplerReport *                 report)
  {
    const auto start = std::chrono::steady_clock::now();
    check_settings(settings, space.n_dofs(), prior, likelihood, space.is_distributed());
    const std::vector<double> levels = power_law_levels(range, settings.n_steps, settings.schedule_exponent);
    const auto                f64    = torch::TensorOptions().dtype(torch::kFloat64);
    PosteriorCounts           work;
    std::uint64_t             n_calls = 0, n_moved = 0;
    MisfitGuidance<dim>       guidance(space, likelihood, settings, work);
    // One guided step: the denoised estimates x of the states v moved along
    // the preconditioned misfit gradient carried through the denoiser.
    const auto guide = [&](torch::Tensor &x, const torch::Tensor &v, const auto &denoise) {
      std::vector<double> misfit;
      const torch::Tensor gradients = guidance.misfit_gradients(x, misfit);
      const torch::Tensor direction = precondition_gradient(space, noise, gradients, settings.preconditioner_power);
      const torch::Tensor epsilon   = settings.difference_step * row_norms(v) / row_norms(direction);
      const torch::Tensor delta     = (denoise(v + epsilon * direction) - x) / epsilon;
      return guidance.step(x, delta, gradients, misfit);
    };
    // The proximal step of the lowest levels: the denoised estimates x moved
    // to the most likely fields near them (as in sample_proximal_posterior()).
    const double s2            = settings.field_scale * settings.field_scale;
    const auto   proximal_step = [&](torch::Tensor &x, const double sigma) {
      sampler_tools::solve_proximal_rows(space, noise, likelihood, sigma * sigma * s2 / (s2 + sigma * sigma),
                                         settings.proximal_iterations, x, work);
      return static_cast<unsigned int>(x.size(0));
    };
    sampler_tools::NoiseDraws<dim> draws(&noise, space);
    torch::Tensor result = torch::empty({static_cast<std::int64_t>(n_samples), static_cast<std::int64_t>(space.n_dofs())}, f64);
    for (unsigned int first = 0; first < n_samples; first += settings.batch_size)
      {
        const unsigned int b     = std::min(settings.batch_size, n_samples - first);
        const unsigned int index = first_sample_index + first;
        torch::Tensor      v     = levels[0] * draws.draw(b, Sampler<dim>::initial_noise_seed(seed), index);
        for (unsigned int k = 0; k < levels.size(); ++k)
          {
            const double        sigma = levels[k];
            const torch::Tensor level = torch::full({static_cast<std::int64_t>(b)}, sigma, f64);
            const auto          denoise = [&](const torch::Tensor &state) {
              ++n_calls;
              work.prior_evaluations += b;
              return state + sigma * sigma * prior(state, level).to(torch::kFloat64);
            };
            torch::Tensor x = denoise(v);
            AssertThrow(torch::isfinite(x).all().item<bool>(),
                        ExcMessage("DPS posterior: the denoised estimate is not finite at level " + std::to_string(k) +
                                   " (sigma " + std::to_string(sigma) + ")."));
            torch::Tensor noise_estimate = (v - x) / sigma;
            const bool    proximal       = sigma < settings.proximal_below;
            if (proximal)
              {
                n_moved += proximal_step(x, sigma);
                if (settings.proximal_noise_from_moved_estimate)
                  noise_estimate = (v - x) / sigma;
              }
            else if (sigma >= settings.guidance_end)
              n_moved += guide(x, v, denoise);
            if (k + 1 == levels.size())
              {
                result.narrow(0, first, b).copy_(x);
                break;
              }
            const double next = levels[k + 1];
            const double zeta = sampler_tools::fresh_noise_fraction(
              proximal ? settings.proximal_fresh_noise : settings.fresh_noise, sigma, next);
            v                 = x + next * std::sqrt(1. - zeta) * noise_estimate;
            if (zeta > 0)
              v += next * std::sqrt(zeta) * draws.draw(b, Sampler<dim>::step_noise_seed(seed, k), index);
          }
      }
    sampler_tools::record_posterior_run(work, n_samples, n_calls, std::uint64_t(n_samples) * levels.size(), n_moved,
                                        start, counts, report);
    return result;
  }


  template torch::Tensor
  sample_dps_posterior<2>(const ScoreFunction &, const FunctionSpace<2> &, const CovarianceOperator<2> &,
                          const NoiseRange &, const LikelihoodWithGradient &, const DpsSettings &, const unsigned int,
                          const std::uint64_t, const unsigned int, PosteriorCounts *, SamplerReport *);
  template torch::Tensor
  sample_dps_posterior<3>(const ScoreFunction &, const FunctionSpace<3> &, const CovarianceOperator<3> &,
                          const NoiseRange &, const LikelihoodWithGradient &, const DpsSettings &, const unsigned int,
                          const std::uint64_t, const unsigned int, PosteriorCounts *, SamplerReport *);
} // namespace ddo
