/* ---------------------------------------------------------------------
 *
 * ddo step-2: training a denoising diffusion operator on a Gaussian
 * target whose score is known exactly, and checking what it samples.
 *
 * This program is part of the ddo tutorial. The text that explains what
 * it does, and the results it produces, are in README.md next to it.
 *
 * ---------------------------------------------------------------------
 */

// @sect3{Include files}

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>
#include <deal.II/base/utilities.h>

// From ddo: meshes and spaces, the Matérn SPDE (data and noise), the
// eigenbasis, the exact Gaussian score, the network with its model
// wrapper, training, checkpoints, the two samplers, and VTU output.
#include <ddo/base/mpi_session.h>
#include <ddo/torch/model/checkpoint.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/model/gaussian_score.h>
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
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>
#include <algorithm>

#ifndef DDO_STEP2_SOURCE_DIR
#  define DDO_STEP2_SOURCE_DIR "."
#endif

namespace ddo
{
  namespace Step2
  {
    using namespace dealii;
    constexpr int dim = 2;

    // @sect3{Parameters}
    //
    // Everything the program does is set in `step-2.prm`. The subsections
    // `Mesh`, `Finite element`, `Training`, `Langevin` and `Probability flow`
    // are declared by the library classes that read them (the same entries
    // as in the `ddo` driver); `Data` and `Noise` hold the parameters of the
    // two Matérn fields (the entries of the SPDE model "matern"); `Network`
    // those of the spectral neural operator plus the number of eigenmodes it
    // uses; `Validation` the sizes of the checks.
    void
    declare_parameters(ParameterHandler &prm)
    {
      prm.enter_subsection("Output");
      prm.declare_entry("Directory", "step-2-output", Patterns::DirectoryName(),
                        "Where tables, figures, VTU files, the checkpoint and the "
                        "eigenbasis cache go.");
      prm.declare_entry("Number of VTU samples", "4", Patterns::Integer(0),
                        "Samples of each kind written to VTU.");
      prm.declare_entry("Gnuplot script", "", Patterns::Anything(),
                        "Script that renders the figures; empty: plot_step2.gp next to the source.");
      prm.leave_subsection();

      prm.declare_entry("Threads", "1", Patterns::Integer(1),
                        "Intra-op threads of torch (the timings in README.md use one).");

      MeshBuilder<dim>::declare_parameters(prm);
      FunctionSpace<dim>::declare_parameters(prm);

      prm.enter_subsection("Data");
      prm.declare_entry("Number of samples", "4096", Patterns::Integer(1),
                        "Training set size: samples of the target field.");
      prm.declare_entry("Seed", "7", Patterns::Integer(0), "Seed of the training set.");
      MaternSPDE<dim>::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Noise");
      MaternSPDE<dim>::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Network");
      prm.declare_entry("Number of modes", "0", Patterns::Integer(0),
                        "Eigenmodes the network filters in; 0: all but one of the free DoFs "
                        "of the training mesh (the most the eigensolver gives).");
      SpectralNeuralOperator<dim>::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Training");
      TrainingSettings::declare_parameters(prm);
      prm.leave_subsection();

      prm.enter_subsection("Validation");
      prm.declare_entry("Number of bands", "4", Patterns::Integer(1),
                        "Eigenvalue bands (equal numbers of modes) of the tables.");
      prm.declare_entry("Score error levels", "8", Patterns::Integer(2),
                        "Geometric noise levels from Sigma max to Sigma min at which "
                        "the score error is measured.");
      prm.declare_entry("Score error samples", "256", Patterns::Integer(1),
                        "Exact samples of p_sigma per level for the score error.");
      prm.declare_entry("Number of samples", "512", Patterns::Integer(1),
                        "Samples drawn by each sampler on the training mesh.");
      prm.declare_entry("Samples on refined meshes", "128", Patterns::Integer(1),
                        "Samples drawn by each sampler on the refined meshes.");
      prm.declare_entry("Refinements", "2", Patterns::Integer(0, 4),
                        "The resolution study samples on the training mesh and on this "
                        "many uniform refinements of it (h/2, h/4, ...).");
      prm.declare_entry("Exact-score reference", "true", Patterns::Bool(),
                        "Also run both samplers with the exact score on the training mesh "
                        "(separates the sampler's bias from the network's error).");
      prm.declare_entry("Seed", "2024", Patterns::Integer(0), "Seed of the samplers.");
      prm.leave_subsection();

      prm.enter_subsection("Langevin");
      LangevinSampler<dim>::declare_parameters(prm);
      prm.leave_subsection();
      prm.enter_subsection("Probability flow");
      ProbabilityFlowSampler<dim>::declare_parameters(prm);
      prm.leave_subsection();
    }


    // The Matérn scales (kappa, tau, alpha) of a subsection with the
    // entries of MaternSPDE.
    MaternScales
    scales_of(const MaternSPDE<dim> &field)
    {
      const auto &p = field.get_parameters();
      return MaternScales::from_user_parameters(dim, p.marginal_variance, p.correlation_length,
                                                p.smoothness);
    }


    // Collapses the white space of a deal.II exception message (it wraps
    // long lines) into one line.
    std::string
    one_line(const std::string &text)
    {
      std::istringstream in(text);
      std::string        word, result;
      while (in >> word)
        result += (result.empty() ? "" : " ") + word;
      return result;
    }


