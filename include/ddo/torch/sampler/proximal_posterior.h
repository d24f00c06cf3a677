#ifndef ddo_proximal_posterior_h
#define ddo_proximal_posterior_h

/**
 * @file
 * Posterior sampling by data-consistent denoising (the proximal sampler):
 * at every noise level the prior's denoised estimate is moved to the most
 * likely field near it, and the state is renoised to the next level. The
 * scheme of DiffPIR (Zhu et al. 2023) and of decomposed diffusion sampling
 * (Chung et al. 2024), here in function space with the noise covariance as
 * the metric and a nonlinear (PDE) likelihood.
 *
 * Why: guidance by the likelihood's gradient (make_posterior_score) must
 * keep the sampler stable at the high noise levels, so its observation
 * noise is widened there, and on a PDE inverse problem with 41 point
 * observations at 1% noise its samples did not fit the data (normalized
 * misfit 5-6 on step-4). The proximal step fits the data at every level by
 * an optimization that needs only the likelihood's value and gradient, and
 * costs one prior evaluation per level.
 *
 * @ingroup sampler
 */

#include <deal.II/lac/vector.h>

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/sampler/interface.h>
#include <ddo/torch/sampler/posterior_guidance.h>

#include <chrono>
#include <cstdint>
#include <functional>

namespace ddo
{
  using namespace dealii;

  /**
   * \f$\log L(x)\f$ (up to a constant) of one field x, coefficients of the
   * sampler's space in its coordinates, and in @p gradient (sized by the
   * caller) the Euclidean gradient \f$\partial\log L/\partial x\f$.
   */
  using LikelihoodWithGradient = std::function<double(const Vector<double> &x, Vector<double> &gradient)>;


  /**
   * The proximal problem of one level: starting from @p x (on input the
   * denoised estimate \f$x_0\f$, which must satisfy the space's
   * constraints), @p n_iterations L-BFGS iterations on
   * \f[
   *   \min_x\; -\log L(x) + \frac{1}{2\rho}\,\|x - x_0\|_{C^{-1}}^2
   * \f]
   * over the free coefficients (the Cameron–Martin norm of the noise
   * @p noise), with the initial inverse Hessian \f$\rho\tilde C\f$, so that
   * the prior part is solved by the first step and only the few directions
   * the data inform need the iterations. For a Gaussian likelihood of
   * linear observations the minimizer is the mean of
   * \f$N(x_0, \rho C)\f$ conditioned on the data. Returns the number of
   * likelihood evaluations. Serial spaces.
   */
  template <int dim>
  unsigned int
  solve_proximal_problem(const FunctionSpace<dim> &      space,
                         const CovarianceOperator<dim> &noise,
                         const LikelihoodWithGradient & likelihood,
                         const double                    rho,
                         const unsigned int              n_iterations,
                         Vector<double> &                x);


  /**
   * Posterior samples by data-consistent denoising, in the coordinates of the
   * prior score @p prior (noise @p noise on @p space, levels @p range).
   *
   * On the levels \f$\sigma_0 = \sigma_{max} > \dots > \sigma_{n-1} =
   * \sigma_{min}\f$ (geometric), from \f$v_0 = \sigma_0\xi\f$:
   * 1. the denoised estimate \f$x_0 = v_k + \sigma_k^2 F(v_k, \sigma_k)\f$
   *    (one prior evaluation);
   * 2. \f$\hat x\f$ = solve_proximal_problem() from \f$x_0\f$ with
   *    \f$\rho_k = \sigma_k^2 s^2/(s^2 + \sigma_k^2)\f$, the variance of
   *    the estimate's error for a prior of spread s (field_scale): the
   *    posterior mean when \f$p(x\mid v_k) \approx N(x_0, \rho_k C)\f$;
   * 3. renoising to the next level with the estimated noise
   *    \f$\hat\epsilon = (v_k - \hat x)/\sigma_k\f$ and fresh noise
   *    \f$\xi_k \sim N(0, C)\f$:
   *    \f$v_{k+1} = \hat x + \sigma_{k+1}(\sqrt{1-\zeta_k}\,\hat\epsilon +
   *    \sqrt{\zeta_k}\,\xi_k)\f$; the ancestral choice \f$\zeta_k = 1 -
   *    \sigma_{k+1}^2/\sigma_k^2\f$ is the exact bridge
   *    \f$p(v_{k+1}\mid v_k, x = \hat x)\f$ of the noising process.
   *
   * The last level's \f$\hat x\f$ is the sample. For a Gaussian prior and
   * linear observations step 2 is exact, and the scheme is ancestral
   * sampling of the posterior's diffusion with its exact denoiser.
   * Random streams as for the samplers (Sampler::initial_noise_seed(),
   * Sampler::step_noise_seed()): sample j depends on (@p seed,
   * @p first_sample_index + j) only. @p counts (if not null) gets the
   * prior and likelihood evaluations, @p report the time and the prior
   * evaluations. Serial spaces.
   */
  template <int dim>
  torch::Tensor
  sample_proximal_posterior(const ScoreFunction &           prior,
                            const FunctionSpace<dim> &      space,
                            const CovarianceOperator<dim> &noise,
                            const NoiseRange &              range,
                            const LikelihoodWithGradient &  likelihood,
                            const ProximalSettings &        settings,
                            const unsigned int              n_samples,
                            const std::uint64_t             seed,
                            const unsigned int              first_sample_index,
                            PosteriorCounts *               counts = nullptr,
                            SamplerReport *                 report = nullptr);


  namespace sampler_tools
  {
    /**
     * Each row of @p x (coefficients of @p space, on input a denoised
     * estimate) replaced by the result of solve_proximal_problem() from it
     * with @p rho and @p n_iterations; the likelihood evaluations are added
     * to @p counts.
     */
    template <int dim>
    void
    solve_proximal_rows(const FunctionSpace<dim> &      space,
                        const CovarianceOperator<dim> &noise,
                        const LikelihoodWithGradient &  likelihood,
                        const double                    rho,
                        const unsigned int              n_iterations,
                        torch::Tensor &                 x,
                        PosteriorCounts &               counts);


    /**
     * The fresh-noise fraction ζ of the step from @p sigma to @p next:
     * @p fresh_noise, or the ancestral 1 - next²/sigma² where it is negative.
     */
    double
    fresh_noise_fraction(const double fresh_noise, const double sigma, const double next);


    /**
     * The end of a posterior sampler's run: adds the evaluations @p work to
     * @p counts and fills @p report (both if not null) with the samples, the
     * network calls, the steps accepted out of @p n_steps and the time since
     * @p start.
     */
    void
    record_posterior_run(const PosteriorCounts &                     work,
                         const unsigned int                          n_samples,
                         const std::uint64_t                         n_network_calls,
                         const std::uint64_t                         n_steps,
                         const std::uint64_t                         n_steps_accepted,
                         const std::chrono::steady_clock::time_point start,
                         PosteriorCounts *                           counts,
                         SamplerReport *                             report);
  } // namespace sampler_tools
} // namespace ddo

#endif
