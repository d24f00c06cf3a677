/* ---------------------------------------------------------------------
 *
 * ddo step-3: a denoising diffusion operator trained on a Gaussian
 * mixture in function space; do its samples reproduce the weights and
 * the means of the components?
 *
 * This program is part of the ddo tutorial. The text that explains what
 * it does, and the results it produces, are in README.md next to it.
 *
 * ---------------------------------------------------------------------
 */

// @sect3{Include files}

#include <deal.II/base/function_parser.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>

#include <ddo/base/mpi_session.h>
#include <ddo/torch/model/checkpoint.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/model/gaussian_score.h>
#include <ddo/base/hashing.h>
#include <ddo/torch/sampler/langevin_sampler.h>
#include <ddo/covariance/matern.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/base/output.h>
#include <ddo/torch/sampler/probability_flow_sampler.h>
#include <ddo/torch/network/score_model.h>
#include <ddo/lac/spectral_basis.h>
#include <ddo/torch/network/spectral_neural_operator.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/torch/training/trainer.h>

#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#ifndef DDO_STEP3_SOURCE_DIR
#  define DDO_STEP3_SOURCE_DIR "."
#endif

namespace ddo
{
  namespace Step3
  {
    using namespace dealii;
    constexpr int dim = 2;

    // @sect3{Parameters}
    //
    // As in step-2, the library classes declare their own subsections. The
    // mixture is given by `Component means` (one function expression per
    // component, separated by `;`, in x and y) and `Component weights`; every
    // component is the mean function plus a Matérn field with the entries of
    // subsection `Fluctuation`.
    void
    declare_parameters(ParameterHandler &prm)
    {
      prm.enter_subsection("Output");
      prm.declare_entry("Directory", "step-3-output", Patterns::DirectoryName(), "Where everything goes.");
      prm.declare_entry("Number of VTU samples", "6", Patterns::Integer(0), "Samples written to VTU.");
      prm.declare_entry("Gnuplot script", "", Patterns::Anything(),
                        "Script that renders the figure; empty: plot_step3.gp next to the source.");
      prm.leave_subsection();
      prm.declare_entry("Threads", "1", Patterns::Integer(1), "Intra-op threads of torch.");

      MeshBuilder<dim>::declare_parameters(prm);
      FunctionSpace<dim>::declare_parameters(prm);

      prm.enter_subsection("Mixture");
      prm.declare_entry("Component means", "2*cos(pi*x); 2*cos(pi*y); -2*cos(pi*x)*cos(pi*y)",
                        Patterns::Anything(), "Mean function of each component (x, y), separated by ';'.");
      prm.declare_entry("Component weights", "0.5, 0.3, 0.2", Patterns::List(Patterns::Double(0, 1)),
                        "Probabilities of the components (they must add up to 1).");
      prm.declare_entry("Number of samples", "4096", Patterns::Integer(1), "Training set size.");
      prm.declare_entry("Seed", "7", Patterns::Integer(0), "Seed of the training set.");
      prm.enter_subsection("Fluctuation");
      MaternSPDE<dim>::declare_parameters(prm);
      prm.leave_subsection();
      prm.leave_subsection();

      prm.enter_subsection("Noise");
      MaternSPDE<dim>::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Network");
      prm.declare_entry("Number of modes", "0", Patterns::Integer(0),
                        "Eigenmodes the network filters in; 0: all free DoFs but one.");
      SpectralNeuralOperator<dim>::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Training");
      TrainingSettings::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Sampling");
      prm.declare_entry("Sampler", "probability_flow", Patterns::Selection("langevin|probability_flow"),
                        "Which sampler draws the samples.");
      prm.declare_entry("Number of samples", "512", Patterns::Integer(1), "Samples drawn.");
      prm.declare_entry("Seed", "2024", Patterns::Integer(0), "Seed of the sampler.");
      prm.enter_subsection("Langevin");
      LangevinSampler<dim>::declare_parameters(prm);
      prm.leave_subsection();
      prm.enter_subsection("Probability flow");
      ProbabilityFlowSampler<dim>::declare_parameters(prm);
      prm.leave_subsection();
      prm.leave_subsection();
    }