    std::string
    fixed(const double x, const int digits = 3)
    {
      std::ostringstream out;
      if (!std::isfinite(x))
        out << "n/a";
      else
        out << std::fixed << std::setprecision(digits) << x;
      return out.str();
    }


    // @sect3{One mesh of the resolution study}
    //
    // A mesh level holds the function space, the noise model on it (the SPDE
    // with the noise parameters, assembled and factorized on this mesh), and
    // the exact truth on it: the first K eigenpairs of the mesh and the
    // GaussianScore built from the two Matérn spectral densities. Both
    // covariances are diagonal in the M-orthonormal eigenbasis of
    // $K\varphi = \lambda M\varphi$ (with Neumann conditions, the SPDE
    // covariance $\tau^{-2}(A^{-1}M)^{\alpha-1}A^{-1}$, $A = \kappa^2M+K$,
    // has the mode variances $\tau^{-2}(\kappa^2+\lambda_k)^{-\alpha}$
    // exactly), so the truth is recomputed exactly on every mesh.
    struct MeshLevel
    {
      unsigned int                          refinement = 0;
      std::shared_ptr<Triangulation<dim>>   triangulation;
      std::unique_ptr<FunctionSpace<dim>>   space;
      std::unique_ptr<MaternSPDE<dim>>      noise;
      std::unique_ptr<SpectralBasis<dim>>   basis;
      std::unique_ptr<GaussianScore<dim>>   exact;
      /** Upper eigenvalue edges of the bands in which statistics are reported. */
      std::vector<double>                   band_edges;

      void
      setup(const MeshBuilder<dim> &            coarse_builder,
            const unsigned int                  degree,
            const unsigned int                  extra_refinements,
            const MaternSPDE<dim>::Parameters & noise_parameters,
            const MaternScales &                data_scales,
            const MaternScales &                noise_scales,
            const unsigned int                  n_modes,
            const std::string &                 cache_directory)
      {
        refinement             = extra_refinements;
        MeshBuilder<dim> build = coarse_builder;
        build.global_refinements += extra_refinements;
        triangulation = build.create(MPI_COMM_SELF);
        space = std::make_unique<FunctionSpace<dim>>(triangulation, degree, build.periodic_boundaries());
        noise = std::make_unique<MaternSPDE<dim>>(noise_parameters);
        noise->initialize(*space);
        basis = std::make_unique<SpectralBasis<dim>>(*space, n_modes, cache_directory);
        exact = std::make_unique<GaussianScore<dim>>(
          *basis,
          [data_scales](const double lambda) { return data_scales.spectral_density(lambda); },
          [noise_scales](const double lambda) { return noise_scales.spectral_density(lambda); });
      }

      std::string
      name() const
      {
        return refinement == 0 ? "h" : "h/" + std::to_string(1u << refinement);
      }
    };


    // @sect3{Statistics of a set of samples}
    //
    // What a sampler run gives: per-band ratios of the sample variance of
    // the mode coefficients to the truth, the size of the sample mean, the
    // number of score evaluations per sample and the time. A run that
    // throws (the white-noise ablation may diverge) keeps the message.
    struct SamplingResult
    {
      std::string                 sampler;
      std::string                 mesh;
      unsigned int                n_dofs    = 0;
      unsigned int                n_samples = 0;
      bool                        failed    = false;
      std::string                 message;
      std::vector<BandStatistics> bands;
      double                      relative_mean = 0; // |mean|_M / sqrt(E|u|^2) on the K modes
      double                      nfe           = 0;
      double                      seconds       = 0;
      torch::Tensor               samples;
    };


    // Band statistics with bands given by their upper eigenvalue edges
    // (those of the equal-count bands of the training mesh), so that the
    // same eigenvalue ranges are compared on every mesh; modes above the
    // last edge are left out. On the training mesh this is exactly
    // band_statistics() with equal counts.
    std::vector<BandStatistics>
    bands_by_eigenvalue(const std::vector<double> &eigenvalues,
                        const ModeStatistics &     statistics,
                        const std::vector<double> &reference,
                        const std::vector<double> &upper_edges)
    {
      std::vector<BandStatistics> bands(upper_edges.size());
      const double                n = statistics.n_samples;
      unsigned int                k = 0;
      for (unsigned int b = 0; b < upper_edges.size(); ++b)
        {
          BandStatistics &band = bands[b];
          band.first_mode      = k;
          band.lambda_min      = k < eigenvalues.size() ? eigenvalues[k] : 0.;
          double ratio_sum = 0, max_mean = 0;
          for (; k < eigenvalues.size() && eigenvalues[k] <= upper_edges[b] * (1 + 1e-10); ++k)
            {
              ratio_sum += statistics.second_moment[k] / reference[k];
              max_mean = std::max(max_mean, std::abs(statistics.mean[k]) / std::sqrt(reference[k] / n));
              ++band.n_modes;
            }
          AssertThrow(band.n_modes > 0, ExcMessage("step-2: an eigenvalue band without modes."));
          band.lambda_max            = eigenvalues[k - 1];
          band.variance_ratio        = ratio_sum / band.n_modes;
          band.standard_error        = std::sqrt(2. / (n * band.n_modes));
          band.max_standardized_mean = max_mean;
        }
      return bands;
    }


