#include <deal.II/base/mpi.h>

#include <ddo/torch/model/gaussian_score.h>
#include <ddo/base/hashing.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/covariance/white_noise.h>

#include <algorithm>
#include <cmath>

namespace ddo
{
  template <int dim>
  struct GaussianScore<dim>::Data
  {
    torch::Tensor phi;      // [n_local, K]
    torch::Tensor mass_phi; // [n_local, K]: M phi_k
    torch::Tensor s;        // [K]
    torch::Tensor c;        // [K]
    MPI_Comm      communicator;

    torch::Tensor
    project(const torch::Tensor &v) const
    {
      AssertThrow(v.dim() == 2 && v.size(1) == phi.size(0),
                  ExcMessage("GaussianScore: expected vectors of shape [B, " +
                             std::to_string(phi.size(0)) + "], got " + std::to_string(v.dim()) +
                             " dimensions with " +
                             std::to_string(v.dim() == 2 ? v.size(1) : v.numel()) +
                             " entries per row."));
      torch::Tensor a = v.to(torch::kFloat64).matmul(mass_phi).contiguous();
      if (Utilities::MPI::n_mpi_processes(communicator) > 1)
        {
          std::vector<double> local(a.data_ptr<double>(), a.data_ptr<double>() + a.numel());
          std::vector<double> global(local.size());
          Utilities::MPI::sum(ArrayView<const double>(local), communicator, ArrayView<double>(global));
          std::copy(global.begin(), global.end(), a.data_ptr<double>());
        }
      return a;
    }

    torch::Tensor
    score(const torch::Tensor &v, const torch::Tensor &sigma) const
    {
      AssertThrow(sigma.numel() == v.size(0),
                  ExcMessage("GaussianScore: one sigma per row expected, got " +
                             std::to_string(sigma.numel()) + " for " +
                             std::to_string(v.size(0)) + " rows."));
      const torch::Tensor sigma2 = sigma.to(torch::kFloat64).reshape({-1, 1}).pow(2);
      const torch::Tensor factor = c / (s + sigma2 * c); // [B, K]
      return -(project(v) * factor).matmul(phi.t());
    }
  };


  template <int dim>
  GaussianScore<dim>::GaussianScore(const SpectralBasis<dim> &basis,
                                    const SpectralDensity &   target_variance,
                                    const SpectralDensity &   noise_variance)
  {
    lambdas = basis.eigenvalues();
    for (const double lambda : lambdas)
      {
        s.push_back(target_variance(std::max(0., lambda)));
        c.push_back(noise_variance(std::max(0., lambda)));
      }
    setup(basis);
  }


  template <int dim>
  GaussianScore<dim>::GaussianScore(const SpectralBasis<dim> & basis,
                                    const std::vector<double> &target_variances,
                                    const std::vector<double> &noise_variances)
    : lambdas(basis.eigenvalues())
    , s(target_variances)
    , c(noise_variances)
  {
    setup(basis);
  }


  template <int dim>
  void
  GaussianScore<dim>::setup(const SpectralBasis<dim> &basis)
  {
    const unsigned int K = basis.n_modes();
    AssertThrow(s.size() == K && c.size() == K,
                ExcMessage("GaussianScore: " + std::to_string(s.size()) + " target and " +
                           std::to_string(c.size()) + " noise variances for " +
                           std::to_string(K) + " modes."));
    for (unsigned int k = 0; k < K; ++k)
      AssertThrow(s[k] > 0 && c[k] > 0 && std::isfinite(s[k]) && std::isfinite(c[k]),
                  ExcMessage("GaussianScore: mode " + std::to_string(k) + " (lambda = " +
                             std::to_string(lambdas[k]) + ") has target variance " +
                             std::to_string(s[k]) + " and noise variance " +
                             std::to_string(c[k]) + "; both must be positive."));

    const FunctionSpace<dim> &space = basis.get_space();
    std::vector<VectorType>   mass_phi(K, space.create_vector());
    std::vector<const VectorType *> phi_pointers, mass_phi_pointers;
    for (unsigned int k = 0; k < K; ++k)
      {
        space.mass_matrix().vmult(mass_phi[k], basis.eigenvectors()[k]);
        phi_pointers.push_back(&basis.eigenvectors()[k]);
        mass_phi_pointers.push_back(&mass_phi[k]);
      }

    auto d = std::make_shared<Data>();
    d->phi = torch_bridge::to_tensor(phi_pointers, torch::kFloat64).t().contiguous();
    d->mass_phi = torch_bridge::to_tensor(mass_phi_pointers, torch::kFloat64).t().contiguous();
    d->s = torch::tensor(s, torch::TensorOptions().dtype(torch::kFloat64));
    d->c = torch::tensor(c, torch::TensorOptions().dtype(torch::kFloat64));
    d->communicator = space.get_mpi_communicator();
    data            = d;
  }