    std::string
    fixed(const double x, const int digits = 3)
    {
      std::ostringstream out;
      out << std::fixed << std::setprecision(digits) << x;
      return out.str();
    }


    // @sect3{The program}
    class GaussianMixtureValidation
    {
    public:
      explicit GaussianMixtureValidation(ParameterHandler &prm);
      /** Runs every stage; returns whether the samples meet the targets. */
      bool
      run();

    private:
      void
      setup();
      void
      make_training_data();
      void
      train();
      void
      sample_and_classify();
      void
      write_outputs();
      bool
      targets_met() const;

      /** L2 distances (mass matrix) of the rows of @p v [B, N] to every mean: [B, J]. */
      torch::Tensor
      distances_to_means(const torch::Tensor &v) const;
      /** Index of the nearest mean of every row of @p v. */
      torch::Tensor
      classify(const torch::Tensor &v) const;
      double
      l2_norm(const torch::Tensor &row) const;

      ParameterHandler & prm;
      ConditionalOStream out;
      TimerOutput        timer;
      std::string        output_directory, cache_directory, gnuplot_script;
      unsigned int       n_vtu = 6;

      MeshBuilder<dim>                    builder;
      std::shared_ptr<Triangulation<dim>> triangulation;
      std::unique_ptr<FunctionSpace<dim>> space;
      std::unique_ptr<MaternSPDE<dim>>    noise;
      std::unique_ptr<MaternSPDE<dim>>    fluctuation;
      std::unique_ptr<SpectralBasis<dim>> basis;
      std::unique_ptr<GaussianScore<dim>> fluctuation_truth; // mode variances of the fluctuation
      torch::Tensor                       mass;              // dense M [N, N], float64

      std::vector<std::string> mean_expressions;
      std::vector<double>      weights;
      torch::Tensor            means; // [J, N]
      torch::Tensor            data, data_labels;
      unsigned int             n_modes = 0;

      std::shared_ptr<ScoreNetwork<dim>> network;
      std::unique_ptr<ScoreModel<dim>>   model;
      TrainingSettings                   training;
      double                             training_seconds = 0;

      std::string              sampler_name;
      SamplerReport            sampler_report;
      torch::Tensor            samples, labels;
      std::vector<double>      recovered_weights, mean_errors, data_weights;
      std::vector<std::vector<BandStatistics>> component_bands;
    };


    GaussianMixtureValidation::GaussianMixtureValidation(ParameterHandler &prm)
      : prm(prm)
      , out(std::cout, true)
      , timer(out, TimerOutput::summary, TimerOutput::wall_times)
    {
      prm.enter_subsection("Output");
      output_directory = prm.get("Directory");
      n_vtu            = prm.get_integer("Number of VTU samples");
      gnuplot_script   = prm.get("Gnuplot script");
      if (gnuplot_script.empty())
        gnuplot_script = std::string(DDO_STEP3_SOURCE_DIR) + "/plot_step3.gp";
      prm.leave_subsection();
      cache_directory = output_directory + "/eigenbasis-cache";
      create_directories(output_directory);
      create_directories(cache_directory);
      torch::set_num_threads(prm.get_integer("Threads"));
    }


