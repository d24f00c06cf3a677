// ddo::ModelRecord (the schema of a checkpoint's metadata) and
// ddo::TrainedModel (a checkpoint, or an ensemble, bound to a mesh).

#include <ddo/torch/model/trained_model.h>

#include <sstream>

namespace ddo
{
  namespace
  {
    /** The value of @p key; throws if the checkpoint lacks it. */
    std::string
    required(const CheckpointMetadata &metadata, const std::string &key, const std::string &source)
    {
      const auto entry = metadata.find(key);
      AssertThrow(entry != metadata.end(),
                  ExcMessage("The checkpoint <" + source + "> lacks <" + key + ">: it was not written by `ddo train`."));
      return entry->second;
    }


    /** The value of @p key, or @p fallback if the checkpoint lacks it. */
    std::string
    optional(const CheckpointMetadata &metadata, const std::string &key, const std::string &fallback = "")
    {
      const auto entry = metadata.find(key);
      return entry == metadata.end() ? fallback : entry->second;
    }


    /** @p value with all 17 significant digits (it reads back exactly). */
    std::string
    exact_string(const double value)
    {
      std::ostringstream out;
      out.precision(17);
      out << value;
      return out.str();
    }


    /** The covariance model of a `Noise` subsection text, initialized on @p space. */
    template <int dim>
    std::unique_ptr<CovarianceOperator<dim>>
    build_noise(const std::string &noise_parameters, const std::string &source, const FunctionSpace<dim> &space)
    {
      ParameterHandler prm;
      declare_noise_section<dim>(prm);
      try
        {
          prm.parse_input_from_string(noise_parameters, source, true);
        }
      catch (const std::exception &e)
        {
          AssertThrow(false, ExcMessage("Invalid noise parameters in <" + source + ">: " + e.what()));
        }
      prm.enter_subsection("Noise");
      auto noise = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
      prm.leave_subsection();
      noise->initialize(space);
      return noise;
    }
  } // namespace


  template <int dim>
  void
  declare_noise_section(ParameterHandler &prm)
  {
    prm.enter_subsection("Noise");
    CovarianceRegistry<dim>::instance().declare_parameters(
      prm, "Model", "matern",
      "The covariance model of the noise xi ~ N(0, C) of training and sampling, in the "
      "units of the normalized data.");
    prm.leave_subsection();
  }


  ModelRecord
  ModelRecord::training_state_from_metadata(const CheckpointMetadata &metadata, const std::string &source)
  {
    ModelRecord record;
    record.network              = required(metadata, "network", source);
    record.architecture         = optional(metadata, "architecture");
    record.mesh_fingerprint     = optional(metadata, "mesh.fingerprint");
    record.step                 = std::stoul(required(metadata, "training.step", source));
    record.n_steps              = std::stoul(optional(metadata, "training.n_steps", "0"));
    record.seed                 = std::stoul(optional(metadata, "training.seed", "0"));
    record.batch_size           = std::stoul(optional(metadata, "training.batch_size", "0"));
    record.loss                 = std::stod(optional(metadata, "training.loss", "0"));
    record.range.sigma_min      = std::stod(optional(metadata, "noise.sigma_min", "0"));
    record.range.sigma_max      = std::stod(optional(metadata, "noise.sigma_max", "0"));
    record.sigma_sampling       = optional(metadata, "training.sigma_sampling", "log-uniform");
    record.log_normal_mean      = std::stod(optional(metadata, "training.log_normal_mean", "0"));
    record.log_normal_deviation = std::stod(optional(metadata, "training.log_normal_deviation", "0"));
    return record;
  }


  ModelRecord
  ModelRecord::from_metadata(const CheckpointMetadata &metadata, const std::string &source)
  {
    ModelRecord record         = training_state_from_metadata(metadata, source);
    record.mesh_description    = optional(metadata, "mesh.description");
    record.mesh_fingerprint    = required(metadata, "mesh.fingerprint", source);
    record.mesh_n_dofs         = std::stoul(optional(metadata, "mesh.n_dofs", "0"));
    record.n_modes             = std::stoul(required(metadata, "model.n_modes", source));
    record.noise_model         = optional(metadata, "noise.model");
    record.noise_parameters    = required(metadata, "noise.parameters", source);
    record.range.sigma_min     = std::stod(required(metadata, "noise.sigma_min", source));
    record.range.sigma_max     = std::stod(required(metadata, "noise.sigma_max", source));
    record.data_file           = optional(metadata, "data.file");
    record.data_n_samples      = std::stoul(optional(metadata, "data.n_samples", "0"));
    record.normalization.mean  = std::stod(required(metadata, "data.mean", source));
    record.normalization.scale = std::stod(required(metadata, "data.scale", source));
    return record;
  }


  CheckpointMetadata
  ModelRecord::training_problem_metadata() const
  {
    CheckpointMetadata m;
    m["mesh.fingerprint"] = mesh_fingerprint;
    m["mesh.description"] = mesh_description;
    m["mesh.n_dofs"]      = std::to_string(mesh_n_dofs);
    m["model.n_modes"]    = std::to_string(n_modes);
    m["noise.model"]      = noise_model;
    m["noise.parameters"] = noise_parameters;
    m["data.file"]        = data_file;
    m["data.n_samples"]   = std::to_string(data_n_samples);
    m["data.mean"]        = exact_string(normalization.mean);
    m["data.scale"]       = exact_string(normalization.scale);
    return m;
  }