  template <int dim>
  unsigned int
  GaussianScore<dim>::n_modes() const
  {
    return s.size();
  }


  template <int dim>
  const std::vector<double> &
  GaussianScore<dim>::eigenvalues() const
  {
    return lambdas;
  }


  template <int dim>
  const std::vector<double> &
  GaussianScore<dim>::target_variances() const
  {
    return s;
  }


  template <int dim>
  const std::vector<double> &
  GaussianScore<dim>::noise_variances() const
  {
    return c;
  }


  template <int dim>
  std::vector<double>
  GaussianScore<dim>::noisy_variances(const double sigma) const
  {
    std::vector<double> result(s.size());
    for (unsigned int k = 0; k < s.size(); ++k)
      result[k] = s[k] + sigma * sigma * c[k];
    return result;
  }


  template <int dim>
  torch::Tensor
  GaussianScore<dim>::operator()(const torch::Tensor &v, const torch::Tensor &sigma) const
  {
    return data->score(v, sigma);
  }


  template <int dim>
  ScoreFunction
  GaussianScore<dim>::score_function() const
  {
    const std::shared_ptr<const Data> d = data;
    return [d](const torch::Tensor &v, const torch::Tensor &sigma) { return d->score(v, sigma); };
  }


  template <int dim>
  torch::Tensor
  GaussianScore<dim>::project(const torch::Tensor &v) const
  {
    return data->project(v);
  }


  template <int dim>
  torch::Tensor
  GaussianScore<dim>::expand(const torch::Tensor &a) const
  {
    AssertThrow(a.dim() == 2 && a.size(1) == data->phi.size(1),
                ExcMessage("GaussianScore::expand: expected coefficients of shape [B, " +
                           std::to_string(data->phi.size(1)) + "]."));
    return a.to(torch::kFloat64).matmul(data->phi.t());
  }


  template <int dim>
  torch::Tensor
  GaussianScore<dim>::sample(const std::vector<double> &mode_variances,
                             const unsigned int         n_samples,
                             const std::uint64_t        seed,
                             const unsigned int         first_sample_index) const
  {
    const unsigned int K = n_modes();
    AssertThrow(mode_variances.size() == K,
                ExcMessage("GaussianScore::sample: " + std::to_string(mode_variances.size()) +
                           " variances for " + std::to_string(K) + " modes."));
    torch::Tensor  z = torch::empty({static_cast<std::int64_t>(n_samples), K},
                                   torch::TensorOptions().dtype(torch::kFloat64));
    Vector<double> row(K);
    for (unsigned int i = 0; i < n_samples; ++i)
      {
        // Every rank draws the same numbers: they depend on the indices only.
        WhiteNoise<dim>::standard_normal(
          hashing::combine(hashing::combine(hashing::mix(seed), first_sample_index + i),
                           0x6a055ULL),
          row);
        for (unsigned int k = 0; k < K; ++k)
          row[k] *= std::sqrt(mode_variances[k]);
        z[i].copy_(torch_bridge::view(row));
      }
    return expand(z);
  }


