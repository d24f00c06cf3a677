#include <deal.II/lac/vector.h>

#include <ddo/torch/sampler/posterior_guidance.h>
#include <ddo/torch/torch_bridge.h>

#include <cmath>

namespace ddo
{
  namespace
  {
    /** "ancestral" as -1, or a number in [0, 1]; @p section names the subsection in the message. */
    double
    parse_fresh_noise(const std::string &text, const std::string &section)
    {
      if (text == "ancestral")
        return -1.;
      double value = -1.;
      try
        {
          value = Utilities::string_to_double(text);
        }
      catch (...)
        {}
      AssertThrow(value >= 0. && value <= 1.,
                  ExcMessage("Posterior: " + section + "/Fresh noise must be 'ancestral' or a number in [0, 1], "
                             "got '" + text + "'."));
      return value;
    }
  } // namespace


  void
  GuidanceSettings::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Method", "guided score", Patterns::Selection("guided score|proximal|dps"),
                      "guided score: the prior's score plus the likelihood's guidance (`Likelihood "
                      "at`, `Guidance scale`) through the selected sampler. proximal: at each of "
                      "the levels of subsection Proximal, the prior's denoised estimate is moved "
                      "to the most likely field near it (a few L-BFGS iterations with the "
                      "likelihood), and the state is renoised to the next level; the sampler "
                      "plugin is not used. dps: diffusion posterior sampling on the levels of "
                      "subsection DPS, each step's denoised estimate moved along the likelihood's "
                      "gradient carried through the denoiser, by a step that lowers its data "
                      "misfit by a set fraction; the sampler plugin is not used.");
    prm.enter_subsection("Proximal");
    prm.declare_entry("Number of levels", "100", Patterns::Integer(2),
                      "Noise levels, geometric from sigma_max to sigma_min; one prior "
                      "(network) evaluation per level and sample.");
    prm.declare_entry("Iterations", "8", Patterns::Integer(1),
                      "L-BFGS iterations of each level's proximal problem; each takes one or a "
                      "few likelihood evaluations (a forward and an adjoint solve each).");
    prm.declare_entry("Fresh noise", "ancestral", Patterns::Anything(),
                      "The fraction of fresh noise when the state is renoised to the next "
                      "level: a number in [0, 1] (0: the estimated noise only, 1: fresh noise "
                      "only), or ancestral: 1 - sigma_{k+1}^2/sigma_k^2, the exact bridge of "
                      "the noising process.");
    prm.declare_entry("Field scale", "1", Patterns::Double(0),
                      "The prior's spread against the noise in normalized units (1 for a "
                      "trained model and for the Gaussian prior): the denoised estimate's "
                      "error at level sigma has covariance sigma^2 s^2/(s^2 + sigma^2) C.");
    prm.declare_entry("Batch size", "100", Patterns::Integer(1),
                      "Samples whose prior evaluations are batched.");
    prm.leave_subsection();
    prm.enter_subsection("DPS");
    prm.declare_entry("Number of steps", "250", Patterns::Integer(2),
                      "Noise levels from sigma_max to sigma_min (then a last step to sigma 0); "
                      "two prior (network) evaluations per step and sample.");
    prm.declare_entry("Schedule exponent", "7", Patterns::Double(0),
                      "rho of the levels (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) - "
                      "sigma_max^(1/rho)))^rho; 1: uniform in sigma; large values crowd the "
                      "levels near sigma_min.");
    prm.declare_entry("Misfit reduction", "0.5", Patterns::Double(0),
                      "kappa in (0, 1]: each step's guidance lowers the linearized data misfit "
                      "of the denoised estimate by this fraction of its excess over the noise "
                      "level (shortened until the true misfit falls).");
    prm.declare_entry("Fresh noise", "0", Patterns::Anything(),
                      "The fraction of fresh noise of each step: a number in [0, 1] (0: the "
                      "deterministic sampler) or ancestral: 1 - sigma_{k+1}^2/sigma_k^2.");
    prm.declare_entry("Guidance end", "0", Patterns::Double(0),
                      "The noise level below which the steps are not guided: the last levels "
                      "follow the prior alone (0: every step is guided).");
    prm.declare_entry("Preconditioner power", "1", Patterns::Integer(1),
                      "p of the guidance's preconditioner (C M)^(p-1) C, C the noise covariance "
                      "and M the mass matrix: larger powers give smoother steps.");
    prm.declare_entry("Proximal below", "0", Patterns::Double(0),
                      "The noise level below which each step's guidance is the proximal step "
                      "of Method = proximal (`Proximal iterations` L-BFGS iterations from the "
                      "denoised estimate, field scale and fresh noise of subsection Proximal) instead of the "
                      "step through the denoiser: one prior evaluation at those steps instead of "
                      "two (0: no proximal steps). On examples/step-4 0.1 (the last 50 of 250 "
                      "levels); from 0.5 some samples diverged, the learned denoiser not bringing "
                      "back what the proximal steps moved far from its training states.");
    prm.declare_entry("Proximal iterations", "10", Patterns::Integer(1),
                      "L-BFGS iterations of each proximal step below `Proximal below`.");
    prm.declare_entry("Proximal renoising", "denoiser", Patterns::Selection("denoiser|moved estimate"),
                      "The noise a proximal step renoises with. denoiser: the denoiser's noise "
                      "estimate, as the steps through the denoiser; the state keeps the whole "
                      "correction of the data (fits the data of a learned prior to the noise level). "
                      "moved estimate: the noise estimated from the moved field, as Method = "
                      "proximal; nearly exact for a Gaussian prior and linear observations, where "
                      "the denoiser's estimate over-fits.");
    prm.declare_entry("Batch size", "100", Patterns::Integer(1),
                      "Samples whose prior evaluations are batched.");
    prm.leave_subsection();
    prm.declare_entry("Likelihood at", "noisy state", Patterns::Selection("noisy state|denoised estimate"),
                      "noisy state: the likelihood's gradient at the sampler's state (annealed "
                      "Langevin or predictor-corrector with likelihood guidance; the likelihood "
                      "widens its noise with sigma). denoised estimate: at the Tweedie estimate "
                      "v + sigma^2 F(v, sigma), carried back by a forward difference of the "
                      "denoiser (diffusion posterior sampling; one more prior evaluation).");
    prm.declare_entry("Guidance scale", "1", Patterns::Double(0),
                      "Multiplies the likelihood term; 1 samples the posterior.");
    prm.declare_entry("Difference step", "1e-3", Patterns::Double(0),
                      "Relative step of the forward difference of the denoised-estimate guidance.");
  }


  void
  GuidanceSettings::parse_parameters(ParameterHandler &prm)
  {
    const std::string method_name = prm.get("Method");
    method = method_name == "proximal" ? Method::proximal : method_name == "dps" ? Method::dps : Method::guided_score;
    point           = prm.get("Likelihood at") == "noisy state" ? Point::noisy_state : Point::denoised_estimate;
    scale           = prm.get_double("Guidance scale");
    difference_step = prm.get_double("Difference step");
    AssertThrow(scale > 0 && std::isfinite(scale),
                ExcMessage("Posterior: Guidance scale must be positive, got " + std::to_string(scale) + "."));
    AssertThrow(difference_step > 0 && difference_step < 1,
                ExcMessage("Posterior: Difference step must lie in (0, 1), got " +
                           std::to_string(difference_step) + "."));
    prm.enter_subsection("Proximal");
    proximal.n_levels     = prm.get_integer("Number of levels");
    proximal.n_iterations = prm.get_integer("Iterations");
    proximal.field_scale  = prm.get_double("Field scale");
    proximal.batch_size   = prm.get_integer("Batch size");
    proximal.fresh_noise  = parse_fresh_noise(prm.get("Fresh noise"), "Proximal");
    prm.leave_subsection();
    AssertThrow(proximal.field_scale > 0,
                ExcMessage("Posterior: Proximal/Field scale must be positive."));
    prm.enter_subsection("DPS");
    dps.n_steps           = prm.get_integer("Number of steps");
    dps.schedule_exponent = prm.get_double("Schedule exponent");
    dps.misfit_reduction  = prm.get_double("Misfit reduction");
    dps.fresh_noise       = parse_fresh_noise(prm.get("Fresh noise"), "DPS");
    dps.batch_size        = prm.get_integer("Batch size");
    dps.guidance_end      = prm.get_double("Guidance end");
    dps.preconditioner_power = prm.get_integer("Preconditioner power");
    dps.proximal_below       = prm.get_double("Proximal below");
    dps.proximal_iterations  = prm.get_integer("Proximal iterations");
    dps.proximal_noise_from_moved_estimate = prm.get("Proximal renoising") == "moved estimate";
    prm.leave_subsection();
    dps.field_scale          = proximal.field_scale;
    dps.proximal_fresh_noise = proximal.fresh_noise;
    dps.difference_step = difference_step;
    AssertThrow(dps.schedule_exponent > 0 && std::isfinite(dps.schedule_exponent),
                ExcMessage("Posterior: DPS/Schedule exponent must be positive."));
    AssertThrow(dps.misfit_reduction > 0 && dps.misfit_reduction <= 1,
                ExcMessage("Posterior: DPS/Misfit reduction must lie in (0, 1], got " +
                           std::to_string(dps.misfit_reduction) + "."));
  }


  template <int dim>
  torch::Tensor
  precondition_gradient(const FunctionSpace<dim> &      space,
                        const CovarianceOperator<dim> &noise,
                        const torch::Tensor &           gradient,
                        const unsigned int              power)
  {
    AssertThrow(power >= 1, ExcMessage("Posterior guidance: the preconditioner's power must be at least 1."));
    AssertThrow(!space.is_distributed(),
                ExcMessage("Posterior guidance: distributed meshes are not supported yet; use a "
                           "serial (or replicated) mesh."));
    const torch::Tensor g = gradient.to(torch::kFloat64).contiguous();
    AssertThrow(g.dim() == 2 && g.size(1) == static_cast<std::int64_t>(space.n_dofs()),
                ExcMessage("Posterior guidance: the likelihood gradient has " +
                           std::to_string(g.dim() == 2 ? g.size(1) : -1) + " entries per row, but the space has " +
                           std::to_string(space.n_dofs()) + " DoFs."));
    torch::Tensor      result = torch::empty_like(g);
    Vector<double>     condensed(space.n_dofs());
    VectorType         in = space.create_vector(), out = space.create_vector();
    for (std::int64_t b = 0; b < g.size(0); ++b)
      {
        torch_bridge::from_tensor(g[b], condensed);
        for (unsigned int p = 0; p < power; ++p)
          {
            if (p > 0)
              {
                // The next dual vector: M times the last direction.
                space.mass_matrix().vmult(in, out);
                for (unsigned int i = 0; i < condensed.size(); ++i)
                  condensed[i] = in[i];
              }
            // P^T g: the gradient with respect to the free coefficients.
            space.get_constraints().condense(condensed);
            for (unsigned int i = 0; i < condensed.size(); ++i)
              in[i] = condensed[i];
            noise.apply(in, out);
          }
        result[b].copy_(torch_bridge::view(out));
      }
    return result;
  }


  namespace
  {
    /** @p sigma `[B]` as a column `[B, 1]` of sigma^2, for row-wise products. */
    torch::Tensor
    squared_column(const torch::Tensor &sigma)
    {
      return (sigma * sigma).to(torch::kFloat64).reshape({-1, 1});
    }


    /** Per-row Euclidean norms as a column `[B, 1]`. */
    torch::Tensor
    row_norms(const torch::Tensor &t)
    {
      return t.norm(2, {1}, true);
    }
  } // namespace


  template <int dim>
  ScoreFunction
  make_posterior_score(ScoreFunction                    prior,
                       const FunctionSpace<dim> &       space,
                       const CovarianceOperator<dim> &  noise,
                       LikelihoodGradient               likelihood,
                       const GuidanceSettings &         settings,
                       std::shared_ptr<PosteriorCounts> counts)
  {
    AssertThrow(prior && likelihood, ExcMessage("Posterior: the prior score and the likelihood must both be given."));
    if (!counts)
      counts = std::make_shared<PosteriorCounts>();
    const FunctionSpace<dim> *       space_pointer = &space;
    const CovarianceOperator<dim> *  noise_pointer = &noise;
    return [=](const torch::Tensor &v_in, const torch::Tensor &sigma) -> torch::Tensor {
      const torch::Tensor v        = v_in.to(torch::kFloat64).contiguous();
      const std::int64_t  n_rows   = v.size(0);
      auto                evaluate = [&](const torch::Tensor &state) {
        counts->prior_evaluations += n_rows;
        return prior(state, sigma).to(torch::kFloat64).contiguous();
      };
      auto gradient_at = [&](const torch::Tensor &state, const torch::Tensor &level) {
        counts->likelihood_evaluations += n_rows;
        const torch::Tensor g = likelihood(state, level);
        AssertThrow(g.defined() && g.sizes() == state.sizes(),
                    ExcMessage("Posterior: the likelihood gradient must have the shape of its input."));
        return precondition_gradient(*space_pointer, *noise_pointer, g);
      };

      const torch::Tensor f = evaluate(v);
      if (settings.point == GuidanceSettings::Point::noisy_state)
        return f + settings.scale * gradient_at(v, sigma.to(torch::kFloat64));

      // Diffusion posterior sampling: C J_D^T g = J_D C g at the denoised estimate.
      const torch::Tensor s2       = squared_column(sigma);
      const torch::Tensor denoised = v + s2 * f;
      const torch::Tensor cg       = gradient_at(denoised, sigma.to(torch::kFloat64));
      const torch::Tensor delta =
        settings.difference_step * row_norms(v).clamp_min(1e-300) / row_norms(cg).clamp_min(1e-300);
      const torch::Tensor moved          = v + delta * cg;
      const torch::Tensor moved_denoised = moved + s2 * evaluate(moved);
      return f + settings.scale * (moved_denoised - denoised) / delta;
    };
  }


  template torch::Tensor
  precondition_gradient<2>(const FunctionSpace<2> &, const CovarianceOperator<2> &, const torch::Tensor &,
                           unsigned int);
  template torch::Tensor
  precondition_gradient<3>(const FunctionSpace<3> &, const CovarianceOperator<3> &, const torch::Tensor &,
                           unsigned int);
  template ScoreFunction
  make_posterior_score<2>(ScoreFunction, const FunctionSpace<2> &, const CovarianceOperator<2> &,
                          LikelihoodGradient, const GuidanceSettings &, std::shared_ptr<PosteriorCounts>);
  template ScoreFunction
  make_posterior_score<3>(ScoreFunction, const FunctionSpace<3> &, const CovarianceOperator<3> &,
                          LikelihoodGradient, const GuidanceSettings &, std::shared_ptr<PosteriorCounts>);
} // namespace ddo