    // @sect4{Mesh, noise, mixture}
    void
    GaussianMixtureValidation::setup()
    {
      TimerOutput::Scope scope(timer, "setup");
      builder.parse_parameters(prm);
      prm.enter_subsection("Finite element");
      const unsigned int degree = prm.get_integer("Degree");
      prm.leave_subsection();
      triangulation = builder.create(MPI_COMM_SELF);
      space = std::make_unique<FunctionSpace<dim>>(triangulation, degree, builder.periodic_boundaries());

      prm.enter_subsection("Noise");
      noise = std::make_unique<MaternSPDE<dim>>();
      noise->parse_parameters(prm);
      prm.leave_subsection();
      noise->initialize(*space);

      prm.enter_subsection("Mixture");
      mean_expressions = Utilities::split_string_list(prm.get("Component means"), ';');
      weights          = Utilities::string_to_double(Utilities::split_string_list(prm.get("Component weights")));
      prm.enter_subsection("Fluctuation");
      fluctuation = std::make_unique<MaternSPDE<dim>>();
      fluctuation->parse_parameters(prm);
      prm.leave_subsection();
      prm.leave_subsection();
      fluctuation->initialize(*space);
      AssertThrow(mean_expressions.size() == weights.size() && weights.size() >= 2,
                  ExcMessage("step-3: give as many component weights as component means (at least two)."));
      double total = 0;
      for (const double w : weights)
        total += w;
      AssertThrow(std::abs(total - 1.) < 1e-12, ExcMessage("step-3: the component weights must add up to 1."));

      std::vector<VectorType> mean_vectors;
      for (const auto &expression : mean_expressions)
        {
          FunctionParser<dim> f(1);
          f.initialize("x,y", expression, {{"pi", M_PI}});
          mean_vectors.push_back(space->interpolate(f));
        }
      std::vector<const VectorType *> pointers;
      for (const auto &v : mean_vectors)
        pointers.push_back(&v);
      means = torch_bridge::to_tensor(pointers, torch::kFloat64);

      const unsigned int N = space->n_dofs();
      mass = torch::zeros({N, N}, torch::kFloat64);
      auto accessor = mass.accessor<double, 2>();
      for (auto entry = space->mass_matrix().begin(); entry != space->mass_matrix().end(); ++entry)
        accessor[entry->row()][entry->column()] = entry->value();

      prm.enter_subsection("Network");
      n_modes = prm.get_integer("Number of modes");
      prm.leave_subsection();
      if (n_modes == 0 || n_modes >= n_free_dofs(*space))
        n_modes = n_free_dofs(*space) - 1;
      basis = std::make_unique<SpectralBasis<dim>>(*space, n_modes, cache_directory);
      const auto &p = fluctuation->get_parameters();
      const auto  s = MaternScales::from_user_parameters(dim, p.marginal_variance, p.correlation_length, p.smoothness);
      fluctuation_truth = std::make_unique<GaussianScore<dim>>(
        *basis, [s](const double l) { return s.spectral_density(l); }, [s](const double l) { return s.spectral_density(l); });

      out << "Mesh: " << N << " DoFs; K = " << n_modes << " modes\nComponents (weight, mean, L2 norm):\n";
      for (unsigned int j = 0; j < weights.size(); ++j)
        out << "  " << j << ": " << weights[j] << ", " << mean_expressions[j] << ", " << l2_norm(means[j]) << '\n';
      out << "L2 distances between the means:";
      for (unsigned int i = 0; i < weights.size(); ++i)
        for (unsigned int j = i + 1; j < weights.size(); ++j)
          out << " |m" << i << " - m" << j << "| = " << l2_norm(means[i] - means[j]);
      out << "\nRMS L2 norm of a fluctuation: " << std::sqrt(torch::tensor(fluctuation_truth->target_variances()).sum().item<double>())
          << std::endl;
    }


    double
    GaussianMixtureValidation::l2_norm(const torch::Tensor &row) const
    {
      return std::sqrt(torch::dot(row, torch::mv(mass, row)).item<double>());
    }


