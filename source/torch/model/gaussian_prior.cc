#include <ddo/torch/model/gaussian_prior.h>
#include <ddo/torch/torch_bridge.h>

namespace ddo
{
  template <int dim>
  GaussianPrior<dim>::GaussianPrior(const FunctionSpace<dim> &      space,
                                    const CovarianceOperator<dim> &covariance,
                                    const double                    mean,
                                    const NoiseRange &              range)
    : space(space)
    , covariance(covariance)
    , mean(mean)
    , range(range)
  {
    AssertThrow(std::isfinite(mean), ExcMessage("GaussianPrior: the mean must be finite."));
    range.check();
  }


  template <int dim>
  ScoreFunction
  GaussianPrior<dim>::score() const
  {
    return [](const torch::Tensor &w, const torch::Tensor &sigma) {
      const torch::Tensor s = sigma.to(w.dtype()).reshape({-1, 1});
      return -w / (1. + s * s);
    };
  }


  template <int dim>
  std::vector<Vector<double>>
  GaussianPrior<dim>::to_fields(const torch::Tensor &w) const
  {
    const torch::Tensor         u = (w.to(torch::kFloat64) + mean).contiguous();
    std::vector<Vector<double>> fields(u.size(0), Vector<double>(u.size(1)));
    for (unsigned int b = 0; b < fields.size(); ++b)
      torch_bridge::from_tensor(u[b], fields[b]);
    return fields;
  }


  template <int dim>
  std::vector<Vector<double>>
  GaussianPrior<dim>::sample(const Sampler<dim> &sampler,
                             const unsigned int  n_samples,
                             const std::uint64_t seed,
                             const unsigned int  first_sample_index,
                             SamplerReport *     report) const
  {
    return to_fields(sampler.sample(score(), space, covariance, range, n_samples, seed, first_sample_index, report));
  }


  template <int dim>
  std::vector<Vector<double>>
  GaussianPrior<dim>::sample_posterior(const ApplicationLikelihood &likelihood,
                                       const Sampler<dim> &         sampler,
                                       const GuidanceSettings &     guidance,
                                       const unsigned int           n_samples,
                                       const std::uint64_t          seed,
                                       const unsigned int           first_sample_index,
                                       PosteriorReport *            report) const
  {
    const ScoreFunction                   prior_score = score();
    const internal::PriorCoordinates<dim> prior{prior_score, space, covariance, range, DataNormalization{mean, 1.},
                                                nullptr, space.n_dofs()};
    const torch::Tensor w = internal::sample_posterior(prior, likelihood, sampler, guidance, n_samples, seed,
                                                       first_sample_index, report);
    return to_fields(w);
  }


  template class GaussianPrior<2>;
  template class GaussianPrior<3>;
} // namespace ddo
