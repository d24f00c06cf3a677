// `ddo train file.prm`: denoising score matching of a score network on a
// data set of FE functions.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/timer.h>

#include <ddo/dataset/function_dataset.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/mesh/space_description.h>
#include <ddo/torch/training/trainer.h>

#include "commands.h"

#include <iostream>

namespace ddo
{
  namespace driver
  {


    template <int dim>
    void
    run_train(const std::string &prm_text, const std::string &source_name)
    {
      const MPI_Comm      comm = MPI_COMM_WORLD;
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      // Every rank holds the whole (serial) mesh; ranks share each batch.
      const std::unique_ptr<FunctionSpace<dim>> space       = context.build_space();
      const std::string &                       description = context.space_description;
      pcout << space->summary();

      prm.enter_subsection("Data");
      const std::string data_file = prm.get("File");
      prm.leave_subsection();
      torch::Tensor     data;
      DataNormalization normalization;
      unsigned int      n_samples = 0;
      {
        TimerOutput::Scope    scope(timer, "read data");
        FunctionDatasetReader reader(data_file);
        reader.check_compatible(*space);
        n_samples                 = reader.info().n_samples;
        std::vector<double> values = reader.read_all();
        normalization              = compute_normalization(*space, values, n_samples);
        data = torch::from_blob(values.data(), {std::int64_t(n_samples), std::int64_t(space->n_dofs())},
                                torch::kFloat64)
                 .clone();
        data = (data - normalization.mean) / normalization.scale;
      }
      pcout << "Data: " << n_samples << " functions from <" << data_file << ">, mean " << normalization.mean
            << ", scale " << normalization.scale << " (the network sees (u - mean) / scale)\n";

      prm.enter_subsection("Noise");
      const std::string noise_name = prm.get("Model");
      auto              noise      = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
      prm.leave_subsection();
      {
        TimerOutput::Scope scope(timer, "set up noise");
        noise->initialize(*space);
      }

      prm.enter_subsection("Network");
      const std::string  network_name = prm.get("Model");
      const unsigned int n_modes      = prm.get_integer("Number of modes");
      const std::string  cache        = prm.get("Eigenbasis cache");
      std::shared_ptr<ScoreNetwork<dim>> network =
        ScoreNetworkRegistry<dim>::instance().create_and_parse(prm, "Model");
      prm.enter_subsection(network_name);
      const bool float64 = prm.get("Precision") == "float64";
      prm.leave_subsection();
      prm.leave_subsection();
      network->build(float64 ? torch::kFloat64 : torch::kFloat32);

      std::unique_ptr<ScoreModel<dim>> model;
      {
        TimerOutput::Scope scope(timer, "eigenbasis and network binding");
        model = std::make_unique<ScoreModel<dim>>(network, *space, n_modes, cache);
      }
      std::size_t n_parameters = 0;
      for (const auto &p : network->parameters())
        n_parameters += p.numel();
      pcout << "Network: " << network_name << ", " << n_parameters << " parameters, " << n_modes
            << " modes (lambda_K = " << model->basis().eigenvalues().back() << ")\n";

      prm.enter_subsection("Training");
      TrainingSettings settings;
      settings.parse_parameters(prm);
      prm.leave_subsection();

      // What is trained, as the checkpoint records it (ddo::ModelRecord).
      ModelRecord record;
      record.mesh_fingerprint = space->fingerprint();
      record.mesh_description = description;
      record.mesh_n_dofs      = space->n_dofs();
      record.n_modes          = n_modes;
      record.noise_model      = noise_name;
      record.noise_parameters = extract_subsections(prm_text, source_name, declare_noise_section<dim>);
      record.data_file        = data_file;
      record.data_n_samples   = n_samples;
      record.normalization    = normalization;
      const CheckpointMetadata metadata = record.training_problem_metadata();

      Trainer<dim> trainer(*model, *noise, network_name, settings, metadata, comm);
      TrainingReport report;
      {
        TimerOutput::Scope scope(timer, "train");
        report = trainer.train(data);
      }
      if (!settings.checkpoint_directory.empty())
        pcout << "checkpoint: " << settings.checkpoint_directory << " (step " << report.last_step << ")\n";
    }

    template void run_train<2>(const std::string &, const std::string &);
    template void run_train<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