    torch::Tensor
    GaussianMixtureValidation::distances_to_means(const torch::Tensor &v) const
    {
      // |v - m_j|^2 = v M v - 2 v M m_j + m_j M m_j.
      const torch::Tensor mv = torch::mm(v, mass);                        // [B, N]
      const torch::Tensor vv = (mv * v).sum(1, true);                     // [B, 1]
      const torch::Tensor vm = torch::mm(mv, means.t());                  // [B, J]
      const torch::Tensor mm = (torch::mm(means, mass) * means).sum(1);   // [J]
      return torch::sqrt(torch::clamp_min(vv - 2 * vm + mm.unsqueeze(0), 0.));
    }


    torch::Tensor
    GaussianMixtureValidation::classify(const torch::Tensor &v) const
    {
      return std::get<1>(distances_to_means(v).min(1));
    }


    // @sect4{The training set}
    //
    // Sample i picks its component from the stream (seed, i) with the
    // given weights, then adds a Matérn fluctuation (SPDE sample i).
    void
    GaussianMixtureValidation::make_training_data()
    {
      TimerOutput::Scope scope(timer, "training data");
      prm.enter_subsection("Mixture");
      const unsigned int  n    = prm.get_integer("Number of samples");
      const std::uint64_t seed = prm.get_integer("Seed");
      prm.leave_subsection();
      std::vector<VectorType> fluctuations(n, space->create_vector());
      fluctuation->sample(fluctuations, seed, 0);
      std::vector<const VectorType *> pointers;
      for (const auto &v : fluctuations)
        pointers.push_back(&v);
      data = torch_bridge::to_tensor(pointers, torch::kFloat64);
      std::vector<std::int64_t> components(n);
      for (unsigned int i = 0; i < n; ++i)
        {
          std::mt19937_64                  rng(hashing::combine(hashing::mix(seed), i));
          std::discrete_distribution<int>  pick(weights.begin(), weights.end());
          components[i] = pick(rng);
        }
      data_labels = torch::tensor(components, torch::kInt64);
      data += means.index_select(0, data_labels);
      // Check: the nearest-mean classifier recovers the labels of the data.
      const double agreement = (classify(data) == data_labels).to(torch::kFloat64).mean().item<double>();
      data_weights.clear();
      out << "Training data: " << n << " samples; component frequencies";
      for (unsigned int j = 0; j < weights.size(); ++j)
        {
          data_weights.push_back((data_labels == int64_t(j)).to(torch::kFloat64).mean().item<double>());
          out << ' ' << fixed(data_weights.back());
        }
      out << "; nearest-mean classification agrees with the true labels for " << fixed(100 * agreement, 2)
          << "% of them" << std::endl;
    }


    // @sect4{Training}
    void
    GaussianMixtureValidation::train()
    {
      prm.enter_subsection("Network");
      network = std::shared_ptr<ScoreNetwork<dim>>(
        ScoreNetworkRegistry<dim>::instance().create("spectral_operator").release());
      network->parse_parameters(prm);
      prm.leave_subsection();
      network->build(dynamic_cast<SpectralNeuralOperator<dim> &>(*network).get_settings().precision);
      model = std::make_unique<ScoreModel<dim>>(network, *space, n_modes, cache_directory);

      prm.enter_subsection("Training");
      training.parse_parameters(prm);
      prm.leave_subsection();
      if (!training.checkpoint_directory.empty() && training.checkpoint_directory[0] != '/')
        training.checkpoint_directory = output_directory + "/" + training.checkpoint_directory;
      CheckpointMetadata metadata;
      metadata["mesh.fingerprint"] = space->fingerprint();
      Trainer<dim>   trainer(*model, *noise, "spectral_operator", training, metadata, MPI_COMM_SELF);
      TrainingReport report;
      {
        TimerOutput::Scope scope(timer, "training");
        report = trainer.train(data, true);
      }
      if (!training.checkpoint_directory.empty() && checkpoint_has_ema(training.checkpoint_directory))
        load_checkpoint_weights(training.checkpoint_directory, "ema.pt", *network);
      const std::string time_file = output_directory + "/training_time.txt";
      double            previous  = 0;
      if (std::ifstream in(time_file); in)
        in >> previous;
      if (!report.losses.empty())
        {
          training_seconds = (report.first_step > 0 ? previous : 0.) + report.wall_seconds;
          std::ofstream(time_file) << training_seconds << '\n';
        }
      else
        {
          training_seconds = previous;
          out << "Checkpoint complete: no training in this run (remove " << training.checkpoint_directory
              << " to retrain).\n";
        }
    }