    SamplingResult
    run_sampler(const Sampler<dim> &   sampler,
                const std::string &    label,
                const ScoreFunction &  score,
                const MeshLevel &      level,
                const NoiseRange &     range,
                const unsigned int     n_samples,
                const std::uint64_t    seed,
                ConditionalOStream &   out)
    {
      SamplingResult result;
      result.sampler   = label;
      result.mesh      = level.name();
      result.n_dofs    = level.space->n_dofs();
      result.n_samples = n_samples;
      try
        {
          SamplerReport report;
          result.samples = sampler.sample(score, *level.space, *level.noise, range, n_samples, seed, 0, &report);
          result.nfe     = report.evaluations_per_sample();
          result.seconds = report.wall_time;
          const ModeStatistics statistics = level.exact->mode_statistics(result.samples);
          result.bands = bands_by_eigenvalue(level.exact->eigenvalues(), statistics,
                                             level.exact->target_variances(), level.band_edges);
          double mean_squared = 0, total_variance = 0;
          for (unsigned int k = 0; k < statistics.mean.size() && level.exact->eigenvalues()[k] <= level.band_edges.back() * (1 + 1e-10); ++k)
            {
              mean_squared += statistics.mean[k] * statistics.mean[k];
              total_variance += level.exact->target_variances()[k];
            }
          result.relative_mean = std::sqrt(mean_squared / total_variance);
          out << "  " << std::left << std::setw(28) << label + " on " + level.name() << std::right
              << " NFE " << std::setw(6) << result.nfe << "  " << std::setw(7) << fixed(result.seconds, 1)
              << " s  variance ratio per band:";
          for (const auto &band : result.bands)
            out << ' ' << fixed(band.variance_ratio);
          out << "  |mean| " << fixed(result.relative_mean) << std::endl;
        }
      catch (const std::exception &e)
        {
          result.failed  = true;
          result.message = one_line(e.what());
          out << "  " << label << " on " << level.name() << " FAILED: " << result.message << std::endl;
        }
      return result;
    }


    // @sect3{The score error per band}
    //
    // At a noise level $\sigma$ we draw exact samples of the noisy law
    // $p_\sigma = N(0, \Sigma + \sigma^2 C)$, evaluate the network and the
    // exact score $F^*$ on them, and compare mode coefficients band by
    // band: $\|\sigma(F - F^*)\|_M / \|\sigma F^*\|_M$ restricted to the
    // modes of the band, averaged over the samples (a ratio of sums over
    // the band, so the modes that carry the score dominate, as in the L2
    // norm). `all` is the same over all K modes.
    std::vector<double>
    band_score_errors(const GaussianScore<dim> &exact,
                      const ScoreFunction &     score,
                      const double              sigma,
                      const unsigned int        n_samples,
                      const std::uint64_t       seed,
                      const unsigned int        n_bands)
    {
      const torch::Tensor v = exact.sample(exact.noisy_variances(sigma), n_samples, seed);
      const torch::Tensor s = torch::full({static_cast<std::int64_t>(n_samples)}, sigma, torch::kFloat64);
      const torch::Tensor truth = exact.project(exact(v, s));
      ScoreEvaluationCounter counter;
      const torch::Tensor    error = exact.project(counter.evaluate(score, v, s)) - truth;
      const torch::Tensor    error2 = (error * error).mean(0);
      const torch::Tensor    truth2 = (truth * truth).mean(0);
      const std::int64_t     K      = exact.n_modes();
      std::vector<double>    result;
      std::int64_t           k = 0;
      for (unsigned int b = 0; b < n_bands; ++b)
        {
          const std::int64_t m = K / n_bands + (b < K % n_bands ? 1 : 0);
          result.push_back(
            std::sqrt(error2.slice(0, k, k + m).sum().item<double>() / truth2.slice(0, k, k + m).sum().item<double>()));
          k += m;
        }
      result.push_back(std::sqrt(error2.sum().item<double>() / truth2.sum().item<double>()));
      return result;
    }


    // @sect3{The program}
    class GaussianTargetValidation
    {
    public:
      GaussianTargetValidation(ParameterHandler &prm);
      void
      run();

    private:
      void
      make_training_data();
      void
      train();
      void
      measure_score_error();
      void
      sample_on_training_mesh();
      void
      resolution_study();
      void
      write_outputs();

      ParameterHandler & prm;
      ConditionalOStream out;
      TimerOutput        timer;
      std::string        output_directory;
      std::string        cache_directory;

      MeshBuilder<dim>            builder;
      unsigned int                degree = 1;
      MaternSPDE<dim>::Parameters data_parameters, noise_parameters;
      MaternScales                data_scales  = MaternScales::from_user_parameters(dim, 1, 1, 1);
      MaternScales                noise_scales = MaternScales::from_user_parameters(dim, 1, 1, 1);
      unsigned int                n_modes      = 0;
      TrainingSettings            training;
      NoiseRange                  range;
      unsigned int                n_bands = 4, n_score_levels = 8, n_score_samples = 256;
      unsigned int                n_samples = 512, n_refined_samples = 128, n_refinements = 2;
      bool                        exact_reference = true;
      std::uint64_t               seed            = 2024;
      unsigned int                n_vtu           = 4;
      std::string                 gnuplot_script;

      std::vector<std::unique_ptr<MeshLevel>> levels;
      torch::Tensor                           data;
      std::shared_ptr<ScoreNetwork<dim>>      network;
      std::unique_ptr<ScoreModel<dim>>        model;
      std::unique_ptr<LangevinSampler<dim>>   langevin, white_langevin;
      std::unique_ptr<ProbabilityFlowSampler<dim>> flow;