  CheckpointMetadata
  ModelRecord::training_state_metadata() const
  {
    CheckpointMetadata m;
    m["architecture"]            = architecture;
    m["training.step"]           = std::to_string(step);
    m["training.n_steps"]        = std::to_string(n_steps);
    m["training.seed"]           = std::to_string(seed);
    m["training.loss"]           = std::to_string(loss);
    m["training.batch_size"]     = std::to_string(batch_size);
    m["noise.sigma_min"]         = std::to_string(range.sigma_min);
    m["noise.sigma_max"]         = std::to_string(range.sigma_max);
    m["training.sigma_sampling"] = sigma_sampling;
    if (sigma_sampling == "log-normal")
      {
        m["training.log_normal_mean"]      = std::to_string(log_normal_mean);
        m["training.log_normal_deviation"] = std::to_string(log_normal_deviation);
      }
    return m;
  }


  template <int dim>
  TrainedModel<dim>::TrainedModel(const std::vector<std::string> &checkpoints_in)
    : checkpoints(checkpoints_in)
  {
    AssertThrow(!checkpoints.empty(), ExcMessage("TrainedModel: no checkpoint given."));
    for (const std::string &path : checkpoints)
      {
        CheckpointMetadata metadata;
        networks.push_back(load_checkpoint<dim>(path, &metadata));
        records.push_back(ModelRecord::from_metadata(metadata, path));
      }
    // Members must describe the same diffusion of the same data.
    const ModelRecord &first = records.front();
    for (unsigned int m = 1; m < records.size(); ++m)
      {
        const ModelRecord &other = records[m];
        const std::vector<std::pair<std::string, bool>> agreements = {
          {"noise.parameters", other.noise_parameters == first.noise_parameters},
          {"noise.sigma_min", other.range.sigma_min == first.range.sigma_min},
          {"noise.sigma_max", other.range.sigma_max == first.range.sigma_max},
          {"data.mean", other.normalization.mean == first.normalization.mean},
          {"data.scale", other.normalization.scale == first.normalization.scale},
          {"mesh.fingerprint", other.mesh_fingerprint == first.mesh_fingerprint}};
        for (const auto &agreement : agreements)
          AssertThrow(agreement.second,
                      ExcMessage("Sampling: the ensemble members <" + checkpoints.front() + "> and <" +
                                 checkpoints[m] + "> differ in <" + agreement.first +
                                 ">: an ensemble averages models trained on the same data, mesh and noise."));
      }
  }


  template <int dim>
  const ModelRecord &
  TrainedModel<dim>::record() const
  {
    return records.front();
  }


  template <int dim>
  unsigned int
  TrainedModel<dim>::n_members() const
  {
    return checkpoints.size();
  }


  template <int dim>
  std::string
  TrainedModel<dim>::name() const
  {
    std::string joined;
    for (const std::string &path : checkpoints)
      joined += (joined.empty() ? "" : ", ") + path;
    return joined;
  }


  template <int dim>
  void
  TrainedModel<dim>::bind(const FunctionSpace<dim> &space_in, const unsigned int n_modes, const std::string &cache)
  {
    space = &space_in;
    bound_members.clear();
    noise_operator = build_noise<dim>(record().noise_parameters, checkpoints.front() + "/metadata.json", space_in);
    for (unsigned int m = 0; m < networks.size(); ++m)
      bound_members.push_back(std::make_unique<ScoreModel<dim>>(networks[m], space_in,
                                                                n_modes > 0 ? n_modes : records[m].n_modes, cache));
  }


  template <int dim>
  bool
  TrainedModel<dim>::is_bound() const
  {
    return space != nullptr;
  }


  template <int dim>
  bool
  TrainedModel<dim>::bound_to_training_mesh() const
  {
    AssertThrow(is_bound(), ExcMessage("TrainedModel: call bind() first."));
    return space->fingerprint() == record().mesh_fingerprint;
  }


  template <int dim>
  ScoreFunction
  TrainedModel<dim>::score() const
  {
    AssertThrow(is_bound(), ExcMessage("TrainedModel: call bind() before asking for the score."));
    std::vector<ScoreFunction> members;
    for (const auto &member : bound_members)
      {
        const ScoreModel<dim> *model = member.get();
        members.emplace_back(
          [model](const torch::Tensor &v, const torch::Tensor &sigma) { return model->evaluate(v, sigma); });
      }
    return average_score_functions(members);
  }


  template <int dim>
  const CovarianceOperator<dim> &
  TrainedModel<dim>::noise() const
  {
    AssertThrow(is_bound(), ExcMessage("TrainedModel: call bind() before asking for the noise."));
    return *noise_operator;
  }


  template <int dim>
  torch::Tensor
  TrainedModel<dim>::sample(const Sampler<dim> & sampler,
                            const unsigned int   n_samples,
                            const std::uint64_t  seed,
                            const unsigned int   first_sample_index,
                            SamplerReport *      report,
                            const NoiseRange *   range) const
  {
    AssertThrow(is_bound(), ExcMessage("TrainedModel: call bind() before sampling."));
    const torch::Tensor samples = sampler.sample(score(), *space, *noise_operator, range ? *range : record().range,
                                                 n_samples, seed, first_sample_index, report);
    return samples * record().normalization.scale + record().normalization.mean;
  }


  template void
  declare_noise_section<2>(ParameterHandler &);
  template void
  declare_noise_section<3>(ParameterHandler &);
  template class TrainedModel<2>;
  template class TrainedModel<3>;
} // namespace ddo