    // @sect4{Sampling and classification}
    //
    // Every sample goes to the component whose mean is nearest in L2. The
    // recovered weights are the class frequencies; the recovered mean of a
    // component is the average of its class; the fluctuations around it
    // (sample minus the true mean) are compared with the Matérn truth per
    // eigenvalue band, as in step-2.
    void
    GaussianMixtureValidation::sample_and_classify()
    {
      TimerOutput::Scope scope(timer, "sampling");
      prm.enter_subsection("Sampling");
      sampler_name               = prm.get("Sampler");
      const unsigned int  n      = prm.get_integer("Number of samples");
      const std::uint64_t seed   = prm.get_integer("Seed");
      std::unique_ptr<Sampler<dim>> sampler;
      if (sampler_name == "langevin")
        {
          prm.enter_subsection("Langevin");
          sampler = std::make_unique<LangevinSampler<dim>>();
          sampler->parse_parameters(prm);
        }
      else
        {
          prm.enter_subsection("Probability flow");
          sampler = std::make_unique<ProbabilityFlowSampler<dim>>();
          sampler->parse_parameters(prm);
        }
      prm.leave_subsection();
      prm.leave_subsection();

      const ScoreModel<dim> *m     = model.get();
      const ScoreFunction    score = [m](const torch::Tensor &v, const torch::Tensor &s) {
        return m->evaluate(v, s, 128);
      };
      samples = sampler->sample(score, *space, *noise, NoiseRange{training.sigma_max, training.sigma_min}, n, seed,
                                0, &sampler_report);
      out << "\n" << sampler_name << ": " << sampler_report.summary() << '\n';
      labels = classify(samples);
      const torch::Tensor distances = std::get<0>(distances_to_means(samples).min(1));

      out << "component  weight  recovered  |mean error|/|mean|  fluctuation variance ratio per band\n";
      for (unsigned int j = 0; j < weights.size(); ++j)
        {
          const torch::Tensor in_class = (labels == int64_t(j));
          const auto          count    = in_class.sum().item<int64_t>();
          recovered_weights.push_back(double(count) / n);
          if (count == 0)
            {
              mean_errors.push_back(std::nan(""));
              component_bands.emplace_back();
              out << "  " << j << "  " << fixed(weights[j]) << "  0 samples\n";
              continue;
            }
          const torch::Tensor members = samples.index({in_class});
          mean_errors.push_back(l2_norm(members.mean(0) - means[j]) / l2_norm(means[j]));
          component_bands.push_back(band_statistics(fluctuation_truth->eigenvalues(),
                                                    fluctuation_truth->mode_statistics(members - means[j]),
                                                    fluctuation_truth->target_variances(), 4));
          out << "  " << j << "        " << fixed(weights[j]) << "   " << fixed(recovered_weights[j]) << "      "
              << fixed(100 * mean_errors[j], 1) << "%             ";
          for (const auto &band : component_bands.back())
            out << ' ' << fixed(band.variance_ratio);
          out << '\n';
        }
      out << "Distance of the samples to their nearest mean: median "
          << distances.median().item<double>() << ", max " << distances.max().item<double>()
          << " (smallest distance between two means: ";
      double smallest = std::numeric_limits<double>::max();
      for (unsigned int i = 0; i < weights.size(); ++i)
        for (unsigned int j = i + 1; j < weights.size(); ++j)
          smallest = std::min(smallest, l2_norm(means[i] - means[j]));
      out << smallest << ")" << std::endl;
    }


