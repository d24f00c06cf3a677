#ifndef ddo_gaussian_prior_h
#define ddo_gaussian_prior_h

/**
 * @file
 * A Gaussian prior \f$N(m_0, C)\f$ with the covariance of a noise model (a
 * Matérn SPDE, the standard prior of PDE-constrained Bayesian inversion),
 * sampled and conditioned with the same samplers and guidance as a trained
 * DDO: the baseline a generative prior has to beat.
 *
 * @ingroup model
 */

#include <deal.II/lac/vector.h>

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/model/generative_prior.h>
#include <ddo/torch/sampler/interface.h>

#include <memory>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * The Gaussian prior \f$u \sim N(m_0\mathbf{1}, C)\f$ on a serial space,
   * with C a CovarianceOperator (e.g. "matern" with the correlation length
   * and smoothness of the data).
   *
   * When the diffusion's noise is C itself, the noisy law is
   * \f$N(m_0, (1+\sigma^2)C)\f$ and its preconditioned score is exact and
   * needs no eigenbasis: \f$F(w,\sigma) = C\nabla\log p_\sigma(w) =
   * -w/(1+\sigma^2)\f$ for \f$w = u - m_0\f$. Posterior sampling then runs
   * through make_posterior_score() and any Sampler exactly as with
   * GenerativePrior, so that the two priors are compared with the same
   * likelihood, sampler and guidance; for a linear observation operator and
   * Gaussian noise the samples are those of the exact Gaussian posterior
   * (up to the sampler's discretization).
   *
   * Fields are coefficient vectors of the space, in the units of u (for a
   * prior on log a, u = log a; the likelihood then takes log a as its
   * field, e.g. darcy_point_pressure with `Field = log permeability`).
   */
  template <int dim>
  class GaussianPrior
  {
  public:
    /**
     * @p covariance: initialized on @p space (both must outlive the
     * prior). @p range: the noise levels the samplers run through.
     */
    GaussianPrior(const FunctionSpace<dim> &       space,
                  const CovarianceOperator<dim> &  covariance,
                  const double                     mean,
                  const NoiseRange &               range = NoiseRange{20., 0.01});

    /** \f$F(w,\sigma) = -w/(1+\sigma^2)\f$ on rows of \f$w = u - m_0\f$. */
    ScoreFunction
    score() const;

    /** @p n_samples prior samples (sample i from the stream (@p seed, @p first_sample_index + i)). */
    std::vector<Vector<double>>
    sample(const Sampler<dim> &sampler,
           const unsigned int  n_samples,
           const std::uint64_t seed,
           const unsigned int  first_sample_index = 0,
           SamplerReport *     report             = nullptr) const;

    /** As GenerativePrior::sample_posterior(), with the likelihood on the fields of the space. */
    std::vector<Vector<double>>
    sample_posterior(const ApplicationLikelihood &likelihood,
                     const Sampler<dim> &         sampler,
                     const GuidanceSettings &     guidance,
                     const unsigned int           n_samples,
                     const std::uint64_t          seed,
                     const unsigned int           first_sample_index = 0,
                     PosteriorReport *            report             = nullptr) const;

  private:
    const FunctionSpace<dim> &      space;
    const CovarianceOperator<dim> &covariance;
    const double                    mean;
    const NoiseRange                range;

    /** Rows of w (`[B, n]`) to fields u = m_0 + w. */
    std::vector<Vector<double>>
    to_fields(const torch::Tensor &w) const;
  };
} // namespace ddo

#endif
