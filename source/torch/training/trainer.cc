#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/timer.h>

#include <ddo/base/hashing.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/lac/lumped_operator.h>
#include <ddo/lac/spectral_basis.h>
#include <ddo/torch/training/trainer.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace ddo
{
  namespace
  {
    /**
     * Every eigenpair of the lumped operator of the serial @p space (dense):
     * the eigenvalues, and the projector `[n_free, N]` whose row i maps a
     * function to its coefficient in eigenvector i.
     */
    template <int dim>
    torch::Tensor
    lumped_projector(const FunctionSpace<dim> &space, std::vector<double> &eigenvalues)
    {
      FullMatrix<double> projector;
      lumped_eigenpairs(space, eigenvalues, projector);
      torch::Tensor p = torch::empty({std::int64_t(projector.m()), std::int64_t(projector.n())}, torch::kFloat64);
      std::copy(&projector(0, 0), &projector(0, 0) + projector.m() * projector.n(), p.data_ptr<double>());
      return p;
    }


    /**
     * Every eigenpair of the pencil (K, M) of the serial @p space (dense):
     * the eigenvalues, the projector `[n_free, N]` (rows \f$(M\varphi_k)^T\f$)
     * and the exact variance of each coefficient under @p noise,
     * \f$(P^TM\varphi_k)^T\tilde C\,(P^TM\varphi_k)\f$: no sampling error in
     * the noise's table, which the skip extrapolates to finer meshes.
     */
    template <int dim>
    torch::Tensor
    consistent_projector(const FunctionSpace<dim> &     space,
                         const CovarianceOperator<dim> &noise,
                         std::vector<double> &          eigenvalues,
                         torch::Tensor &                noise_variance)
    {
      const auto n_free = n_free_dofs(space);
      AssertThrow(n_free <= 5000,
                  ExcMessage("The whole-spectrum skip measures the variances in every eigenpair of the training "
                             "mesh (dense): at most 5000 free DoFs, this mesh has " +
                             std::to_string(n_free) + "."));
      const SpectralBasis<dim> all(space, n_free, "", SpectralBasis<dim>::Method::dense);
      eigenvalues = all.eigenvalues();
      std::vector<VectorType>         mass_modes(all.n_modes(), space.create_vector());
      std::vector<const VectorType *> pointers;
      std::vector<double>             variances(all.n_modes());
      VectorType                      condensed = space.create_vector(), covariance_times = space.create_vector();
      for (unsigned int k = 0; k < all.n_modes(); ++k)
        {
          space.mass_matrix().vmult(mass_modes[k], all.eigenvectors()[k]);
          pointers.push_back(&mass_modes[k]);
          condensed = mass_modes[k];
          space.get_constraints().condense(condensed);
          noise.apply(condensed, covariance_times);
          variances[k] = mass_modes[k] * covariance_times;
        }
      noise_variance = torch::tensor(variances, torch::kFloat64);
      return torch_bridge::to_tensor(pointers, torch::kFloat64);
    }
  } // namespace


  namespace
  {
    // Independent random streams of a training run, one per purpose.
    enum Stream : std::uint64_t
    {
      data_stream  = 1,
      sigma_stream = 2,
      noise_stream = 3,
      /** Noise samples that estimate the noise's per-mode variances. */
      mode_variance_stream = 4
    };

    std::uint64_t
    stream_hash(const unsigned int seed, const Stream stream, const unsigned int step)
    {
      return hashing::combine(hashing::combine(hashing::mix(seed), stream), step);
    }

    std::string
    format_duration(const double seconds)
    {
      const long         s = std::lround(std::max(0., seconds));
      std::ostringstream out;
      if (s >= 3600)
        out << s / 3600 << 'h' << std::setw(2) << std::setfill('0') << (s % 3600) / 60 << 'm';
      else
        out << s / 60 << 'm' << std::setw(2) << std::setfill('0') << s % 60 << 's';
      return out.str();
    }

    /** The architecture description without its Seed line (the seed only initializes). */
    std::string
    without_seed(const std::string &architecture)
    {
      std::istringstream in(architecture);
      std::string        result;
      for (std::string line; std::getline(in, line);)
        if (line.rfind("Seed", 0) != 0)
          result += line + '\n';
      return result;
    }

    /** Sums the gradients of @p parameters over the ranks of @p comm. */
    void
    all_reduce_gradients(const std::vector<torch::Tensor> &parameters, const MPI_Comm comm)
    {
      if (Utilities::MPI::n_mpi_processes(comm) == 1)
        return;
      for (const auto &p : parameters)
        {
          if (!p.grad().defined())
            continue;
          torch::Tensor grad = p.grad();
          AssertThrow(grad.is_contiguous(), ExcInternalError());
          const MPI_Datatype type = grad.scalar_type() == torch::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
          const int          ierr = MPI_Allreduce(MPI_IN_PLACE, grad.data_ptr(), grad.numel(), type, MPI_SUM, comm);
          AssertThrowMPI(ierr);
        }
    }
  } // namespace


  void
  TrainingSettings::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Number of steps", "2000", Patterns::Integer(1), "Optimizer steps in total.");
    prm.declare_entry("Batch size", "16", Patterns::Integer(1),
                      "Functions per step (over all MPI ranks together).");
    prm.declare_entry("Learning rate", "1e-3", Patterns::Double(0), "Peak learning rate of Adam.");
    prm.declare_entry("Learning rate schedule", "cosine", Patterns::Selection("constant|cosine"),
                      "After the warm-up: constant, or cosine decay to 1/20 of the peak.");
    prm.declare_entry("Warmup steps", "100", Patterns::Integer(0), "Linear warm-up of the learning rate.");
    prm.declare_entry("Gradient clip", "1", Patterns::Double(0),
                      "Clip of the global gradient norm (0: no clipping).");
    prm.declare_entry("EMA decay", "0.999", Patterns::Double(0, 1),
                      "Decay of the exponential moving average of the weights, which "
                      "are the weights sampling uses (0: no averaging).");
    prm.declare_entry("Sigma min", "0.01", Patterns::Double(0), "Smallest noise level.");
    prm.declare_entry("Sigma max", "10", Patterns::Double(0),
                      "Largest noise level: much larger than the data's spread, so that "
                      "sigma_max * xi is a good start for sampling.");
    prm.declare_entry("Sigma sampling", "log-uniform",
                      Patterns::Selection("log-uniform|log-normal|geometric levels"),
                      "Noise levels of training: continuous, log-uniform on [Sigma min, "
                      "Sigma max]; log-normal (ln sigma normal with Log-normal mean and "
                      "Log-normal standard deviation, truncated to [Sigma min, Sigma max]: "
                      "the EDM choice, which spends fewer steps on levels where the noise "
                      "dominates every mode); or one of Number of levels geometric levels.");
    prm.declare_entry("Log-normal mean", "-1.2", Patterns::Double(),
                      "Mean of ln sigma with Sigma sampling = log-normal (before truncation).");
    prm.declare_entry("Log-normal standard deviation", "1.2", Patterns::Double(0),
                      "Standard deviation of ln sigma with Sigma sampling = log-normal (before "
                      "truncation).");
    prm.declare_entry("Number of levels", "10", Patterns::Integer(2),
                      "Number of geometric levels (with Sigma sampling = geometric levels).");
    prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of all random choices of training.");
    prm.declare_entry("Log interval", "100", Patterns::Integer(1), "Steps between progress lines.");
    prm.declare_entry("Checkpoint interval", "500", Patterns::Integer(1), "Steps between checkpoints.");
    prm.declare_entry("Checkpoint directory", "checkpoint", Patterns::Anything(),
                      "Directory of the checkpoint (written atomically; empty: no checkpoints).");
    prm.declare_entry("Resume", "true", Patterns::Bool(),
                      "Continue from the checkpoint in Checkpoint directory if it exists.");
  }


  void
  TrainingSettings::parse_parameters(ParameterHandler &prm)
  {
    n_steps              = prm.get_integer("Number of steps");
    batch_size           = prm.get_integer("Batch size");
    learning_rate        = prm.get_double("Learning rate");
    schedule             = prm.get("Learning rate schedule");
    warmup_steps         = prm.get_integer("Warmup steps");
    gradient_clip        = prm.get_double("Gradient clip");
    ema_decay            = prm.get_double("EMA decay");
    sigma_min            = prm.get_double("Sigma min");
    sigma_max            = prm.get_double("Sigma max");
    sigma_sampling       = prm.get("Sigma sampling");
    n_levels             = prm.get_integer("Number of levels");
    log_normal_mean      = prm.get_double("Log-normal mean");
    log_normal_deviation = prm.get_double("Log-normal standard deviation");
    seed                 = prm.get_integer("Seed");
    log_interval         = prm.get_integer("Log interval");
    checkpoint_interval  = prm.get_integer("Checkpoint interval");
    checkpoint_directory = prm.get("Checkpoint directory");
    resume               = prm.get_bool("Resume");
    check();
  }


  void
  TrainingSettings::check() const
  {
    AssertThrow(sigma_min > 0 && sigma_min < sigma_max,
                ExcMessage("Training: need 0 < Sigma min < Sigma max (got " + std::to_string(sigma_min) + " and " +
                           std::to_string(sigma_max) + ")."));
    AssertThrow(n_steps > 0 && batch_size > 0, ExcMessage("Training: Number of steps and Batch size must be positive."));
    AssertThrow(learning_rate > 0, ExcMessage("Training: the learning rate must be positive."));
    AssertThrow(ema_decay >= 0 && ema_decay < 1, ExcMessage("Training: EMA decay must be in [0, 1)."));
    AssertThrow(schedule == "constant" || schedule == "cosine",
                ExcMessage("Training: unknown learning rate schedule <" + schedule + ">."));
    AssertThrow(sigma_sampling == "log-uniform" || sigma_sampling == "log-normal" ||
                  (sigma_sampling == "geometric levels" && n_levels >= 2),
                ExcMessage("Training: Sigma sampling must be log-uniform, log-normal or geometric levels (with "
                           "at least 2 levels)."));
    AssertThrow(sigma_sampling != "log-normal" || (log_normal_deviation > 0 && std::isfinite(log_normal_mean)),
                ExcMessage("Training: Sigma sampling = log-normal needs a positive Log-normal standard deviation "
                           "(got " + std::to_string(log_normal_deviation) + ")."));
  }


  template <int dim>
  Trainer<dim>::Trainer(ScoreModel<dim> &               model,
                        const CovarianceOperator<dim> & noise,
                        const std::string &             network_name,
                        const TrainingSettings &        settings,
                        const CheckpointMetadata &      metadata,
                        const MPI_Comm                  comm)
    : model(model)
    , noise(noise)
    , network_name(network_name)
    , settings(settings)
    , metadata(metadata)
    , comm(comm)
  {
    settings.check();
  }


  template <int dim>
  double
  Trainer<dim>::sigma_of(const unsigned int step, const unsigned int item) const
  {
    const std::uint64_t h = hashing::combine(stream_hash(settings.seed, sigma_stream, step), item);
    const double        ratio = std::log(settings.sigma_max / settings.sigma_min);
    if (settings.sigma_sampling == "log-uniform")
      return settings.sigma_min * std::exp(ratio * hashing::to_unit_interval(h));
    if (settings.sigma_sampling == "log-normal")
      {
        // Inverse transform of the normal law truncated to [ln sigma_min, ln sigma_max]:
        // Phi(z) = p by bisection (60 halvings: to round-off).
        const double mu = settings.log_normal_mean, deviation = settings.log_normal_deviation;
        const auto   cdf = [](const double z) { return 0.5 * std::erfc(-z / std::sqrt(2.)); };
        double       low  = (std::log(settings.sigma_min) - mu) / deviation;
        double       high = (std::log(settings.sigma_max) - mu) / deviation;
        const double p    = cdf(low) + hashing::to_unit_interval(h) * (cdf(high) - cdf(low));
        for (unsigned int i = 0; i < 60; ++i)
          {
            const double middle = 0.5 * (low + high);
            (cdf(middle) < p ? low : high) = middle;
          }
        return std::exp(mu + deviation * 0.5 * (low + high));
      }
    const unsigned int level = h % settings.n_levels;
    return settings.sigma_max * std::exp(-ratio * level / (settings.n_levels - 1.));
  }


  template <int dim>
  std::int64_t
  Trainer<dim>::data_index_of(const unsigned int step, const unsigned int item, const std::int64_t n_samples) const
  {
    return hashing::combine(stream_hash(settings.seed, data_stream, step), item) % n_samples;
  }


  template <int dim>
  double
  Trainer<dim>::learning_rate_at(const unsigned int step) const
  {
    if (step < settings.warmup_steps)
      return settings.learning_rate * (step + 1.) / settings.warmup_steps;
    if (settings.schedule == "constant")
      return settings.learning_rate;
    const double progress =
      std::min(1., (step - settings.warmup_steps) / std::max(1., double(settings.n_steps - settings.warmup_steps)));
    const double floor = settings.learning_rate / 20;
    return floor + (settings.learning_rate - floor) * 0.5 * (1 + std::cos(M_PI * progress));
  }


  template <int dim>
  torch::Tensor
  Trainer<dim>::batch_loss(const torch::Tensor &u, const torch::Tensor &sigma, const torch::Tensor &xi,
                           const double normalization) const
  {
    const auto          dtype = model.dtype();
    const torch::Tensor s     = sigma.to(dtype).unsqueeze(1);
    const torch::Tensor x     = xi.to(dtype);
    const torch::Tensor v     = u.to(dtype) + s * x;
    const torch::Tensor r     = s * model.forward(v, sigma.to(dtype)) + x;
    return model.mass_norm_squared(r).sum() / (normalization * model.space().volume());
  }


  /**
   * What one call of train() works with: output, timers, the network, its
   * optimizer and moving average, and the loss and time since the last
   * progress line.
   */
  template <int dim>
  struct Trainer<dim>::Run
  {
    const unsigned int          rank;
    ConditionalOStream &        out;
    TimerOutput &               timer;
    ScoreNetwork<dim> &         network;
    std::vector<torch::Tensor> &parameters;
    torch::optim::Adam &        optimizer;
    std::vector<torch::Tensor> &ema;

    std::chrono::steady_clock::time_point start = {}, last_log = {};
    double                                interval_loss = 0;
    unsigned int                          interval_n    = 0;
  };


  template <int dim>
  TrainingReport
  Trainer<dim>::train(const torch::Tensor &data, const bool verbose, const unsigned int max_steps_this_run)
  {
    namespace fs = std::filesystem;
    const unsigned int rank    = Utilities::MPI::this_mpi_process(comm);
    const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);
    ConditionalOStream out(std::cout, verbose && rank == 0);
    TimerOutput        timer(out, verbose ? TimerOutput::summary : TimerOutput::never, TimerOutput::wall_times);
    check_data(data, n_ranks);

    ScoreNetwork<dim> &        network    = model.network();
    std::vector<torch::Tensor> parameters = network.parameters();
    torch::optim::Adam         optimizer(parameters, torch::optim::AdamOptions(settings.learning_rate));
    std::vector<torch::Tensor> ema;
    for (const auto &p : parameters)
      ema.push_back(p.detach().clone());
    Run run{rank, out, timer, network, parameters, optimizer, ema};

    TrainingReport     report;
    const std::string &directory = settings.checkpoint_directory;
    if (settings.resume && !directory.empty())
      {
        // Every rank must then see the same directory.
        if (rank == 0)
          recover_interrupted_checkpoint(directory);
        MPI_Barrier(comm);
      }
    const bool resumed = settings.resume && !directory.empty() && fs::exists(directory + "/metadata.json");
    if (resumed)
      report.first_step = resume(run);
    if (network.uses_mode_variances() && !resumed)
      set_mode_variances(run, data);

    const unsigned int batch       = settings.batch_size;
    const unsigned int first_item  = rank * batch / n_ranks;
    const unsigned int local_items = (rank + 1) * batch / n_ranks - first_item;
    std::vector<VectorType> noise_vectors(local_items, model.space().create_vector());

    run.start    = std::chrono::steady_clock::now();
    run.last_log = run.start;
    const unsigned int end_step =
      std::min<std::uint64_t>(settings.n_steps, std::uint64_t(report.first_step) + max_steps_this_run);
    for (unsigned int step = report.first_step; step < end_step; ++step)
      {
        const double lr = learning_rate_at(step);
        for (auto &group : optimizer.param_groups())
          static_cast<torch::optim::AdamOptions &>(group.options()).lr(lr);

        torch::Tensor u, sigma, xi;
        draw_batch(run, data, step, first_item, noise_vectors, u, sigma, xi);
        const double step_loss = loss_and_gradients(run, u, sigma, xi);
        AssertThrow(std::isfinite(step_loss),
                    ExcMessage("Training diverged: the loss is " + std::to_string(step_loss) + " at step " +
                               std::to_string(step) + ". Lower the learning rate or check the data."));
        update_weights(run, step);
        report.losses.push_back(step_loss);
        run.interval_loss += step_loss;
        ++run.interval_n;

        const bool last       = step + 1 == end_step;
        const bool checkpoint = (step + 1) % settings.checkpoint_interval == 0 || last;
        if ((step + 1) % settings.log_interval == 0 || last)
          {
            log_progress(run, step, report.first_step, end_step, lr);
            if (!checkpoint)
              {
                run.interval_loss = 0;
                run.interval_n    = 0;
              }
          }
        if (checkpoint)
          {
            write_checkpoint(run, step + 1, run.interval_n > 0 ? run.interval_loss / run.interval_n : step_loss);
            run.interval_loss = 0;
            run.interval_n    = 0;
          }
      }
    report.last_step    = end_step;
    report.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run.start).count();
    report.samples_per_second =
      report.losses.size() * double(batch) / std::max(report.wall_seconds, 1e-9);
    if (verbose && !report.losses.empty())
      out << "Trained " << report.losses.size() << " steps in " << format_duration(report.wall_seconds) << " ("
          << report.samples_per_second << " samples/s)\n";
    return report;
  }


  template <int dim>
  void
  Trainer<dim>::check_data(const torch::Tensor &data, const unsigned int n_ranks) const
  {
    AssertThrow(data.dim() == 2 && data.size(1) == std::int64_t(model.space().n_dofs()) && data.size(0) > 0,
                ExcMessage("Trainer: the data must be [n_samples, " + std::to_string(model.space().n_dofs()) +
                           "] coefficient vectors of the model's space."));
    AssertThrow(torch::isfinite(data).all().item<bool>(), ExcMessage("Trainer: the data hold NaN or Inf."));
    AssertThrow(settings.batch_size >= n_ranks,
                ExcMessage("Trainer: the batch size (" + std::to_string(settings.batch_size) +
                           ") must be at least the number of MPI ranks (" + std::to_string(n_ranks) + ")."));
  }


  template <int dim>
  unsigned int
  Trainer<dim>::resume(Run &run) const
  {
    const std::string &      directory = settings.checkpoint_directory;
    const ModelRecord previous =
      ModelRecord::training_state_from_metadata(read_checkpoint_metadata(directory), directory);
    AssertThrow(previous.network == network_name &&
                  without_seed(previous.architecture) == without_seed(run.network.architecture()),
                ExcMessage("Cannot resume from <" + directory +
                           ">: it holds another network architecture. Remove it, or choose another "
                           "Checkpoint directory."));
    AssertThrow(previous.seed == settings.seed,
                ExcMessage("Cannot resume from <" + directory + ">: it was trained with seed " +
                           std::to_string(previous.seed) + ", this run uses " + std::to_string(settings.seed) + "."));
    const auto fingerprint = metadata.find("mesh.fingerprint");
    AssertThrow(fingerprint == metadata.end() || previous.mesh_fingerprint == fingerprint->second,
                ExcMessage("Cannot resume from <" + directory + ">: it was trained on another mesh."));
    // The noise-level law as the checkpoint records it (six decimals).
    const bool same_law =
      previous.sigma_sampling == settings.sigma_sampling &&
      (settings.sigma_sampling != "log-normal" ||
       (previous.log_normal_mean == std::stod(std::to_string(settings.log_normal_mean)) &&
        previous.log_normal_deviation == std::stod(std::to_string(settings.log_normal_deviation))));
    AssertThrow(same_law, ExcMessage("Cannot resume from <" + directory + ">: it was trained with 'Sigma sampling = " +
                                     previous.sigma_sampling + "' (or other log-normal parameters) than this run."));
    if (checkpoint_has_ema(directory))
      {
        load_checkpoint_weights(directory, "ema.pt", run.network);
        for (std::size_t i = 0; i < run.parameters.size(); ++i)
          run.ema[i] = run.parameters[i].detach().clone();
      }
    load_checkpoint_weights(directory, "weights.pt", run.network);
    if (!checkpoint_has_ema(directory))
      for (std::size_t i = 0; i < run.parameters.size(); ++i)
        run.ema[i] = run.parameters[i].detach().clone();
    load_optimizer_state(directory, run.optimizer);
    const unsigned int first_step = previous.step;
    run.out << "Resuming from <" << directory << "> at step " << first_step << '\n';
    return first_step;
  }


  template <int dim>
  void
  Trainer<dim>::set_mode_variances(Run &run, const torch::Tensor &data) const
  {
    // The Gaussian skip's per-mode variances: second moments of the
    // coefficients Phi^T M u of (at most 4096) training functions and of
    // 256 noise samples from their own stream. (A resumed run has them
    // in the checkpoint's buffers.)
    TimerOutput::Scope      scope(run.timer, "per-mode variances");
    const std::int64_t      n_data = std::min<std::int64_t>(data.size(0), 4096);
    if (run.network.spectrum_variances_in_consistent_modes())
      {
        set_consistent_spectrum_variances(run, data.slice(0, 0, n_data));
        return;
      }
    std::vector<VectorType> noise_samples(256, model.space().create_vector());
    noise.sample(noise_samples, stream_hash(settings.seed, mode_variance_stream, 0), 0);
    std::vector<const VectorType *> pointers;
    for (const auto &v : noise_samples)
      pointers.push_back(&v);
    const torch::Tensor noise_rows = torch_bridge::to_tensor(pointers, torch::kFloat64);
    run.network.set_mode_variances(model.eigenvalue_tensor(),
                                   model.mode_second_moments(data.slice(0, 0, n_data)),
                                   model.mode_second_moments(noise_rows));
    run.out << "Gaussian skip: per-mode variances of " << n_data << " data functions and "
            << noise_samples.size() << " noise samples\n";
    if (run.network.uses_spectrum_variances())
      {
        // The same second moments over the whole spectrum: in every
        // eigenpair of the lumped operator of the training mesh (dense).
        AssertThrow(!model.space().is_distributed(),
                    ExcMessage("'Skip spectrum = whole' trains on serial meshes (the variances over the whole "
                               "spectrum come from a dense eigendecomposition)."));
        std::vector<double> eigenvalues;
        const torch::Tensor p              = lumped_projector(model.space(), eigenvalues);
        const auto          second_moments = [&](const torch::Tensor &rows) {
          return torch::mm(rows.to(torch::kFloat64), p.t()).square().mean(0);
        };
        run.network.set_spectrum_variances(torch::tensor(eigenvalues, torch::kFloat64),
                                           second_moments(data.slice(0, 0, n_data)), second_moments(noise_rows));
        run.out << "Gaussian skip over the whole spectrum: variances in all " << eigenvalues.size()
                << " eigenpairs of the lumped operator\n";
      }
  }


  template <int dim>
  void
  Trainer<dim>::set_consistent_spectrum_variances(Run &run, const torch::Tensor &data) const
  {
    // Both tables from every eigenpair of (K, M) (dense): the data's second
    // moments, and the noise's exact variances. The network's K modes are
    // the lowest of these.
    AssertThrow(!model.space().is_distributed(),
                ExcMessage("'Skip spectrum = whole' trains on serial meshes (the variances over the whole "
                           "spectrum come from a dense eigendecomposition)."));
    std::vector<double> eigenvalues;
    torch::Tensor       noise_variance;
    const torch::Tensor p             = consistent_projector(model.space(), noise, eigenvalues, noise_variance);
    const torch::Tensor data_variance = torch::mm(data.to(torch::kFloat64), p.t()).square().mean(0);
    const torch::Tensor lambda        = torch::tensor(eigenvalues, torch::kFloat64);
    const std::int64_t  K             = model.eigenvalue_tensor().numel();
    run.network.set_mode_variances(model.eigenvalue_tensor(), data_variance.slice(0, 0, K),
                                   noise_variance.slice(0, 0, K));
    run.network.set_spectrum_variances(lambda, data_variance, noise_variance);
    run.out << "Gaussian skip: variances of " << data.size(0) << " data functions in all " << eigenvalues.size()
            << " eigenpairs of the consistent pencil (K, M); the noise's exact\n";
  }


  template <int dim>
  void
  Trainer<dim>::draw_batch(Run &                    run,
                           const torch::Tensor &    data,
                           const unsigned int       step,
                           const unsigned int       first_item,
                           std::vector<VectorType> &noise_vectors,
                           torch::Tensor &          u,
                           torch::Tensor &          sigma,
                           torch::Tensor &          xi) const
  {
    TimerOutput::Scope        scope(run.timer, "draw batch and noise");
    const unsigned int        local_items = noise_vectors.size();
    std::vector<std::int64_t> rows(local_items);
    std::vector<double>       sigmas(local_items);
    for (unsigned int i = 0; i < local_items; ++i)
      {
        rows[i]   = data_index_of(step, first_item + i, data.size(0));
        sigmas[i] = sigma_of(step, first_item + i);
      }
    u     = data.index_select(0, torch::tensor(rows, torch::kInt64));
    sigma = torch::tensor(sigmas, torch::kFloat64);
    noise.sample(noise_vectors, stream_hash(settings.seed, noise_stream, step), first_item);
    std::vector<const VectorType *> pointers;
    for (const auto &v : noise_vectors)
      pointers.push_back(&v);
    xi = torch_bridge::to_tensor(pointers, torch::kFloat64);
  }


  template <int dim>
  double
  Trainer<dim>::loss_and_gradients(Run &                run,
                                   const torch::Tensor &u,
                                   const torch::Tensor &sigma,
                                   const torch::Tensor &xi) const
  {
    TimerOutput::Scope scope(run.timer, "forward and backward");
    run.optimizer.zero_grad();
    torch::Tensor loss = batch_loss(u, sigma, xi, settings.batch_size);
    loss.backward();
    return Utilities::MPI::sum(loss.item<double>(), comm);
  }


  template <int dim>
  void
  Trainer<dim>::update_weights(Run &run, const unsigned int step) const
  {
    TimerOutput::Scope scope(run.timer, "optimizer");
    all_reduce_gradients(run.parameters, comm);
    if (settings.gradient_clip > 0)
      torch::nn::utils::clip_grad_norm_(run.parameters, settings.gradient_clip);
    run.optimizer.step();
    if (settings.ema_decay > 0)
      {
        torch::NoGradGuard no_grad;
        const double decay = std::min(settings.ema_decay, (1. + step) / (10. + step));
        for (std::size_t i = 0; i < run.parameters.size(); ++i)
          run.ema[i].mul_(decay).add_(run.parameters[i].detach(), 1 - decay);
      }
  }


  template <int dim>
  void
  Trainer<dim>::log_progress(Run &              run,
                             const unsigned int step,
                             const unsigned int first_step,
                             const unsigned int end_step,
                             const double       lr) const
  {
    const auto   now      = std::chrono::steady_clock::now();
    const double elapsed  = std::chrono::duration<double>(now - run.start).count();
    const double interval = std::chrono::duration<double>(now - run.last_log).count();
    const double per_step = elapsed / (step + 1 - first_step);
    run.out << "step " << std::setw(6) << step + 1 << '/' << settings.n_steps << "  loss " << std::setw(10)
            << std::setprecision(5) << run.interval_loss / run.interval_n << "  lr " << std::setprecision(3)
            << lr << "  " << std::setprecision(4)
            << run.interval_n * settings.batch_size / std::max(interval, 1e-9) << " samples/s  elapsed "
            << format_duration(elapsed) << "  left " << format_duration(per_step * (end_step - step - 1))
            << std::endl;
    run.last_log = now;
  }


  template <int dim>
  void
  Trainer<dim>::write_checkpoint(Run &run, const unsigned int completed_steps, const double recent_loss) const
  {
    const std::string &directory = settings.checkpoint_directory;
    if (directory.empty())
      return;
    TimerOutput::Scope scope(run.timer, "checkpoint");
    ModelRecord state;
    state.architecture         = run.network.architecture();
    state.step                 = completed_steps;
    state.n_steps              = settings.n_steps;
    state.seed                 = settings.seed;
    state.loss                 = recent_loss;
    state.batch_size           = settings.batch_size;
    state.range.sigma_min      = settings.sigma_min;
    state.range.sigma_max      = settings.sigma_max;
    state.sigma_sampling       = settings.sigma_sampling;
    state.log_normal_mean      = settings.log_normal_mean;
    state.log_normal_deviation = settings.log_normal_deviation;
    CheckpointMetadata m = metadata;
    for (const auto &entry : state.training_state_metadata())
      m[entry.first] = entry.second;
    if (run.rank == 0)
      save_checkpoint(directory, run.network, network_name, dim, m, &run.optimizer,
                      settings.ema_decay > 0 ? &run.ema : nullptr);
    MPI_Barrier(comm);
  }


  template class Trainer<2>;
  template class Trainer<3>;
} // namespace ddo