    // @sect4{Output}
    void
    GaussianMixtureValidation::write_outputs()
    {
      TimerOutput::Scope scope(timer, "output");
      {
        std::ofstream f(output_directory + "/weights.dat");
        f << "# component true_weight data_frequency recovered_weight standard_error mean_error\n";
        const double n = samples.size(0);
        for (unsigned int j = 0; j < weights.size(); ++j)
          f << j << ' ' << weights[j] << ' ' << data_weights[j] << ' ' << recovered_weights[j] << ' '
            << std::sqrt(weights[j] * (1 - weights[j]) / n) << ' ' << mean_errors[j] << '\n';
      }
      {
        std::ofstream md(output_directory + "/results.md");
        md << "# step-3 results\n\n" << space->n_dofs() << " DoFs, K = " << n_modes << " modes; training "
           << training.n_steps << " steps (" << fixed(training_seconds, 0) << " s); " << sampler_name << ", "
           << samples.size(0) << " samples, " << fixed(sampler_report.evaluations_per_sample(), 1)
           << " NFE per sample, " << fixed(sampler_report.wall_time, 1) << " s.\n\n"
           << "| component | mean | weight | recovered | error | standard error | |mean error|/|mean| |";
        for (unsigned int b = 0; b < 4; ++b)
          md << " fluct. var. ratio band " << b + 1 << " |";
        md << "\n|---|---|---|---|---|---|---|---|---|---|---|\n";
        for (unsigned int j = 0; j < weights.size(); ++j)
          {
            md << "| " << j << " | `" << mean_expressions[j] << "` | " << weights[j] << " | "
               << fixed(recovered_weights[j]) << " | " << fixed(recovered_weights[j] - weights[j]) << " | "
               << fixed(std::sqrt(weights[j] * (1 - weights[j]) / samples.size(0))) << " | "
               << fixed(100 * mean_errors[j], 1) << "% |";
            for (const auto &band : component_bands[j])
              md << ' ' << fixed(band.variance_ratio) << " |";
            md << '\n';
          }
      }
      // VTU: the true means, the recovered means, a few samples with their class.
      {
        std::vector<VectorType>  vectors;
        std::vector<std::string> names;
        auto add = [&](const std::string &name, const torch::Tensor &row) {
          vectors.push_back(space->create_vector());
          torch_bridge::from_tensor(row.contiguous(), vectors.back());
          names.push_back(name);
        };
        for (unsigned int j = 0; j < weights.size(); ++j)
          {
            add("mean_" + std::to_string(j), means[j]);
            const torch::Tensor in_class = (labels == int64_t(j));
            if (in_class.sum().item<int64_t>() > 0)
              add("recovered_mean_" + std::to_string(j), samples.index({in_class}).mean(0));
          }
        for (unsigned int i = 0; i < std::min<unsigned int>(n_vtu, samples.size(0)); ++i)
          add("sample_" + std::to_string(i) + "_class_" + std::to_string(labels[i].item<int64_t>()), samples[i]);
        std::vector<std::pair<std::string, const VectorType *>> fields;
        for (std::size_t i = 0; i < vectors.size(); ++i)
          fields.emplace_back(names[i], &vectors[i]);
        write_vtu(*space, fields, output_directory + "/mixture.vtu");
      }
      // The mean fields as point clouds for gnuplot (x, y, true, recovered).
      {
        std::ofstream f(output_directory + "/means.dat");
        const auto    points = space->locally_owned_support_points();
        f << "# x y";
        for (unsigned int j = 0; j < weights.size(); ++j)
          f << " mean_" << j << " recovered_" << j;
        f << '\n';
        std::vector<torch::Tensor> recovered;
        for (unsigned int j = 0; j < weights.size(); ++j)
          {
            const torch::Tensor in_class = (labels == int64_t(j));
            recovered.push_back(in_class.sum().item<int64_t>() > 0 ? samples.index({in_class}).mean(0) :
                                                                     torch::full_like(means[j], NAN));
          }
        for (unsigned int i = 0; i < points.size(); ++i)
          {
            f << points[i][0] << ' ' << points[i][1];
            for (unsigned int j = 0; j < weights.size(); ++j)
              f << ' ' << means[j][i].item<double>() << ' ' << recovered[j][i].item<double>();
            f << '\n';
          }
      }
      std::ostringstream gnuplot;
      gnuplot << "gnuplot -e \"dir='" << output_directory << "'; ncomponents=" << weights.size() << "\" '"
              << gnuplot_script << "'";
      if (std::system("command -v gnuplot > /dev/null 2>&1") == 0 && std::system(gnuplot.str().c_str()) == 0)
        out << "Wrote " << output_directory << "/mixture.png\n";
      else
        out << "To render the figure run\n  " << gnuplot.str() << std::endl;
      out << "Wrote " << output_directory << "/results.md, mixture.vtu\n";
    }


