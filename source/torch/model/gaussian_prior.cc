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
    double                   likelihood_time = 0;
    const LikelihoodGradient gradient        = internal::pull_back_likelihood<dim>(
      likelihood, DataNormalization{mean, 1.}, nullptr, space.n_dofs(), likelihood_time);
    auto                counts    = std::make_shared<PosteriorCounts>();
    const ScoreFunction posterior = make_posterior_score<dim>(score(), space, covariance, gradient, guidance, counts);
    SamplerReport       sampler_report;
    const torch::Tensor w =
      sampler.sample(posterior, space, covariance, range, n_samples, seed, first_sample_index, &sampler_report);
    if (report)
      {
        report->sampler         = sampler_report;
        report->counts          = *counts;
        report->likelihood_time = likelihood_time;
      }
    return to_fields(w);
  }


  template class GaussianPrior<2>;
  template class GaussianPrior<3>;
} // namespace ddo
