// The single definition of the sampler registries, and what the samplers
// share: evaluation counting, noise draws, mass-weighted norms.

#include <deal.II/base/mpi.h>

#include <ddo/base/hashing.h>
#include <ddo/base/plugin_registry.templates.h>
#include <ddo/torch/sampler/interface.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/covariance/white_noise.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace ddo
{
  template class PluginRegistry<Sampler<2>>;
  template class PluginRegistry<Sampler<3>>;


  template <int dim>
  torch::Tensor
  Sampler<dim>::sample(const ScoreFunction &           score,
                       const FunctionSpace<dim> &      space,
                       const CovarianceOperator<dim> &noise,
                       const NoiseRange &              range,
                       const unsigned int              n_samples,
                       const std::uint64_t             seed,
                       const unsigned int              first_sample_index,
                       SamplerReport *                 report) const
  {
    const auto start = std::chrono::steady_clock::now();
    range.check();
    check_settings(range);
    const unsigned int batch_size = samples_per_batch();
    AssertThrow(batch_size > 0, ExcMessage("Sampler: the batch size must be positive."));
    const sampler_tools::MassNorm<dim> norm(space);
    Run run{score, space, noise, range, seed, space.get_mpi_communicator(), norm, {}, 0, 0};

    const std::int64_t n_local = space.locally_owned_dofs().n_elements();
    torch::Tensor      result  = torch::empty({static_cast<std::int64_t>(n_samples), n_local},
                                        torch::TensorOptions().dtype(torch::kFloat64));
    for (unsigned int offset = 0; offset < n_samples; offset += batch_size)
      {
        const unsigned int size = std::min(batch_size, n_samples - offset);
        result.narrow(0, offset, size).copy_(sample_batch(run, first_sample_index + offset, size));
      }

    if (report != nullptr)
      {
        report->n_samples             = n_samples;
        report->n_network_evaluations = run.counter.n_calls();
        report->n_sample_evaluations  = run.counter.n_sample_evaluations();
        report->n_steps_accepted      = run.n_steps_accepted;
        report->n_steps_rejected      = run.n_steps_rejected;
        report->wall_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    return result;
  }


  template <int dim>
  void
  Sampler<dim>::check_settings(const NoiseRange &) const
  {}


  template class Sampler<2>;
  template class Sampler<3>;


  torch::Tensor
  ScoreEvaluationCounter::evaluate(const ScoreFunction &score,
                                   const torch::Tensor &v,
                                   const torch::Tensor &sigma)
  {
    AssertThrow(score, ExcMessage("Sampler: the score function is empty."));
    torch::Tensor result = score(v, sigma);
    ++calls;
    rows += static_cast<std::uint64_t>(v.size(0));
    AssertThrow(result.defined(),
                ExcMessage("The score function returned an undefined tensor."));
    if (result.sizes() != v.sizes())
      {
        std::ostringstream message;
        message << "The score function returned a tensor of shape " << result.sizes()
                << " for input of shape " << v.sizes()
                << "; it must return one value per input entry (is the network bound to "
                   "the sampling mesh?).";
        AssertThrow(false, ExcMessage(message.str()));
      }
    return result.to(torch::kCPU, torch::kFloat64).contiguous();
  }


  ScoreFunction
  make_score_function(std::shared_ptr<ScoreNetworkBase> network)
  {
    AssertThrow(network != nullptr, ExcMessage("make_score_function: no network."));
    return [network](const torch::Tensor &v, const torch::Tensor &sigma) {
      torch::NoGradGuard no_grad;
      const auto         parameters = network->parameters();
      const torch::Device device =
        parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
      const auto options = torch::TensorOptions().dtype(network->dtype()).device(device);
      return network->forward(v.to(options), sigma.to(options)).to(torch::kCPU, torch::kFloat64);
    };
  }


  ScoreFunction
  average_score_functions(std::vector<ScoreFunction> members)
  {
    AssertThrow(!members.empty(), ExcMessage("average_score_functions: no members."));
    for (const auto &member : members)
      AssertThrow(member, ExcMessage("average_score_functions: a member is empty."));
    if (members.size() == 1)
      return members.front();
    return [members](const torch::Tensor &v, const torch::Tensor &sigma) {
      torch::Tensor sum = members.front()(v, sigma).to(torch::kCPU, torch::kFloat64);
      for (std::size_t m = 1; m < members.size(); ++m)
        sum = sum + members[m](v, sigma).to(torch::kCPU, torch::kFloat64);
      return sum / double(members.size());
    };
  }


  void
  NoiseRange::check() const
  {
    AssertThrow(std::isfinite(sigma_max) && std::isfinite(sigma_min) && sigma_min > 0,
                ExcMessage("Noise range: sigma_min and sigma_max must be positive and finite, got "
                           "sigma_min = " +
                           std::to_string(sigma_min) + ", sigma_max = " + std::to_string(sigma_max) +
                           "."));
    AssertThrow(sigma_min < sigma_max,
                ExcMessage("Noise range: sigma_min (" + std::to_string(sigma_min) +
                           ") must be smaller than sigma_max (" + std::to_string(sigma_max) +
                           "): samplers go from sigma_max down to sigma_min."));
  }


  double
  SamplerReport::evaluations_per_sample() const
  {
    return n_samples == 0 ? 0. : static_cast<double>(n_sample_evaluations) / n_samples;
  }


  std::string
  SamplerReport::summary() const
  {
    std::ostringstream out;
    out << n_samples << " samples, " << evaluations_per_sample()
        << " score evaluations per sample (" << n_network_evaluations << " batched calls), "
        << n_steps_accepted << " steps accepted, " << n_steps_rejected << " rejected, "
        << std::setprecision(3) << wall_time << " s";
    return out.str();
  }


  namespace sampler_tools
  {
    template <int dim>
    NoiseDraws<dim>::NoiseDraws(const CovarianceOperator<dim> *noise,
                                const FunctionSpace<dim> &     space)
      : noise(noise)
      , space(space)
    {}


    template <int dim>
    torch::Tensor
    NoiseDraws<dim>::draw(const unsigned int  batch_size,
                          const std::uint64_t stream,
                          const unsigned int  first_sample_index)
    {
      if (workspace.size() != batch_size)
        workspace.resize(batch_size, space.create_vector());
      if (noise != nullptr)
        noise->sample(workspace, stream, first_sample_index);
      else
        {
          // Every rank draws all N values of a sample and keeps its own: the
          // values then depend on the global DoF index only, not on the
          // partition. Cheap next to a score evaluation.
          const IndexSet &owned = space.locally_owned_dofs();
          Vector<double>  z(space.n_dofs());
          for (unsigned int i = 0; i < batch_size; ++i)
            {
              WhiteNoise<dim>::standard_normal(
                hashing::combine(hashing::combine(hashing::mix(stream), first_sample_index + i),
                                 0x3417eULL),
                z);
              double *values = workspace[i].begin();
              for (const auto index : owned)
                *values++ = z[index];
              if (space.get_constraints().n_constraints() > 0)
                space.get_constraints().distribute(workspace[i]);
            }
        }
      std::vector<const VectorType *> pointers;
      for (const auto &x : workspace)
        pointers.push_back(&x);
      return torch_bridge::to_tensor(pointers, torch::kFloat64);
    }


    template <int dim>
    torch::Tensor
    draw_noise(const CovarianceOperator<dim> &noise,
               const FunctionSpace<dim> &      space,
               const unsigned int              batch_size,
               const std::uint64_t             stream,
               const unsigned int              first_sample_index)
    {
      return NoiseDraws<dim>(&noise, space).draw(batch_size, stream, first_sample_index);
    }


    template <int dim>
    torch::Tensor
    draw_nodal_white_noise(const FunctionSpace<dim> &space,
                           const unsigned int        batch_size,
                           const std::uint64_t       stream,
                           const unsigned int        first_sample_index)
    {
      return NoiseDraws<dim>(nullptr, space).draw(batch_size, stream, first_sample_index);
    }


    template <int dim>
    MassNorm<dim>::MassNorm(const FunctionSpace<dim> &space)
      : communicator(space.get_mpi_communicator())
    {
      VectorType w = space.quadrature_weights();
      weights      = torch_bridge::view(w).clone() / space.volume();
    }


    template <int dim>
    torch::Tensor
    MassNorm<dim>::operator()(const torch::Tensor &v) const
    {
      torch::Tensor squares = (v * v * weights).sum(1).contiguous();
      if (Utilities::MPI::n_mpi_processes(communicator) > 1)
        {
          std::vector<double> local(squares.data_ptr<double>(),
                                    squares.data_ptr<double>() + squares.numel());
          std::vector<double> global(local.size());
          Utilities::MPI::sum(ArrayView<const double>(local), communicator, ArrayView<double>(global));
          std::copy(global.begin(), global.end(), squares.data_ptr<double>());
        }
      return squares.sqrt();
    }


    std::vector<unsigned int>
    non_finite_rows(const torch::Tensor &t, const MPI_Comm communicator)
    {
      const torch::Tensor bad =
        torch::logical_not(torch::isfinite(t)).reshape({t.size(0), -1}).any(1).to(torch::kInt32);
      std::vector<int> flags(bad.data_ptr<int>(), bad.data_ptr<int>() + bad.numel());
      if (Utilities::MPI::n_mpi_processes(communicator) > 1)
        {
          std::vector<int> global(flags.size());
          Utilities::MPI::max(ArrayView<const int>(flags), communicator, ArrayView<int>(global));
          flags = global;
        }
      std::vector<unsigned int> rows;
      for (unsigned int i = 0; i < flags.size(); ++i)
        if (flags[i] != 0)
          rows.push_back(i);
      return rows;
    }


    std::vector<double>
    geometric_levels(const NoiseRange &range, const unsigned int n_levels)
    {
      range.check();
      AssertThrow(n_levels >= 2,
                  ExcMessage("Geometric noise levels: need at least 2 levels (sigma_max and "
                             "sigma_min), got " +
                             std::to_string(n_levels) + "."));
      std::vector<double> levels(n_levels);
      const double        ratio = range.sigma_min / range.sigma_max;
      for (unsigned int i = 0; i < n_levels; ++i)
        levels[i] = range.sigma_max * std::pow(ratio, static_cast<double>(i) / (n_levels - 1));
      levels.back() = range.sigma_min; // exactly, whatever pow rounds to
      return levels;
    }


    template torch::Tensor
    draw_noise(const CovarianceOperator<2> &, const FunctionSpace<2> &, unsigned int,
               std::uint64_t, unsigned int);
    template torch::Tensor
    draw_noise(const CovarianceOperator<3> &, const FunctionSpace<3> &, unsigned int,
               std::uint64_t, unsigned int);
    template torch::Tensor
    draw_nodal_white_noise(const FunctionSpace<2> &, unsigned int, std::uint64_t, unsigned int);
    template torch::Tensor
    draw_nodal_white_noise(const FunctionSpace<3> &, unsigned int, std::uint64_t, unsigned int);
    template class NoiseDraws<2>;
    template class NoiseDraws<3>;
    template class MassNorm<2>;
    template class MassNorm<3>;
  } // namespace sampler_tools
} // namespace ddo