    // @sect4{The targets}
    //
    // Each recovered weight is a class frequency of n samples, with standard
    // error sqrt(w (1 - w) / n); each recovered mean is the average of n_j
    // samples, whose error from the fluctuation alone has the RMS norm
    // |eta|_rms / sqrt(n_j). Both must lie within 5 of these standard errors:
    // a sampler that puts 5% of the mass on the wrong component (or a score
    // that blurs the means) fails, sampling noise does not.
    bool
    GaussianMixtureValidation::targets_met() const
    {
      const double n   = samples.size(0);
      const double rms = std::sqrt(torch::tensor(fluctuation_truth->target_variances()).sum().item<double>());
      bool         met = true;
      out << "\nTargets (5 standard errors):\n";
      for (unsigned int j = 0; j < weights.size(); ++j)
        {
          const double weight_error = std::sqrt(weights[j] * (1 - weights[j]) / n);
          const double count        = recovered_weights[j] * n;
          const double mean_error   = count > 0 ? rms / std::sqrt(count) / l2_norm(means[j]) : 0;
          const bool   weight_ok    = std::abs(recovered_weights[j] - weights[j]) <= 5 * weight_error;
          const bool   mean_ok      = count > 0 && mean_errors[j] <= 5 * mean_error;
          out << "  component " << j << ": weight " << fixed(recovered_weights[j]) << " against " << weights[j]
              << " (bound " << fixed(5 * weight_error) << ")" << (weight_ok ? "" : " MISSED") << ", mean error "
              << fixed(100 * mean_errors[j], 1) << "% (bound " << fixed(500 * mean_error, 1) << "%)"
              << (mean_ok ? "" : " MISSED") << '\n';
          met = met && weight_ok && mean_ok;
        }
      out << (met ? "All targets met.\n" : "Targets missed.\n");
      return met;
    }


    bool
    GaussianMixtureValidation::run()
    {
      setup();
      make_training_data();
      train();
      sample_and_classify();
      write_outputs();
      return targets_met();
    }
  } // namespace Step3
} // namespace ddo


int
main(int argc, char *argv[])
{
  using namespace dealii;
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      const std::string parameter_file =
        argc > 1 ? std::string(argv[1]) : std::string(DDO_STEP3_SOURCE_DIR) + "/step-3.prm";
      ParameterHandler prm;
      ddo::Step3::declare_parameters(prm);
      prm.parse_input(parameter_file);
      std::cout << "ddo step-3: a DDO trained on a Gaussian mixture in function space\n"
                << "parameters: " << parameter_file << std::endl;
      ddo::Step3::GaussianMixtureValidation program(prm);
      if (!program.run())
        return 2;
    }
  catch (std::exception &exc)
    {
      std::cerr << "\n\n----------------------------------------------------\n"
                << "Exception on processing:\n"
                << exc.what() << "\nAborting!\n"
                << "----------------------------------------------------" << std::endl;
      return 1;
    }
  return 0;
}
