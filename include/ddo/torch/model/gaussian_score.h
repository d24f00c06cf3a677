#ifndef ddo_gaussian_score_h
#define ddo_gaussian_score_h

/**
 * @file
 * The exact preconditioned score of a Gaussian target, and per-mode / per-band
 * statistics of samples: the ground truth for samplers and for judging
 * trained score networks.
 *
 * @ingroup model
 */

#include <ddo/torch/model/score_function.h>
#include <ddo/lac/spectral_basis.h>

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ddo
{
  /**
   * Per-mode statistics of samples v: of their coefficients
   * \f$a_k = \varphi_k^T M v\f$ in an M-orthonormal eigenbasis.
   */
  struct ModeStatistics
  {
    /** Number of samples. */
    unsigned int n_samples = 0;
    /** \f$\bar a_k\f$, the sample mean of each coefficient. */
    std::vector<double> mean;
    /**
     * \f$\overline{a_k^2}\f$, the second moment about zero: the variance
     * estimate for a centred target (a known mean), with
     * \f$\mathrm{Var} = 2 s_k^2/n\f$ for Gaussian samples of variance
     * \f$s_k\f$.
     */
    std::vector<double> second_moment;
  };


  /**
   * Statistics of a band of consecutive modes (see band_statistics()).
   */
  struct BandStatistics
  {
    double       lambda_min = 0, lambda_max = 0;
    unsigned int first_mode = 0, n_modes = 0;
    /** Mean over the band of second_moment_k / reference_k (1 if exact). */
    double variance_ratio = 0;
    /**
     * Standard error of variance_ratio if the coefficients are independent
     * \f$N(0, \mathrm{reference}_k)\f$: \f$\sqrt{2/(n\,m)}\f$, m modes, n
     * samples.
     */
    double standard_error = 0;
    /** \f$\max_k |\bar a_k| / \sqrt{\mathrm{reference}_k/n}\f$ over the band (N(0,1) each if exact). */
    double max_standardized_mean = 0;
  };


  /**
   * Groups the modes (sorted by increasing eigenvalue) into @p n_bands bands
   * of consecutive modes with equal counts (the first bands get one more
   * when the count does not divide), and compares @p statistics with
   * @p reference_variances (e.g. GaussianScore::target_variances()) in each.
   */
  std::vector<BandStatistics>
  band_statistics(const std::vector<double> &eigenvalues,
                  const ModeStatistics &     statistics,
                  const std::vector<double> &reference_variances,
                  const unsigned int         n_bands);


  /**
   * The exact preconditioned score of a centred Gaussian target
   * \f$N(0,\Sigma)\f$ under Gaussian noise \f$N(0, C)\f$, when \f$\Sigma\f$
   * and C are both diagonal in the M-orthonormal generalized eigenbasis
   * \f$K\varphi_k = \lambda_k M\varphi_k\f$ (SpectralBasis) with mode
   * variances \f$s_k\f$ and \f$c_k\f$:
   * \f$\Sigma = \Phi\,\mathrm{diag}(s)\,\Phi^T\f$, \f$C = \Phi\,\mathrm{diag}(c)\,\Phi^T\f$.
   * Then \f$p_\sigma = N(0, \Sigma + \sigma^2 C)\f$ and
   * \f[
   *   F^*(v,\sigma) = C\nabla\log p_\sigma(v) = -C(\Sigma+\sigma^2C)^{-1}v
   *   = -\Phi\,\mathrm{diag}\Big(\frac{c_k}{s_k+\sigma^2c_k}\Big)\Phi^T M v,
   * \f]
   * the minimizer of the denoising score matching loss: the score a perfect
   * network learns. Typical use: \f$s_k, c_k\f$ Matérn spectral densities
   * \f$c(\lambda) = \tau^{-2}(\kappa^2+\lambda)^{-\alpha}\f$ of different
   * parameters (MaternScales::spectral_density), with the noise model
   * "matern_spectral" (SpectralMaternCovariance) on the same basis, whose
   * mode variances are exactly \f$c_k\f$.
   *
   * Only the span of the basis is seen: on its M-orthogonal complement
   * F* is zero. Pair it with noise that lives on the same span (the
   * spectral covariance with the same modes), or use all modes (at most
   * n_free - 1 with SpectralBasis; the dense eigensolver is used for up to
   * 2000 free DoFs).
   *
   * Tensors are `[B, n_local]` float64 rows of locally owned coefficients,
   * as for ScoreFunction; projections are all-reduced on distributed
   * spaces (collective). The object copies what it needs from the basis at
   * construction; functions returned by score_function() are
   * self-contained.
   */
  template <int dim>
  class GaussianScore
  {
  public:
    /** A mode variance as a function of the eigenvalue \f$\lambda \ge 0\f$. */
    using SpectralDensity = std::function<double(double lambda)>;

    /**
     * \f$s_k\f$ = @p target_variance(\f$\lambda_k\f$), \f$c_k\f$ =
     * @p noise_variance(\f$\lambda_k\f$), with \f$\lambda_k\f$ clamped at 0
     * (the constant mode's eigenvalue is zero up to round-off). Both must
     * be positive on every mode.
     */
    GaussianScore(const SpectralBasis<dim> &basis,
                  const SpectralDensity &   target_variance,
                  const SpectralDensity &   noise_variance);

    /** The mode variances given directly (one per mode of @p basis). */
    GaussianScore(const SpectralBasis<dim> & basis,
                  const std::vector<double> &target_variances,
                  const std::vector<double> &noise_variances);

    /** Number of modes K. */
    unsigned int
    n_modes() const;

    /** \f$\lambda_k\f$. */
    const std::vector<double> &
    eigenvalues() const;

    /** \f$s_k\f$: the exact variances of the target's mode coefficients. */
    const std::vector<double> &
    target_variances() const;

    /** \f$c_k\f$: the noise's mode variances. */
    const std::vector<double> &
    noise_variances() const;

    /** \f$s_k + \sigma^2 c_k\f$: mode variances of the noisy law \f$p_\sigma\f$. */
    std::vector<double>
    noisy_variances(const double sigma) const;

    /** \f$F^*(v,\sigma)\f$ for @p v `[B, n_local]` and @p sigma `[B]`. */
    torch::Tensor
    operator()(const torch::Tensor &v, const torch::Tensor &sigma) const;

    /** \f$F^*\f$ as a ScoreFunction (shares the data, not the object). */
    ScoreFunction
    score_function() const;

    /** Coefficients \f$\Phi^T M v\f$ of the rows of @p v: `[B, K]`. */
    torch::Tensor
    project(const torch::Tensor &v) const;

    /** \f$\Phi a\f$ for coefficient rows @p a `[B, K]`: `[B, n_local]`. */
    torch::Tensor
    expand(const torch::Tensor &a) const;

    /**
     * @p n_samples samples \f$\Phi\,\mathrm{diag}(\sqrt{d})\,z\f$ of the
     * centred Gaussian with mode variances @p mode_variances (e.g.
     * target_variances(), or noisy_variances(sigma) for \f$p_\sigma\f$):
     * `[n_samples, n_local]`. Sample i depends on (@p seed,
     * @p first_sample_index + i) only.
     */
    torch::Tensor
    sample(const std::vector<double> &mode_variances,
           const unsigned int         n_samples,
           const std::uint64_t        seed,
           const unsigned int         first_sample_index = 0) const;

    /** Samples of the target \f$N(0,\Sigma)\f$: sample(target_variances(), ...). */
    torch::Tensor
    sample_target(const unsigned int  n_samples,
                  const std::uint64_t seed,
                  const unsigned int  first_sample_index = 0) const;

    /** Per-mode mean and second moment of the rows of @p samples. */
    ModeStatistics
    mode_statistics(const torch::Tensor &samples) const;

    /**
     * The per-mode relative error of a score @p model against \f$F^*\f$ at
     * noise level @p sigma, on @p n_samples exact samples of \f$p_\sigma\f$:
     * \f$E[(\varphi_k^TM(F - F^*))^2] / E[(\varphi_k^TMF^*)^2]\f$ (K values;
     * band them with band_statistics-like grouping). How to judge a trained
     * network per eigenvalue band (DESIGN.md §1).
     */
    std::vector<double>
    relative_score_error(const ScoreFunction &model,
                         const double         sigma,
                         const unsigned int   n_samples,
                         const std::uint64_t  seed) const;

  private:
    struct Data;
    std::shared_ptr<const Data> data;
    std::vector<double>         lambdas;
    std::vector<double>         s;
    std::vector<double>         c;

    void
    setup(const SpectralBasis<dim> &basis);
  };
} // namespace ddo

#endif