      TrainingReport                   training_report;
      double                           training_seconds_total = 0;
      std::vector<double>              score_sigmas;
      std::vector<std::vector<double>> score_errors, skip_only_errors, gaussian_skip_errors;
      std::vector<SamplingResult>      results;
    };


    GaussianTargetValidation::GaussianTargetValidation(ParameterHandler &prm)
      : prm(prm)
      , out(std::cout, true)
      , timer(out, TimerOutput::summary, TimerOutput::wall_times)
    {
      prm.enter_subsection("Output");
      output_directory = prm.get("Directory");
      n_vtu            = prm.get_integer("Number of VTU samples");
      gnuplot_script   = prm.get("Gnuplot script");
      if (gnuplot_script.empty())
        gnuplot_script = std::string(DDO_STEP2_SOURCE_DIR) + "/plot_step2.gp";
      prm.leave_subsection();
      cache_directory = output_directory + "/eigenbasis-cache";
      create_directories(output_directory);
      create_directories(cache_directory);

      torch::set_num_threads(prm.get_integer("Threads"));

      builder.parse_parameters(prm);
      prm.enter_subsection("Finite element");
      degree = prm.get_integer("Degree");
      prm.leave_subsection();

      MaternSPDE<dim> reader;
      prm.enter_subsection("Data");
      reader.parse_parameters(prm);
      data_parameters = reader.get_parameters();
      prm.leave_subsection();
      data_scales = scales_of(reader);
      prm.enter_subsection("Noise");
      reader.parse_parameters(prm);
      noise_parameters = reader.get_parameters();
      prm.leave_subsection();
      noise_scales = scales_of(reader);
      AssertThrow(data_parameters.boundary_condition == MaternSPDE<dim>::BoundaryCondition::neumann &&
                    noise_parameters.boundary_condition == MaternSPDE<dim>::BoundaryCondition::neumann,
                  ExcMessage("step-2 needs Neumann conditions for data and noise: only then are both "
                             "covariances diagonal in the Laplacian eigenbasis of the mesh."));
      AssertThrow(data_parameters.correlation_lengths.empty() && noise_parameters.correlation_lengths.empty(),
                  ExcMessage("step-2 needs isotropic fields (no 'Correlation lengths per axis')."));

      prm.enter_subsection("Training");
      training.parse_parameters(prm);
      prm.leave_subsection();
      if (!training.checkpoint_directory.empty() && training.checkpoint_directory[0] != '/')
        training.checkpoint_directory = output_directory + "/" + training.checkpoint_directory;
      range.sigma_max = training.sigma_max;
      range.sigma_min = training.sigma_min;

      prm.enter_subsection("Validation");
      n_bands           = prm.get_integer("Number of bands");
      n_score_levels    = prm.get_integer("Score error levels");
      n_score_samples   = prm.get_integer("Score error samples");
      n_samples         = prm.get_integer("Number of samples");
      n_refined_samples = prm.get_integer("Samples on refined meshes");
      n_refinements     = prm.get_integer("Refinements");
      exact_reference   = prm.get_bool("Exact-score reference");
      seed              = prm.get_integer("Seed");
      prm.leave_subsection();

      prm.enter_subsection("Langevin");
      langevin = std::make_unique<LangevinSampler<dim>>();
      langevin->parse_parameters(prm);
      // The ablation: the same sampler with white nodal noise.
      const std::string preconditioned = prm.get("Preconditioned noise");
      prm.set("Preconditioned noise", "false");
      white_langevin = std::make_unique<LangevinSampler<dim>>();
      white_langevin->parse_parameters(prm);
      prm.set("Preconditioned noise", preconditioned);
      prm.leave_subsection();
      prm.enter_subsection("Probability flow");
      flow = std::make_unique<ProbabilityFlowSampler<dim>>();
      flow->parse_parameters(prm);
      prm.leave_subsection();
    }