  template <int dim>
  torch::Tensor
  GaussianScore<dim>::sample_target(const unsigned int  n_samples,
                                    const std::uint64_t seed,
                                    const unsigned int  first_sample_index) const
  {
    return sample(s, n_samples, seed, first_sample_index);
  }


  template <int dim>
  ModeStatistics
  GaussianScore<dim>::mode_statistics(const torch::Tensor &samples) const
  {
    AssertThrow(samples.size(0) > 0, ExcMessage("GaussianScore::mode_statistics: no samples."));
    const torch::Tensor a      = project(samples);
    const torch::Tensor mean   = a.mean(0).contiguous();
    const torch::Tensor second = (a * a).mean(0).contiguous();
    ModeStatistics      result;
    result.n_samples = samples.size(0);
    result.mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
    result.second_moment.assign(second.data_ptr<double>(), second.data_ptr<double>() + second.numel());
    return result;
  }


  template <int dim>
  std::vector<double>
  GaussianScore<dim>::relative_score_error(const ScoreFunction &model,
                                           const double         sigma,
                                           const unsigned int   n_samples,
                                           const std::uint64_t  seed) const
  {
    const torch::Tensor v = sample(noisy_variances(sigma), n_samples, seed);
    const torch::Tensor sigmas =
      torch::full({static_cast<std::int64_t>(n_samples)}, sigma,
                  torch::TensorOptions().dtype(torch::kFloat64));
    ScoreEvaluationCounter counter;
    const torch::Tensor    exact = project((*this)(v, sigmas));
    const torch::Tensor    error = project(counter.evaluate(model, v, sigmas)) - exact;
    const torch::Tensor ratio = ((error * error).mean(0) / (exact * exact).mean(0)).contiguous();
    return std::vector<double>(ratio.data_ptr<double>(), ratio.data_ptr<double>() + ratio.numel());
  }


  std::vector<BandStatistics>
  band_statistics(const std::vector<double> &eigenvalues,
                  const ModeStatistics &     statistics,
                  const std::vector<double> &reference_variances,
                  const unsigned int         n_bands)
  {
    const unsigned int K = eigenvalues.size();
    AssertThrow(statistics.second_moment.size() == K && reference_variances.size() == K,
                ExcMessage("band_statistics: " + std::to_string(K) + " eigenvalues, " +
                           std::to_string(statistics.second_moment.size()) + " statistics and " +
                           std::to_string(reference_variances.size()) + " reference variances."));
    AssertThrow(n_bands >= 1 && n_bands <= K,
                ExcMessage("band_statistics: cannot make " + std::to_string(n_bands) +
                           " bands of " + std::to_string(K) + " modes."));
    AssertThrow(statistics.n_samples > 0, ExcMessage("band_statistics: no samples."));
    std::vector<BandStatistics> bands(n_bands);
    const double                n = statistics.n_samples;
    unsigned int                k = 0;
    for (unsigned int b = 0; b < n_bands; ++b)
      {
        BandStatistics &band = bands[b];
        band.first_mode      = k;
        band.n_modes         = K / n_bands + (b < K % n_bands ? 1 : 0);
        band.lambda_min      = eigenvalues[k];
        double ratio_sum = 0, max_mean = 0;
        for (unsigned int i = 0; i < band.n_modes; ++i, ++k)
          {
            ratio_sum += statistics.second_moment[k] / reference_variances[k];
            max_mean = std::max(max_mean,
                                std::abs(statistics.mean[k]) / std::sqrt(reference_variances[k] / n));
          }
        band.lambda_max            = eigenvalues[k - 1];
        band.variance_ratio        = ratio_sum / band.n_modes;
        band.standard_error        = std::sqrt(2. / (n * band.n_modes));
        band.max_standardized_mean = max_mean;
      }
    return bands;
  }


  template class GaussianScore<2>;
  template class GaussianScore<3>;
} // namespace ddo
