#ifndef ddo_posterior_guidance_h
#define ddo_posterior_guidance_h

/**
 * @file
 * Posterior sampling with a score-based prior: the preconditioned score of
 * the posterior \f$p_\sigma(v \mid y)\f$ as a ScoreFunction, so that every
 * sampler (annealed Langevin, predictor–corrector, the probability-flow ODE)
 * samples the posterior unchanged (DESIGN.md §1, conditional sampling).
 *
 * @ingroup sampler
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/model/score_function.h>

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ddo
{
  using namespace dealii;

  /**
   * The gradient of an application's log-likelihood \f$\log L(u)\f$ with
   * respect to the coefficient vector u, for a batch of states.
   *
   * - @p u: `[B, n_local]` float64 coefficient vectors in the coordinates of
   *   the score it is combined with;
   * - @p sigma: `[B]`: the noise level of the sampler's state in each row,
   *   in the same coordinates. The likelihood of a noisy or estimated field
   *   is wider than that of the field itself, and a Gaussian likelihood with
   *   observation noise \f$\eta^2\f$ should widen its covariance with
   *   \f$\sigma\f$ (the guidance stays stable at the high levels, and is
   *   exact for linear observations of a Gaussian prior):
   *   - at the noisy state (GuidanceSettings::Point::noisy_state), by the
   *     observed noise: \f$\eta^2 I + \sigma^2 H C H^T\f$ (Jalal et al.
   *     2021; its diagonal alone can make annealed Langevin unstable when
   *     observations are correlated);
   *   - at the denoised estimate, by its error \f$\mathrm{Cov}(u\mid v)
   *     = \sigma^2 J_D C\f$, at most \f$\sigma^2 C\f$ and at most the
   *     prior's covariance;
   * - returns `[B, n_local]`: the Euclidean gradient
   *   \f$\partial\log L/\partial u\f$ (for \f$L\f$ built from a PDE, one
   *   adjoint solve per row).
   *
   * Row b of the result depends on row b of the input only.
   */
  using LikelihoodGradient = std::function<torch::Tensor(const torch::Tensor &u, const torch::Tensor &sigma)>;


  /**
   * Settings of the proximal (data-consistent) posterior sampler, see
   * sample_proximal_posterior().
   */
  struct ProximalSettings
  {
    /** Noise levels, geometric from sigma_max to sigma_min: one prior evaluation each. */
    unsigned int n_levels = 100;
    /** L-BFGS iterations of each level's proximal problem. */
    unsigned int n_iterations = 8;
    /**
     * The fraction $\zeta$ of fresh noise in the renoising step;
     * negative: ancestral, $\zeta_k = 1 - \sigma_{k+1}^2/\sigma_k^2$.
     */
    double fresh_noise = -1.;
    /**
     * The prior's spread s against the noise, in the sampler's coordinates
     * (1 for a model trained on normalized data and for GaussianPrior): the
     * denoised estimate's error at level σ is taken as
     * $N(0, \sigma^2 s^2/(s^2+\sigma^2)\, C)$.
     */
    double field_scale = 1.;
    /** Samples advanced together (bounds the memory of the prior's batch). */
    unsigned int batch_size = 100;
  };


  /**
   * Settings of diffusion posterior sampling with a misfit-controlled step
   * (sample_dps_posterior()).
   */
  struct DpsSettings
  {
    /** Steps of the deterministic or ancestral sampler; two prior evaluations each. */
    unsigned int n_steps = 250;
    /**
     * The exponent ρ of the levels \f$\sigma_i = (\sigma_{max}^{1/\rho} +
     * \tfrac{i}{n-1}(\sigma_{min}^{1/\rho} - \sigma_{max}^{1/\rho}))^\rho\f$
     * (Karras et al. 2022); 1 is uniform in σ, large values crowd the
     * levels near σ_min.
     */
    double schedule_exponent = 7.;
    /**
     * The fraction κ ∈ (0, 1] by which each step's guidance may lower the
     * data misfit of the denoised estimate: α₀ lowers the linearized misfit
     * by κ times its excess over misfit_floor, and is shortened by quadratic
     * interpolation until the true misfit falls.
     */
    double misfit_reduction = 0.5;
    /**
     * The misfit (−log L) the guidance does not go below: for observations
     * with noise, half the number of observations (a sample that explains
     * the data to the noise); 0 for noiseless data.
     */
    double misfit_floor = 0.;
    /** Fresh noise fraction ζ of each step, as in ProximalSettings; 0: deterministic. */
    double fresh_noise = 0.;
    /**
     * The noise level below which the steps are not guided: the last levels
     * follow the prior alone, so that the denoiser shapes what the guidance
     * left (0: every step is guided).
     */
    double guidance_end = 0.;
    /**
     * The power p of the guidance's preconditioner \f$(CM)^{p-1}C\f$ (C the
     * noise covariance, M the mass matrix): each power smooths the step
     * further (1: the noise covariance).
     */
    unsigned int preconditioner_power = 1;
    /**
     * The noise level below which a step's guidance is the proximal step
     * of the proximal sampler instead of the step through the denoiser:
     * proximal_iterations L-BFGS iterations from the denoised estimate with
     * \f$\rho = \sigma^2 s^2/(s^2 + \sigma^2)\f$ (s: field_scale), and no
     * forward difference, so one prior evaluation at those steps instead of
     * two (0: no proximal steps). Below this level the proximal step is
     * taken also where guidance_end would leave a step unguided.
     */
    double proximal_below = 0.;
    /** L-BFGS iterations of each proximal step (see proximal_below). */
    unsigned int proximal_iterations = 10;
    /** The prior's spread s of the proximal steps, as ProximalSettings::field_scale. */
    double field_scale = 1.;
    /**
     * The fresh noise fraction of the renoising after a proximal step, as
     * ProximalSettings::fresh_noise (negative: ancestral). The proximal step
     * moves the estimate to a conditional mean; without fresh noise the
     * samples would collapse onto the posterior mean in the directions the
     * data determine.
     */
    double proximal_fresh_noise = -1.;
    /**
     * Which noise a proximal step renoises with. false: the denoiser's
     * estimate (v - x)/σ, as the steps through the denoiser do, so that the
     * state keeps the whole correction of the data; true: the estimate
     * (v - x̂)/σ from the moved field, as the proximal sampler does, which is
     * nearly exact for a Gaussian prior and linear observations. Measured on
     * a linear problem (rms misfit of the samples in units of the noise;
     * exact posterior samples 1.01): 0.33 and 0.91; on the Darcy problem of
     * examples/step-4, 500 observations: 0.99 and 2.28, with 3.8% and 6.5%
     * of the plate misclassified by the posterior mean.
     */
    bool proximal_noise_from_moved_estimate = false;
    /** Relative step of the forward difference of the denoiser. */
    double difference_step = 1e-3;
    /** Samples advanced together (bounds the memory of the prior's batch). */
    unsigned int batch_size = 100;
  };


  /**
   * Where the likelihood guidance is evaluated, and how strongly.
   *
   * Let F be the prior's preconditioned score and C the noise covariance.
   * The posterior's preconditioned score is
   * \f$F_y(v,\sigma) = F(v,\sigma) + C\nabla_v\log p_\sigma(y\mid v)\f$.
   * The noisy likelihood \f$p_\sigma(y\mid v)\f$ is not known; two
   * approximations, both exact as \f$\sigma\to 0\f$:
   * - **noisy state**: \f$\nabla_v\log p_\sigma(y\mid v) \approx
   *   \nabla\log L_\sigma(v)\f$, the application's gradient at the noisy
   *   state itself (with its own widening by σ, see LikelihoodGradient):
   *   annealed Langevin and predictor–corrector sampling with likelihood
   *   guidance;
   * - **denoised estimate** (diffusion posterior sampling, Chung et al.
   *   2023): \f$p_\sigma(y\mid v) \approx L_\sigma(D(v))\f$ with the Tweedie
   *   estimate \f$D(v) = v + \sigma^2F(v,\sigma)\f$. Its gradient needs the
   *   Jacobian of D, which a network evaluated without autograd does not
   *   give; but for a score that is a gradient field
   *   \f$C J_D^T g = J_D C g\f$, a directional derivative, taken here by a
   *   forward difference: one more prior evaluation per step, no
   *   back-propagation through the network, exact for a linear score.
   *
   * The guidance term is multiplied by `scale` (1: the posterior itself).
   */
  struct GuidanceSettings
  {
    enum class Point
    {
      noisy_state,
      denoised_estimate
    };

    /**
     * How the posterior is sampled: the posterior score through the selected
     * sampler (guided score), or the proximal sampler, whose every level
     * solves a small optimization problem with the likelihood
     * (sample_proximal_posterior(); the sampler plugin is not used), or
     * diffusion posterior sampling with the misfit-controlled step
     * (sample_dps_posterior(); the sampler plugin is not used).
     */
    enum class Method
    {
      guided_score,
      proximal,
      dps
    };

    Method           method = Method::guided_score;
    ProximalSettings proximal;
    DpsSettings      dps;

    Point point = Point::noisy_state;
    /** Multiplies the likelihood term (1: the posterior). */
    double scale = 1.;
    /**
     * Relative step of the forward difference of the denoised-estimate
     * guidance: the state moves by this fraction of its norm.
     */
    double difference_step = 1e-3;

    /**
     * Declares `Method`, `Likelihood at`, `Guidance scale`, `Difference
     * step` and the subsections `Proximal` and `DPS`.
     */
    static void
    declare_parameters(ParameterHandler &prm);

    /** Reads them; throws for a non-positive scale or step. */
    void
    parse_parameters(ParameterHandler &prm);
  };


  /** What a posterior score did, summed over all its calls. */
  struct PosteriorCounts
  {
    /** Rows evaluated by the likelihood gradient (PDE solves, typically two per row). */
    std::uint64_t likelihood_evaluations = 0;
    /** Rows evaluated by the prior's score (network evaluations per sample, summed). */
    std::uint64_t prior_evaluations = 0;
  };


  /**
   * The preconditioned posterior score \f$F_y\f$ (see GuidanceSettings) of
   * the prior score @p prior and the likelihood @p likelihood, on the serial
   * space @p space with the prior's noise @p noise (both must outlive the
   * returned function). The preconditioning of the guidance,
   * \f$P\tilde C P^T g\f$, first condenses g onto the free DoFs (constraints
   * of the space), then applies the noise covariance. If @p counts is not
   * null, the work is added to it.
   */
  template <int dim>
  ScoreFunction
  make_posterior_score(ScoreFunction                    prior,
                       const FunctionSpace<dim> &       space,
                       const CovarianceOperator<dim> &  noise,
                       LikelihoodGradient               likelihood,
                       const GuidanceSettings &         settings,
                       std::shared_ptr<PosteriorCounts> counts = nullptr);


  /**
   * The guidance's preconditioner alone: \f$P\tilde C P^T g\f$ for each row
   * of @p gradient (`[B, n_local]`), i.e. the covariance of the noise applied
   * to a Euclidean gradient; with @p power p > 1,
   * \f$(P\tilde C P^T M)^{p-1} P\tilde C P^T g\f$ (M the mass matrix), a
   * smoother direction. Serial spaces.
   */
  template <int dim>
  torch::Tensor
  precondition_gradient(const FunctionSpace<dim> &      space,
                        const CovarianceOperator<dim> &noise,
                        const torch::Tensor &           gradient,
                        unsigned int                    power = 1);
} // namespace ddo

#endif
