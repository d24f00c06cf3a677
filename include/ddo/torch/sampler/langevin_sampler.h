#ifndef ddo_langevin_sampler_h
#define ddo_langevin_sampler_h

/**
 * @file
 * The sampler "langevin": annealed preconditioned Langevin dynamics.
 *
 * @ingroup sampler
 */

#include <ddo/torch/sampler/interface.h>

namespace ddo
{
  /**
   * Annealed preconditioned Langevin dynamics, the sampler of the DDO paper
   * (Lim et al.), in function space (DESIGN.md §1):
   * - levels \f$\sigma_1 = \sigma_{max} > \dots > \sigma_L = \sigma_{min}\f$,
   *   geometric (`Number of levels` L >= 2);
   * - initial state \f$v = \sigma_{max}\xi\f$, \f$\xi\sim N(0,C)\f$;
   * - on level i, with \f$h_i = \varepsilon(\sigma_i/\sigma_L)^2\f$
   *   (`Step size` \f$\varepsilon\f$), `Steps per level` T times
   *   \f$v \leftarrow v + h_i F(v,\sigma_i) + \sqrt{2h_i}\,\xi\f$,
   *   \f$\xi\sim N(0,C)\f$ fresh at every step;
   * - `Predictor = probability flow` (predictor-corrector sampling): before
   *   the steps of level i > 1 the state is transported from
   *   \f$\sigma_{i-1}\f$ to \f$\sigma_i\f$ by the exponential-integrator
   *   step of the probability-flow ODE \f$dv/d\sigma = -\sigma F\f$,
   *   \f$v \leftarrow v + (1-\sigma_i/\sigma_{i-1})\sigma_{i-1}^2
   *   F(v,\sigma_{i-1})\f$ (exact when the denoiser \f$v+\sigma^2F\f$ is
   *   constant along the path, e.g. for a single Gaussian mode far from its
   *   data variance), so the Langevin steps only correct the transport's
   *   errors instead of removing the excess noise of the previous level.
   *   This needs far fewer steps per level than plain annealing
   *   (doc/navier_stokes_results.md); cost L T + L - 1 (+1) evaluations;
   * - `Final denoising` (Tweedie): \f$v \leftarrow v + \sigma_L^2
   *   F(v,\sigma_L)\f$, the posterior mean of the clean function given v.
   *
   * Cost: L T (+1) score evaluations per sample. Because drift and noise are
   * both preconditioned by C, \f$\varepsilon\f$ and T do not depend on the
   * mesh. Guidance for choosing them, from the exact Gaussian case (where
   * \f$h_i\,\|\partial F/\partial v\| \le \varepsilon/\sigma_L^2\f$): the
   * recursion is stable for \f$\varepsilon < 2\sigma_L^2\f$; the
   * variances come out too large by roughly \f$\sigma_L^2/(T\varepsilon)\f$
   * (modes stop relaxing once the data dominate their noise) plus a
   * discretization bias that grows with \f$\varepsilon/\sigma_L^2\f$. With
   * \f$\sigma_{max}/\sigma_L = 1000\f$: \f$\varepsilon = 0.5\sigma_L^2\f$,
   * L = 10, T = 100 give +2%; \f$\varepsilon = \sigma_L^2\f$, T = 50 +3%;
   * \f$\varepsilon = 0.02\sigma_L^2\f$, T = 100 +70% (exact expectations
   * of the chain, see tests/unit/sampler_tests.cc).
   *
   * `Preconditioned noise = false` is the unpreconditioned ablation of the
   * DDO paper: every \f$\xi\f$ (initial state included) is replaced by
   * independent standard normal nodal values (sampler_tools::
   * draw_nodal_white_noise()), while the drift stays what the score is,
   * \f$F = C\nabla\log p_\sigma\f$. The chain then no longer has
   * \f$p_\sigma\f$ as its invariant law, and since the white noise puts a
   * variance of about \f$|\Omega|/N\f$ on each L2-normalized mode, its
   * statistics change with the mesh: it loses resolution independence.
   *
   * After every step the state is checked: a NaN/Inf in the score or the
   * state, or a discrete L2 norm (sampler_tools::MassNorm) above
   * `Divergence factor` times that of the initial state, throws an
   * exception naming the level, the step, \f$\sigma\f$ and the sample.
   */
  template <int dim>
  class LangevinSampler : public Sampler<dim>
  {
  public:
    /**
     * Declares Number of levels, Steps per level, Step size, Final
     * denoising, Preconditioned noise, Predictor, Batch size, Divergence factor.
     */
    static void
    declare_parameters(ParameterHandler &prm);

    void
    parse_parameters(ParameterHandler &prm) override;

  protected:
    unsigned int
    samples_per_batch() const override;

    /** The annealed chains (and predictor steps) of one batch, then the Tweedie step. */
    torch::Tensor
    sample_batch(typename Sampler<dim>::Run &run, const unsigned int first, const unsigned int size) const override;

  private:
    /** One batch of samples (defined in the .cc). */
    struct Batch;

    /** Throws, naming where, if a row of @p t (@p what) is not finite. */
    void
    assert_finite(const Batch &        batch,
                  const torch::Tensor &t,
                  const char *         what,
                  const unsigned int   level,
                  const unsigned int   step,
                  const double         sigma) const;
    /** The probability-flow predictor from level @p previous to level @p sigma. */
    void
    predict(Batch &batch, const unsigned int level, const double previous, const double sigma) const;
    /** The Langevin steps of level @p level (noise level @p sigma). */
    void
    correct(Batch &            batch,
            const unsigned int level,
            const double       sigma,
            const double       sigma_last) const;
    /** Throws if the L2 norm of a sample exceeds its limit. */
    void
    assert_not_diverged(const Batch &      batch,
                        const unsigned int level,
                        const unsigned int step,
                        const double       sigma,
                        const double       sigma_last) const;
    /** The Tweedie step v + sigma_last^2 F(v, sigma_last). */
    void
    denoise(Batch &batch, const double sigma_last) const;

    unsigned int n_levels             = 10;
    unsigned int steps_per_level      = 100;
    double       step_size            = 2e-5;
    bool         final_denoising      = true;
    bool         preconditioned_noise = true;
    bool         flow_predictor       = false;
    unsigned int batch_size           = 100;
    double       divergence_factor    = 1e3;
  };
} // namespace ddo

#endif
