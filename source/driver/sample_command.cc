// `ddo sample file.prm`: samples of a trained model on the mesh of the file
// (which may differ from the training mesh), written as HDF5 and VTU.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/timer.h>

#include <ddo/checkpoint.h>
#include <ddo/function_dataset.h>
#include <ddo/mesh_builder.h>
#include <ddo/output.h>
#include <ddo/sampler.h>
#include <ddo/score_model.h>
#include <ddo/space_description.h>
#include <ddo/torch_bridge.h>

#include "commands.h"

#include <iostream>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      std::string
      required(const CheckpointMetadata &metadata, const std::string &key, const std::string &checkpoint)
      {
        const auto entry = metadata.find(key);
        AssertThrow(entry != metadata.end(),
                    ExcMessage("The checkpoint <" + checkpoint + "> lacks <" + key +
                               ">: it was not written by `ddo train`."));
        return entry->second;
      }
    } // namespace


    template <int dim>
    void
    run_sample(const std::string &prm_text, const std::string &source_name)
    {
      const MPI_Comm     comm    = MPI_COMM_WORLD;
      const unsigned int rank    = Utilities::MPI::this_mpi_process(comm);
      const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);
      ConditionalOStream pcout(std::cout, rank == 0);
      TimerOutput        timer(pcout, TimerOutput::summary, TimerOutput::wall_times);

      ParameterHandler prm;
      declare_all<dim>(prm);
      parse(prm, prm_text, source_name, false);

      prm.enter_subsection("Sampling");
      const std::string  checkpoint_list = prm.get("Checkpoint");
      const unsigned int n_samples   = prm.get_integer("Number of samples");
      const unsigned int seed        = prm.get_integer("Seed");
      const unsigned int n_modes     = prm.get_integer("Number of modes");
      const std::string  cache       = prm.get("Eigenbasis cache");
      const std::string  output_file = prm.get("Output file");
      const std::string  vtu_file    = prm.get("VTU file");
      const unsigned int n_vtu       = std::min<unsigned int>(prm.get_integer("Samples in VTU"), n_samples);
      const std::string  sampler_name = prm.get("Sampler");
      const bool         remove_mean  = prm.get_bool("Remove mean");
      const double       sigma_max    = prm.get_double("Sigma max");
      auto               sampler      = SamplerRegistry<dim>::instance().create_and_parse(prm, "Sampler");
      prm.leave_subsection();

      // The model, with the averaged weights; a list of checkpoints is an
      // ensemble whose score is the mean of the members' scores.
      const std::vector<std::string> checkpoints = Utilities::split_string_list(checkpoint_list, ',');
      AssertThrow(!checkpoints.empty(), ExcMessage("Sampling: 'Checkpoint' names no model."));
      const std::string                               checkpoint = checkpoints.front();
      std::vector<CheckpointMetadata>                 member_metadata(checkpoints.size());
      std::vector<std::shared_ptr<ScoreNetwork<dim>>> networks;
      {
        TimerOutput::Scope scope(timer, "load model");
        for (unsigned int m = 0; m < checkpoints.size(); ++m)
          networks.push_back(load_checkpoint<dim>(checkpoints[m], &member_metadata[m]));
      }
      CheckpointMetadata &metadata = member_metadata.front();
      // Members must describe the same diffusion of the same data.
      for (unsigned int m = 1; m < checkpoints.size(); ++m)
        for (const std::string key : {"noise.parameters", "noise.sigma_min", "noise.sigma_max", "data.mean",
                                      "data.scale", "mesh.fingerprint"})
          AssertThrow(required(member_metadata[m], key, checkpoints[m]) == required(metadata, key, checkpoint),
                      ExcMessage("Sampling: the ensemble members <" + checkpoint + "> and <" + checkpoints[m] +
                                 "> differ in <" + key + ">: an ensemble averages models trained on "
                                 "the same data, mesh and noise."));
      NoiseRange range;
      range.sigma_min = std::stod(required(metadata, "noise.sigma_min", checkpoint));
      range.sigma_max = std::stod(required(metadata, "noise.sigma_max", checkpoint));
      if (sigma_max > 0)
        {
          AssertThrow(sigma_max > range.sigma_min,
                      ExcMessage("Sampling: 'Sigma max' must exceed the model's sigma_min (" +
                                 std::to_string(range.sigma_min) + ")."));
          range.sigma_max = sigma_max;
        }
      DataNormalization normalization;
      normalization.mean  = std::stod(required(metadata, "data.mean", checkpoint));
      normalization.scale = std::stod(required(metadata, "data.scale", checkpoint));

      const std::string description = extract_space_description<dim>(prm_text, source_name);
      std::unique_ptr<FunctionSpace<dim>> space;
      {
        TimerOutput::Scope scope(timer, "build mesh and space");
        space = build_function_space<dim>(description, MPI_COMM_SELF, source_name);
      }
      const bool same_mesh = space->fingerprint() == metadata["mesh.fingerprint"];
      pcout << space->summary() << "Model <" << checkpoint_list << ">"
            << (checkpoints.size() > 1 ? " (an ensemble of " + std::to_string(checkpoints.size()) + ")" : "")
            << ", trained on "
            << (same_mesh ? "this mesh" : "another mesh (" + metadata["mesh.n_dofs"] + " DoFs): zero-shot transfer")
            << ", step " << metadata["training.step"] << ", sigma in [" << range.sigma_min << ", "
            << range.sigma_max << "]\n";

      // The noise of training, rebuilt on this mesh.
      std::unique_ptr<CovarianceOperator<dim>> noise;
      {
        TimerOutput::Scope scope(timer, "set up noise");
        ParameterHandler   noise_prm;
        declare_noise<dim>(noise_prm);
        parse(noise_prm, required(metadata, "noise.parameters", checkpoint), checkpoint + "/metadata.txt", true);
        noise_prm.enter_subsection("Noise");
        noise = CovarianceRegistry<dim>::instance().create_and_parse(noise_prm, "Model");
        noise_prm.leave_subsection();
        noise->initialize(*space);
      }
      std::vector<std::unique_ptr<ScoreModel<dim>>> models;
      std::vector<ScoreFunction>                    member_scores;
      {
        TimerOutput::Scope scope(timer, "eigenbasis and network binding");
        for (unsigned int m = 0; m < checkpoints.size(); ++m)
          {
            const unsigned int member_modes =
              n_modes > 0 ? n_modes : std::stoul(required(member_metadata[m], "model.n_modes", checkpoints[m]));
            models.push_back(std::make_unique<ScoreModel<dim>>(networks[m], *space, member_modes, cache));
            const ScoreModel<dim> *model = models.back().get();
            member_scores.emplace_back(
              [model](const torch::Tensor &v, const torch::Tensor &sigma) { return model->evaluate(v, sigma); });
          }
      }
      const ScoreFunction score = average_score_functions(member_scores);

      // Each rank draws a contiguous share of the samples (sample i is the
      // same whatever the number of ranks).
      const unsigned int first = rank * n_samples / n_ranks;
      const unsigned int count = (rank + 1) * n_samples / n_ranks - first;
      SamplerReport      report;
      torch::Tensor      samples;
      {
        TimerOutput::Scope scope(timer, "sample");
        samples = sampler->sample(score, *space, *noise, range, count, seed, first, &report);
      }
      samples = samples * normalization.scale + normalization.mean;
      pcout << sampler_name << ": " << report.summary() << '\n';

      const std::size_t   n_dofs = space->n_dofs();
      std::vector<double> local(samples.data_ptr<double>(), samples.data_ptr<double>() + count * n_dofs);
      const auto          gathered = Utilities::MPI::gather(comm, local, 0);
      if (rank != 0)
        return;
      std::vector<double> all;
      for (const auto &part : gathered)
        all.insert(all.end(), part.begin(), part.end());
      if (remove_mean)
        {
          // Mean-free data (e.g. vorticity on a torus): project each sample
          // onto the functions with zero mean, u - |Omega|^{-1} int u.
          VectorType one = space->create_vector(), u = space->create_vector();
          one            = 1.;
          double largest = 0;
          for (unsigned int s = 0; s < n_samples; ++s)
            {
              std::copy(all.begin() + s * n_dofs, all.begin() + (s + 1) * n_dofs, u.begin());
              const double mean = space->l2_inner_product(u, one) / space->volume();
              largest           = std::max(largest, std::abs(mean));
              for (std::size_t k = 0; k < n_dofs; ++k)
                all[s * n_dofs + k] -= mean;
            }
          pcout << "Removed the mean of each sample (largest |mean| " << largest << ")\n";
        }

      if (!output_file.empty())
        {
          TimerOutput::Scope    scope(timer, "write HDF5");
          FunctionDatasetWriter writer(output_file, *space, description, n_samples,
                                       "ddo sample: " + sampler_name + " from <" + checkpoint_list + ">, seed " +
                                         std::to_string(seed),
                                       false, true);
          for (unsigned int s = 0; s < n_samples; ++s)
            writer.write(s, all.data() + s * n_dofs);
          pcout << "wrote: " << writer.finalize() << '\n';
        }
      if (!vtu_file.empty() && n_vtu > 0)
        {
          TimerOutput::Scope                                      scope(timer, "write VTU");
          std::vector<VectorType>                                 vectors(n_vtu, space->create_vector());
          std::vector<std::pair<std::string, const VectorType *>> fields;
          for (unsigned int s = 0; s < n_vtu; ++s)
            {
              std::copy(all.begin() + s * n_dofs, all.begin() + (s + 1) * n_dofs, vectors[s].begin());
              fields.emplace_back("sample_" + std::to_string(s), &vectors[s]);
            }
          pcout << "wrote: " << write_vtu(*space, fields, vtu_file) << '\n';
        }
    }

    template void run_sample<2>(const std::string &, const std::string &);
    template void run_sample<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
