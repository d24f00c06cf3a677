#ifndef ddo_dps_posterior_h
#define ddo_dps_posterior_h

/**
 * @file
 * Diffusion posterior sampling with a misfit-controlled step: the
 * deterministic (or ancestral) sampler of the prior, whose denoised
 * estimate is moved at every step along the likelihood's gradient carried
 * through the denoiser, by a step chosen from the data misfit itself.
 *
 * Why: the guided score (make_posterior_score) adds the likelihood's
 * gradient to the prior's score with the weight the posterior gives it,
 * which on a PDE inverse problem with many accurate observations is either
 * unstable (noise not widened) or too weak to fit the data (widened);
 * diffusion posterior sampling as published (Chung et al. 2023; FunDPS,
 * Yao et al. 2025) instead takes a gradient step on the misfit of the
 * denoised estimate with a hand-tuned weight. Here the weight is the step
 * that lowers the misfit by a set fraction κ of its excess over the noise
 * level (first order, then shortened until the true misfit falls): free of the
 * units of the data and of the number of observations, and the likelihood
 * (a PDE solve) is cheap against a network evaluation, so the check costs
 * little.
 *
 * @ingroup sampler
 */

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/sampler/interface.h>
#include <ddo/torch/sampler/posterior_guidance.h>
#include <ddo/torch/sampler/proximal_posterior.h>

#include <cstdint>
#include <vector>

namespace ddo
{
  /**
   * The @p n levels \f$\sigma_i = (\sigma_{max}^{1/\rho} + \tfrac{i}{n-1}
   * (\sigma_{min}^{1/\rho} - \sigma_{max}^{1/\rho}))^\rho\f$ from
   * range.sigma_max down to range.sigma_min (Karras et al. 2022); ρ = 1 is
   * uniform in σ. Throws for n < 2 or ρ ≤ 0.
   */
  std::vector<double>
  power_law_levels(const NoiseRange &range, const unsigned int n, const double rho);


  /**
   * Posterior samples by diffusion posterior sampling, in the coordinates of
   * the prior score @p prior (noise @p noise on @p space, levels @p range).
   *
   * From \f$v_0 = \sigma_0\xi\f$, at each level \f$\sigma_k\f$ of
   * power_law_levels() (then \f$\sigma_n = 0\f$):
   * 1. the denoised estimate \f$x = v_k + \sigma_k^2F(v_k,\sigma_k)\f$ and
   *    the misfit \f$\Phi = -\log L(x)\f$ with its gradient g (one
   *    likelihood evaluation);
   * 2. the direction \f$\delta = J_D\,\tilde Cg\f$, which equals
   *    \f$\tilde C\nabla_v\Phi(D(v))\f$ for a score that is a gradient
   *    field, by a forward difference of the denoiser (one more prior
   *    evaluation, no back-propagation through the network);
   * 3. the guided estimate \f$\hat x = x - \alpha\delta\f$ with
   *    \f$\alpha_0 = \kappa(\Phi - \Phi_{floor})/(g\cdot\delta)\f$,
   *    shortened to the minimizer of the parabola through \f$\Phi\f$,
   *    its slope and the rejected value (within [0.1, 0.5] of the step; at
   *    most 10 times, else \f$\alpha = 0\f$) until
   *    \f$\Phi(\hat x) < \Phi\f$;
   * 4. \f$v_{k+1} = \hat x + \sigma_{k+1}(\sqrt{1-\zeta}\,\hat\epsilon +
   *    \sqrt{\zeta}\,\xi_k)\f$ with the network's noise estimate
   *    \f$\hat\epsilon = (v_k - x)/\sigma_k\f$.
   *
   * At the levels below settings.proximal_below step 2 and 3 are replaced
   * by the proximal step of sample_proximal_posterior() from x (L-BFGS on
   * the likelihood and the Cameron–Martin distance to x), without the
   * forward difference; the renoising after it draws the fresh noise of
   * settings.proximal_fresh_noise (ancestral by default) and uses the noise
   * estimate of settings.proximal_noise_from_moved_estimate.
   *
   * The last level's \f$\hat x\f$ is the sample. 2 prior evaluations per
   * step and sample (1 at the proximal steps). Random streams as for the samplers: sample j depends
   * on (@p seed, @p first_sample_index + j) only. @p counts gets the prior
   * and likelihood evaluations, @p report the time and prior evaluations.
   * Serial spaces.
   */
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
                       PosteriorCounts *               counts = nullptr,
                       SamplerReport *                 report = nullptr);
} // namespace ddo

#endif