    // @sect4{The training mesh and the data}
    //
    // The data are samples of the target Matérn field, drawn with the SPDE
    // (two solves per sample for $\alpha = 3$) on the training mesh. The
    // number of modes K is the largest the eigensolver gives (all free DoFs
    // but one) unless the parameter file says otherwise: the network then
    // sees every mode of the training mesh through its spectral filters.
    void
    GaussianTargetValidation::make_training_data()
    {
      TimerOutput::Scope scope(timer, "training mesh, truth and data");
      auto               level = std::make_unique<MeshLevel>();
      // K: the modes of the network and of the truth, the same on every mesh.
      {
        MeshBuilder<dim> b = builder;
        auto             t = b.create(MPI_COMM_SELF);
        FunctionSpace<dim> s(t, degree, b.periodic_boundaries());
        prm.enter_subsection("Network");
        n_modes = prm.get_integer("Number of modes");
        prm.leave_subsection();
        const unsigned int n_free = n_free_dofs(s);
        if (n_modes == 0 || n_modes >= n_free)
          n_modes = n_free - 1;
      }
      level->setup(builder, degree, 0, noise_parameters, data_scales, noise_scales, n_modes, cache_directory);
      // Band edges: equal-count bands of the K modes of the training mesh.
      for (const auto &band : band_statistics(level->exact->eigenvalues(),
                                              ModeStatistics{1, std::vector<double>(n_modes, 0.),
                                                             std::vector<double>(n_modes, 1.)},
                                              std::vector<double>(n_modes, 1.), n_bands))
        level->band_edges.push_back(band.lambda_max);
      out << "Training mesh: " << level->space->n_dofs() << " DoFs, " << level->triangulation->n_active_cells()
          << " cells; K = " << n_modes << " modes, lambda in [" << level->basis->eigenvalues().front() << ", "
          << level->basis->eigenvalues().back() << "]\n";

      prm.enter_subsection("Data");
      const unsigned int  n_data    = prm.get_integer("Number of samples");
      const std::uint64_t data_seed = prm.get_integer("Seed");
      prm.leave_subsection();
      MaternSPDE<dim> target(data_parameters);
      target.initialize(*level->space);
      std::vector<VectorType> samples(n_data, level->space->create_vector());
      target.sample(samples, data_seed, 0);
      std::vector<const VectorType *> pointers;
      for (const auto &v : samples)
        pointers.push_back(&v);
      data = torch_bridge::to_tensor(pointers, torch::kFloat64);

      // The data set against the truth: the same band statistics that
      // judge the samplers, here for exact samples (what "within sampling
      // error" looks like).
      const auto bands = band_statistics(level->exact->eigenvalues(), level->exact->mode_statistics(data),
                                         level->exact->target_variances(), n_bands);
      out << "Training data: " << n_data << " SPDE samples; variance ratio per band:";
      for (const auto &band : bands)
        out << ' ' << fixed(band.variance_ratio);
      out << std::endl;
      levels.push_back(std::move(level));
    }


    // @sect4{Training}
    //
    // The network is the library's spectral neural operator; the Trainer
    // does denoising score matching with SPDE noise on the training mesh.
    // A checkpoint in the output directory is resumed: a finished one makes
    // the Trainer return at once, so reruns go straight to the validation.
    // Sampling uses the averaged (EMA) weights.
    void
    GaussianTargetValidation::train()
    {
      prm.enter_subsection("Network");
      network = std::shared_ptr<ScoreNetwork<dim>>(
        ScoreNetworkRegistry<dim>::instance().create("spectral_operator").release());
      network->parse_parameters(prm);
      prm.leave_subsection();
      const auto &settings = dynamic_cast<SpectralNeuralOperator<dim> &>(*network).get_settings();
      network->build(settings.precision);
      const MeshLevel &level = *levels[0];
      model = std::make_unique<ScoreModel<dim>>(network, *level.space, n_modes, cache_directory);
      std::int64_t n_parameters = 0;
      for (const auto &p : network->parameters())
        n_parameters += p.numel();
      out << "Network: spectral_operator, width " << settings.width << ", " << settings.blocks << " blocks, "
          << n_parameters << " parameters\n";

      CheckpointMetadata metadata;
      metadata["mesh.fingerprint"] = level.space->fingerprint();
      Trainer<dim> trainer(*model, *level.noise, "spectral_operator", training, metadata, MPI_COMM_SELF);
      {
        TimerOutput::Scope scope(timer, "training");
        training_report = trainer.train(data, true);
      }
      if (!training.checkpoint_directory.empty() && checkpoint_has_ema(training.checkpoint_directory))
        load_checkpoint_weights(training.checkpoint_directory, "ema.pt", *network);
      // The training time of the run that made the checkpoint (reruns
      // train nothing): kept in a small file next to it.
      const std::string time_file = output_directory + "/training_time.txt";
      if (!training_report.losses.empty())
        {
          std::ifstream in(time_file);
          double        previous = 0;
          if (training_report.first_step > 0 && in)
            in >> previous;
          training_seconds_total = previous + training_report.wall_seconds;
          std::ofstream(time_file) << training_seconds_total << '\n';
          std::ofstream loss(output_directory + "/loss.dat");
          loss << "# step  loss (mean of the last 50 steps)\n";
          double       sum = 0;
          const auto  &l   = training_report.losses;
          for (std::size_t i = 0; i < l.size(); ++i)
            {
              sum += l[i] - (i >= 50 ? l[i - 50] : 0.);
              if ((i + 1) % 10 == 0)
                loss << training_report.first_step + i + 1 << ' ' << sum / std::min<std::size_t>(i + 1, 50) << '\n';
            }
        }
      else
        {
          std::ifstream in(time_file);
          if (in)
            in >> training_seconds_total;
          out << "Checkpoint complete: no training in this run (remove " << training.checkpoint_directory
              << " to retrain).\n";
        }
    }


