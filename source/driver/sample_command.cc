// `ddo sample file.prm`: samples of a trained model on the mesh of the file
// (which may differ from the training mesh), written as HDF5 and VTU.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/timer.h>

#include <ddo/base/output.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/mesh/space_description.h>
#include <ddo/torch/model/trained_model.h>

#include "commands.h"

#include <iostream>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      /** The entries of subsection `Sampling` besides the sampler plugin. */
      struct SampleSettings
      {
        std::string  checkpoints;
        unsigned int n_samples;
        unsigned int seed;
        unsigned int n_modes;
        std::string  cache;
        std::string  output_file;
        std::string  vtu_file;
        unsigned int n_vtu;
        std::string  sampler_name;
        bool         remove_mean;
        double       sigma_max;
      };


      /** Reads subsection `Sampling` (entered). */
      SampleSettings
      read_sample_settings(ParameterHandler &prm)
      {
        SampleSettings settings;
        settings.checkpoints  = prm.get("Checkpoint");
        settings.n_samples    = prm.get_integer("Number of samples");
        settings.seed         = prm.get_integer("Seed");
        settings.n_modes      = prm.get_integer("Number of modes");
        settings.cache        = prm.get("Eigenbasis cache");
        settings.output_file  = prm.get("Output file");
        settings.vtu_file     = prm.get("VTU file");
        settings.n_vtu        = std::min<unsigned int>(prm.get_integer("Samples in VTU"), settings.n_samples);
        settings.sampler_name = prm.get("Sampler");
        settings.remove_mean  = prm.get_bool("Remove mean");
        settings.sigma_max    = prm.get_double("Sigma max");
        return settings;
      }


      /** The model's training range, with the sampling's own σ_max if one is set. */
      NoiseRange
      sampling_range(const ModelRecord &record, const double sigma_max)
      {
        NoiseRange range = record.range;
        if (sigma_max > 0)
          {
            AssertThrow(sigma_max > range.sigma_min,
                        ExcMessage("Sampling: 'Sigma max' must exceed the model's sigma_min (" +
                                   std::to_string(range.sigma_min) + ")."));
            range.sigma_max = sigma_max;
          }
        return range;
      }


      /**
       * Mean-free data (e.g. vorticity on a torus): projects each of the
       * row-major samples @p all onto the functions with zero mean,
       * u - |Omega|^{-1} int u. Returns the largest mean removed.
       */
      template <int dim>
      double
      remove_sample_means(const FunctionSpace<dim> &space, std::vector<double> &all, const unsigned int n_samples)
      {
        const std::size_t n_dofs = space.n_dofs();
        VectorType        one = space.create_vector(), u = space.create_vector();
        one            = 1.;
        double largest = 0;
        for (unsigned int s = 0; s < n_samples; ++s)
          {
            std::copy(all.begin() + s * n_dofs, all.begin() + (s + 1) * n_dofs, u.begin());
            const double mean = space.l2_inner_product(u, one) / space.volume();
            largest           = std::max(largest, std::abs(mean));
            for (std::size_t k = 0; k < n_dofs; ++k)
              all[s * n_dofs + k] -= mean;
          }
        return largest;
      }


      /** Writes the row-major samples @p all as HDF5 and the first ones as VTU. */
      template <int dim>
      void
      write_samples(const FunctionSpace<dim> &space,
                    const std::string &       description,
                    const SampleSettings &    settings,
                    const std::vector<double> &all,
                    ConditionalOStream &      pcout,
                    TimerOutput &             timer)
      {
        const std::size_t n_dofs = space.n_dofs();
        if (!settings.output_file.empty())
          {
            TimerOutput::Scope    scope(timer, "write HDF5");
            FunctionDatasetWriter writer(settings.output_file, space, description, settings.n_samples,
                                         "ddo sample: " + settings.sampler_name + " from <" + settings.checkpoints +
                                           ">, seed " + std::to_string(settings.seed),
                                         false, true);
            for (unsigned int s = 0; s < settings.n_samples; ++s)
              writer.write(s, all.data() + s * n_dofs);
            pcout << "wrote: " << writer.finalize() << '\n';
          }
        if (!settings.vtu_file.empty() && settings.n_vtu > 0)
          {
            TimerOutput::Scope                                      scope(timer, "write VTU");
            std::vector<VectorType>                                 vectors(settings.n_vtu, space.create_vector());
            std::vector<std::pair<std::string, const VectorType *>> fields;
            for (unsigned int s = 0; s < settings.n_vtu; ++s)
              {
                std::copy(all.begin() + s * n_dofs, all.begin() + (s + 1) * n_dofs, vectors[s].begin());
                fields.emplace_back("sample_" + std::to_string(s), &vectors[s]);
              }
            pcout << "wrote: " << write_vtu(space, fields, settings.vtu_file) << '\n';
          }
      }
    } // namespace


    template <int dim>
    void
    run_sample(const std::string &prm_text, const std::string &source_name)
    {
      const MPI_Comm     comm    = MPI_COMM_WORLD;
      const unsigned int rank    = Utilities::MPI::this_mpi_process(comm);
      const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      prm.enter_subsection("Sampling");
      const SampleSettings settings = read_sample_settings(prm);
      auto                 sampler  = SamplerRegistry<dim>::instance().create_and_parse(prm, "Sampler");
      prm.leave_subsection();

      // The model, with the averaged weights; a list of checkpoints is an
      // ensemble whose score is the mean of the members' scores.
      const std::vector<std::string> checkpoints = Utilities::split_string_list(settings.checkpoints, ',');
      AssertThrow(!checkpoints.empty(), ExcMessage("Sampling: 'Checkpoint' names no model."));
      std::unique_ptr<TrainedModel<dim>> model;
      {
        TimerOutput::Scope scope(timer, "load model");
        model = std::make_unique<TrainedModel<dim>>(checkpoints);
      }
      const ModelRecord &record = model->record();
      const NoiseRange   range  = sampling_range(record, settings.sigma_max);

      const std::unique_ptr<FunctionSpace<dim>> space       = context.build_space();
      const std::string &                       description = context.space_description;
      {
        TimerOutput::Scope scope(timer, "noise, eigenbasis and network binding");
        model->bind(*space, settings.n_modes, settings.cache);
      }
      pcout << space->summary() << "Model <" << settings.checkpoints << ">"
            << (checkpoints.size() > 1 ? " (an ensemble of " + std::to_string(checkpoints.size()) + ")" : "")
            << ", trained on "
            << (model->bound_to_training_mesh() ?
                  std::string("this mesh") :
                  "another mesh (" + std::to_string(record.mesh_n_dofs) + " DoFs): zero-shot transfer")
            << ", step " << record.step << ", sigma in [" << range.sigma_min << ", " << range.sigma_max << "]\n";

      // Each rank draws a contiguous share of the samples (sample i is the
      // same whatever the number of ranks).
      const unsigned int first = rank * settings.n_samples / n_ranks;
      const unsigned int count = (rank + 1) * settings.n_samples / n_ranks - first;
      SamplerReport      report;
      torch::Tensor      samples;
      {
        TimerOutput::Scope scope(timer, "sample");
        samples = model->sample(*sampler, count, settings.seed, first, &report, &range);
      }
      pcout << settings.sampler_name << ": " << report.summary() << '\n';

      const std::size_t   n_dofs = space->n_dofs();
      std::vector<double> local(samples.data_ptr<double>(), samples.data_ptr<double>() + count * n_dofs);
      const auto          gathered = Utilities::MPI::gather(comm, local, 0);
      if (rank != 0)
        return;
      std::vector<double> all;
      for (const auto &part : gathered)
        all.insert(all.end(), part.begin(), part.end());
      if (settings.remove_mean)
        pcout << "Removed the mean of each sample (largest |mean| "
              << remove_sample_means(*space, all, settings.n_samples) << ")\n";
      write_samples(*space, description, settings, all, pcout, timer);
    }

    template void run_sample<2>(const std::string &, const std::string &);
    template void run_sample<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