    // @sect4{Score error against the exact score}
    //
    // At geometric levels from $\sigma_{max}$ to $\sigma_{min}$; as a
    // reference, the same error for the scalar skip connection alone
    // (Net = 0, i.e. $F = -v/(\sigma^2+\sigma_d^2)$): what training had to
    // improve on; with `Skip connection = gaussian` also the error of that
    // skip alone (the network's output layer set to zero), the part the
    // measured per-mode variances get right before any training.
    void
    GaussianTargetValidation::measure_score_error()
    {
      TimerOutput::Scope scope(timer, "score error");
      const MeshLevel &  level = *levels[0];
      const ScoreModel<dim> *m = model.get();
      const ScoreFunction score = [m](const torch::Tensor &v, const torch::Tensor &s) {
        return m->evaluate(v, s, 128);
      };
      const double        sd2 = dynamic_cast<SpectralNeuralOperator<dim> &>(*network).get_settings().data_scale *
                         dynamic_cast<SpectralNeuralOperator<dim> &>(*network).get_settings().data_scale;
      const ScoreFunction skip_only = [sd2](const torch::Tensor &v, const torch::Tensor &s) {
        return -v / (s * s + sd2).unsqueeze(1);
      };
      // The Gaussian skip alone: the output layer zeroed for the call.
      const ScoreFunction gaussian_skip_only = [this, m](const torch::Tensor &v, const torch::Tensor &s) {
        torch::NoGradGuard         no_grad;
        std::vector<torch::Tensor> saved;
        for (auto &p : network->named_parameters())
          if (p.key().rfind("project_out", 0) == 0)
            {
              saved.push_back(p.value().clone());
              p.value().zero_();
            }
        const torch::Tensor f = m->evaluate(v, s, 128);
        std::size_t         i = 0;
        for (auto &p : network->named_parameters())
          if (p.key().rfind("project_out", 0) == 0)
            p.value().copy_(saved[i++]);
        return f;
      };
      const bool gaussian_skip = network->uses_mode_variances();
      score_sigmas = sampler_tools::geometric_levels(range, n_score_levels);
      out << "\nRelative score error |sigma (F - F*)|_M / |sigma F*|_M per band (" << n_score_samples
          << " exact samples of p_sigma per level)\n";
      for (std::size_t i = 0; i < score_sigmas.size(); ++i)
        {
          score_errors.push_back(band_score_errors(*level.exact, score, score_sigmas[i], n_score_samples,
                                                   1000 + i, n_bands));
          skip_only_errors.push_back(band_score_errors(*level.exact, skip_only, score_sigmas[i],
                                                       n_score_samples, 1000 + i, n_bands));
          if (gaussian_skip)
            gaussian_skip_errors.push_back(band_score_errors(*level.exact, gaussian_skip_only,
                                                             score_sigmas[i], n_score_samples, 1000 + i,
                                                             n_bands));
          out << "  sigma " << std::setw(9) << std::setprecision(4) << score_sigmas[i] << ":";
          for (const double e : score_errors.back())
            out << ' ' << fixed(e);
          out << "   (scalar skip only: " << fixed(skip_only_errors.back().back());
          if (gaussian_skip)
            out << ", Gaussian skip only: " << fixed(gaussian_skip_errors.back().back());
          out << ")" << std::endl;
        }
    }


    // @sect4{Sampling on the training mesh}
    //
    // Annealed preconditioned Langevin and the probability-flow ODE with
    // the trained network; optionally both with the exact score, which
    // shows how much of the remaining error is the sampler's.
    void
    GaussianTargetValidation::sample_on_training_mesh()
    {
      TimerOutput::Scope scope(timer, "sampling on the training mesh");
      const MeshLevel &  level = *levels[0];
      const ScoreModel<dim> *m = model.get();
      const ScoreFunction score = [m](const torch::Tensor &v, const torch::Tensor &s) {
        return m->evaluate(v, s, 128);
      };
      out << "\nSampling on the training mesh (" << n_samples << " samples each)\n";
      if (exact_reference)
        {
          results.push_back(run_sampler(*langevin, "Langevin, exact score", level.exact->score_function(), level,
                                        range, n_samples, seed, out));
          results.push_back(run_sampler(*flow, "PF-ODE, exact score", level.exact->score_function(), level,
                                        range, n_samples, seed, out));
        }
      results.push_back(run_sampler(*langevin, "Langevin", score, level, range, n_samples, seed, out));
      results.push_back(run_sampler(*flow, "PF-ODE", score, level, range, n_samples, seed, out));
      // The ablation with as many samples as on the refined meshes: its
      // errors are gross, and it is compared across meshes.
      results.push_back(run_sampler(*white_langevin, "Langevin, white noise", score, level, range,
                                    n_refined_samples, seed, out));
    }


    // @sect4{Resolution study}
    //
    // The same network, re-bound (ScoreModel re-binds it) to the refined
    // meshes with the same K, sampled with the same parameters ($\varepsilon$,
    // steps, tolerances); the truth is recomputed on each mesh. Fewer
    // samples there: a network evaluation costs about N K W.
    void
    GaussianTargetValidation::resolution_study()
    {
      for (unsigned int r = 1; r <= n_refinements; ++r)
        {
          TimerOutput::Scope scope(timer, "resolution study, refinement " + std::to_string(r));
          auto               level = std::make_unique<MeshLevel>();
          // The modes of a finer mesh with eigenvalues up to the largest of
          // the training mesh: the frequency range the network's filters
          // were trained on (P1 eigenvalues of the coarse mesh lie above the
          // continuum ones, so a finer mesh has more modes in that range;
          // Weyl's law |Omega| lambda / (4 pi) bounds their number).
          const double lambda_train = levels[0]->basis->eigenvalues().back();
          const unsigned int n_search = std::min<unsigned int>(
            n_free_dofs(*levels[0]->space) * (1u << (2 * r)) - 1,
            std::ceil(1.2 * levels[0]->space->volume() * lambda_train / (4 * M_PI)) + 20);
          level->setup(builder, degree, r, noise_parameters, data_scales, noise_scales, n_search, cache_directory);
          const auto &       lambdas = level->basis->eigenvalues();
          const unsigned int n_fine_modes =
            std::upper_bound(lambdas.begin(), lambdas.end(), lambda_train) - lambdas.begin();
          level->band_edges = levels[0]->band_edges;
          out << "\nMesh " << level->name() << ": " << level->space->n_dofs() << " DoFs; the network uses the "
              << n_fine_modes << " modes with lambda <= " << lambda_train << " (of " << n_search << " computed); "
              << n_refined_samples << " samples each\n";
          model = std::make_unique<ScoreModel<dim>>(network, *level->space, n_fine_modes, cache_directory);
          const ScoreModel<dim> *m     = model.get();
          const ScoreFunction    score = [m](const torch::Tensor &v, const torch::Tensor &s) {
            return m->evaluate(v, s, 128);
          };
          results.push_back(
            run_sampler(*langevin, "Langevin", score, *level, range, n_refined_samples, seed, out));
          results.push_back(
            run_sampler(*flow, "PF-ODE", score, *level, range, n_refined_samples, seed, out));
          results.push_back(run_sampler(*white_langevin, "Langevin, white noise", score, *level, range,
                                        n_refined_samples, seed, out));
          levels.push_back(std::move(level));
        }
    }


    // @sect4{Tables, figures, VTU}
    void
    GaussianTargetValidation::write_outputs()
    {
      TimerOutput::Scope scope(timer, "output");
      // The score error table for gnuplot: sigma, bands..., all, skip only.
      {
        std::ofstream f(output_directory + "/score_error.dat");
        f << "# sigma";
        for (unsigned int b = 0; b < n_bands; ++b)
          f << " band_" << b + 1;
        f << " all skip_only_all\n";
        for (std::size_t i = 0; i < score_sigmas.size(); ++i)
          {
            f << std::setprecision(6) << score_sigmas[i];
            for (const double e : score_errors[i])
              f << ' ' << e;
            f << ' ' << skip_only_errors[i].back() << '\n';
          }
      }
      // Variance ratios: one row per band, one column per sampler run
      // (NaN if it failed), preconditioned runs and the white-noise
      // ablation in separate files; the first line names the columns.
      unsigned int n_preconditioned = 0, n_white = 0;
      for (const bool white : {false, true})
        {
          std::ofstream f(output_directory + (white ? "/variance_ratio_white.dat" : "/variance_ratio.dat"));
          f << "band lambda_min lambda_max";
          for (const auto &r : results)
            if ((r.sampler.find("white") != std::string::npos) == white)
              {
                f << " \"" << r.sampler << " (" << r.mesh << ")\"";
                ++(white ? n_white : n_preconditioned);
              }
          f << '\n';
          for (unsigned int b = 0; b < n_bands; ++b)
            {
              const BandStatistics *reference = nullptr;
              for (const auto &r : results)
                if (!r.failed)
                  {
                    reference = &r.bands[b];
                    break;
                  }
              f << b + 1 << ' ' << (reference ? reference->lambda_min : 0.) << ' '
                << (reference ? reference->lambda_max : 0.);
              for (const auto &r : results)
                if ((r.sampler.find("white") != std::string::npos) == white)
                  f << ' ' << (r.failed ? std::nan("") : r.bands[b].variance_ratio);
              f << '\n';
            }
        }

      // The markdown summary.
      std::ofstream md(output_directory + "/results.md");
      md << "# step-2 results\n\n";
      md << "Training mesh: " << levels[0]->space->n_dofs() << " DoFs; K = " << n_modes << " modes. Training: "
         << training.n_steps << " steps, batch " << training.batch_size << ", "
         << fixed(training_seconds_total, 0) << " s.\n\n";
      md << "## Relative score error per band\n\n| sigma |";
      for (unsigned int b = 0; b < n_bands; ++b)
        md << " band " << b + 1 << " |";
      const bool gaussian_skip = !gaussian_skip_errors.empty();
      md << " all modes | scalar skip only (all) |" << (gaussian_skip ? " Gaussian skip only (all) |" : "")
         << "\n|---|";
      for (unsigned int b = 0; b < n_bands + 2 + (gaussian_skip ? 1 : 0); ++b)
        md << "---|";
      md << '\n';
      for (std::size_t i = 0; i < score_sigmas.size(); ++i)
        {
          md << "| " << std::setprecision(4) << score_sigmas[i] << " |";
          for (const double e : score_errors[i])
            md << ' ' << fixed(100 * e, 1) << "% |";
          md << ' ' << fixed(100 * skip_only_errors[i].back(), 1) << "% |";
          if (gaussian_skip)
            md << ' ' << fixed(100 * gaussian_skip_errors[i].back(), 1) << "% |";
          md << '\n';
        }
      md << "\n## Variance ratio sample/truth per band\n\n| sampler | mesh | DoFs | samples | NFE/sample | time (s) |";
      for (unsigned int b = 0; b < n_bands; ++b)
        md << " band " << b + 1 << " |";
      md << " max band error | |mean|/rms | standard error per band |\n|---|---|---|---|---|---|";
      for (unsigned int b = 0; b < n_bands + 3; ++b)
        md << "---|";
      md << '\n';
      for (const auto &r : results)
        {
          md << "| " << r.sampler << " | " << r.mesh << " | " << r.n_dofs << " | " << r.n_samples << " | ";
          if (r.failed)
            {
              md << "| | failed: " << r.message << " |";
              for (unsigned int b = 1; b < n_bands + 3; ++b)
                md << " |";
              md << '\n';
              continue;
            }
          md << fixed(r.nfe, 1) << " | " << fixed(r.seconds, 1) << " |";
          double worst = 0;
          for (const auto &band : r.bands)
            {
              md << ' ' << fixed(band.variance_ratio) << " |";
              worst = std::max(worst, std::abs(band.variance_ratio - 1.));
            }
          md << ' ' << fixed(100 * worst, 1) << "% | " << fixed(r.relative_mean) << " (exact: "
             << fixed(1. / std::sqrt(double(r.n_samples))) << ") | " << fixed(r.bands[0].standard_error) << " |\n";
        }
      md << "\nBands (eigenvalue ranges on the training mesh):";
      if (!results.empty() && !results[0].failed)
        for (const auto &band : results[0].bands)
          md << " [" << fixed(band.lambda_min, 1) << ", " << fixed(band.lambda_max, 1) << "]";
      md << "\n";
      md.close();

      // VTU: data, Langevin and PF-ODE samples on the training mesh, and
      // the pointwise variance of the samples against the exact one.
      {
        const MeshLevel &                                       level = *levels[0];
        std::vector<VectorType>                                 vectors;
        std::vector<std::string>                                names;
        auto add = [&](const std::string &name, const torch::Tensor &row) {
          vectors.push_back(level.space->create_vector());
          torch_bridge::from_tensor(row.contiguous(), vectors.back());
          names.push_back(name);
        };
        for (unsigned int i = 0; i < std::min<unsigned int>(n_vtu, data.size(0)); ++i)
          add("data_" + std::to_string(i), data[i]);
        add("variance_data", data.pow(2).mean(0));
        for (const auto &r : results)
          if (r.mesh == "h" && !r.failed && r.sampler.find("exact") == std::string::npos &&
              r.sampler.find("white") == std::string::npos)
            {
              const std::string prefix = r.sampler == "Langevin" ? "langevin" : "pf_ode";
              for (unsigned int i = 0; i < std::min<unsigned int>(n_vtu, r.samples.size(0)); ++i)
                add(prefix + "_" + std::to_string(i), r.samples[i]);
              add("variance_" + prefix, r.samples.pow(2).mean(0));
            }
        std::vector<std::pair<std::string, const VectorType *>> fields;
        for (std::size_t i = 0; i < vectors.size(); ++i)
          fields.emplace_back(names[i], &vectors[i]);
        write_vtu(*level.space, fields, output_directory + "/samples-h.vtu");
      }
      if (levels.size() > 1)
        for (const auto &r : results)
          if (r.mesh == levels.back()->name() && r.sampler == "PF-ODE" && !r.failed)
            {
              std::vector<VectorType> vectors(std::min<unsigned int>(n_vtu, r.samples.size(0)),
                                              levels.back()->space->create_vector());
              std::vector<std::pair<std::string, const VectorType *>> fields;
              for (unsigned int i = 0; i < vectors.size(); ++i)
                {
                  torch_bridge::from_tensor(r.samples[i].contiguous(), vectors[i]);
                  fields.emplace_back("pf_ode_" + std::to_string(i), &vectors[i]);
                }
              write_vtu(*levels.back()->space, fields, output_directory + "/samples-finest.vtu");
            }

      // Figures.
      std::ostringstream gnuplot;
      gnuplot << "gnuplot -e \"dir='" << output_directory << "'; nbands=" << n_bands
              << "; nruns=" << n_preconditioned << "; nwhite=" << n_white << "\" '" << gnuplot_script << "'";
      if (std::system("command -v gnuplot > /dev/null 2>&1") == 0)
        {
          if (std::system(gnuplot.str().c_str()) == 0)
            out << "Wrote " << output_directory << "/score_error.png, variance_ratio.png, loss.png\n";
          else
            out << "gnuplot failed; the command was\n  " << gnuplot.str() << std::endl;
        }
      else
        out << "gnuplot is not installed; to render the figures run\n  " << gnuplot.str() << std::endl;
      out << "Wrote " << output_directory << "/results.md\n";
    }


    void
    GaussianTargetValidation::run()
    {
      make_training_data();
      train();
      measure_score_error();
      sample_on_training_mesh();
      resolution_study();
      write_outputs();
    }
  } // namespace Step2
} // namespace ddo



int
main(int argc, char *argv[])
{
  using namespace dealii;
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      const std::string parameter_file =
        argc > 1 ? std::string(argv[1]) : std::string(DDO_STEP2_SOURCE_DIR) + "/step-2.prm";
      ParameterHandler prm;
      ddo::Step2::declare_parameters(prm);
      prm.parse_input(parameter_file);
      std::cout << "ddo step-2: a DDO trained on a Gaussian target with known score\n"
                << "parameters: " << parameter_file << std::endl;
      ddo::Step2::GaussianTargetValidation program(prm);
      program.run();
    }
  catch (std::exception &exc)
    {
      std::cerr << "\n\n----------------------------------------------------\n"
                << "Exception on processing:\n"
                << exc.what() << "\nAborting!\n"
                << "----------------------------------------------------" << std::endl;
      return 1;
    }
  catch (...)
    {
      std::cerr << "\n\nUnknown exception! Aborting!" << std::endl;
      return 1;
    }
  return 0;
}
