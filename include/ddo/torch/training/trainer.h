#ifndef ddo_trainer_h
#define ddo_trainer_h

/**
 * @file
 * Denoising score matching in function space (DESIGN.md §1).
 *
 * @ingroup training
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/torch/model/checkpoint.h>
#include <ddo/torch/model/trained_model.h>
#include <ddo/covariance/interface.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/torch/network/score_model.h>

#include <torch/torch.h>

#include <limits>
#include <string>
#include <vector>

namespace ddo
{
  /** The parameters of training (subsection `Training` of a parameter file). */
  struct TrainingSettings
  {
    unsigned int n_steps        = 2000;
    unsigned int batch_size     = 16;
    double       learning_rate  = 1e-3;
    /** `constant` or `cosine` (to 1/20 of the rate at the end). */
    std::string  schedule       = "cosine";
    unsigned int warmup_steps   = 100;
    /** Clip of the global gradient norm; 0: none. */
    double       gradient_clip  = 1.;
    /** Decay of the exponential moving average of the weights; 0: none. */
    double       ema_decay      = 0.999;
    double       sigma_min      = 0.01;
    double       sigma_max      = 10.;
    /** `log-uniform` (continuous), `log-normal` or `geometric levels`. */
    std::string  sigma_sampling = "log-uniform";
    unsigned int n_levels       = 10;
    /** Mean and standard deviation of ln sigma for `log-normal` (truncated to [sigma_min, sigma_max]). */
    double       log_normal_mean      = -1.2;
    double       log_normal_deviation = 1.2;
    unsigned int seed           = 1;
    unsigned int log_interval        = 100;
    unsigned int checkpoint_interval = 500;
    /** Where checkpoints go; empty: none. */
    std::string  checkpoint_directory = "";
    /** Continue from the checkpoint in checkpoint_directory if there is one. */
    bool         resume = true;

    /** Declares the entries in the current subsection. */
    static void
    declare_parameters(ParameterHandler &prm);
    /** Reads them, checking consistency. */
    void
    parse_parameters(ParameterHandler &prm);
    /** Throws for inconsistent values. */
    void
    check() const;
  };

  /** What a training run did. */
  struct TrainingReport
  {
    unsigned int        first_step = 0; ///< 0, or the step a resumed run started from
    unsigned int        last_step  = 0;
    std::vector<double> losses;         ///< the loss of every step this run made
    double              wall_seconds      = 0;
    double              samples_per_second = 0;
  };

  /**
   * Trains a ScoreModel by denoising score matching:
   * \f[
   *   L(\theta) = \mathbb{E}_{u,\sigma,\xi}\,
   *     \frac{1}{|\Omega|}\|\sigma F_\theta(u+\sigma\xi,\sigma) + \xi\|_M^2,
   *   \qquad \xi\sim N(0,C),
   * \f]
   * with C the noise covariance operator and the norm the mesh L² norm.
   *
   * Every random choice of step t and batch item i (data index, σ, ξ) is a
   * function of (seed, t, i) only: a resumed run repeats exactly what an
   * uninterrupted one does, and with several MPI ranks (replicated mesh,
   * each rank taking a slice of every batch, gradients summed across ranks)
   * the run equals the serial one up to rounding.
   *
   * Adam with linear warm-up and a cosine or constant learning rate,
   * gradient clipping, an exponential moving average of the weights (saved
   * in the checkpoint as the weights to sample with), atomic checkpoints
   * with the optimizer state every checkpoint_interval steps and at the end.
   */
  template <int dim>
  class Trainer
  {
  public:
    /**
     * @p model and @p noise must live on the same space; @p metadata is
     * stored in every checkpoint in addition to the training state (the
     * driver puts the network name, the mesh and noise descriptions and the
     * data normalization there).
     */
    Trainer(ScoreModel<dim> &                 model,
            const CovarianceOperator<dim> &   noise,
            const std::string &               network_name,
            const TrainingSettings &          settings,
            const CheckpointMetadata &        metadata = {},
            const MPI_Comm                    comm     = MPI_COMM_WORLD);

    /**
     * Trains on the normalized data @p data (`[n_samples, N]` float64).
     * Resumes from the checkpoint directory if settings.resume and a
     * checkpoint of this run is there. Prints progress on rank 0 of comm if
     * @p verbose. Stops after at most @p max_steps_this_run steps (with a
     * checkpoint), e.g. to fit a job's time limit; a later call resumes.
     */
    TrainingReport
    train(const torch::Tensor &data,
          const bool           verbose            = true,
          const unsigned int   max_steps_this_run = std::numeric_limits<unsigned int>::max());

    /**
     * The loss of one batch: normalized data rows @p u `[B, N]`, noise
     * levels @p sigma `[B]`, noise @p xi `[B, N]` (float64). Differentiable
     * in the network's parameters; divided by @p normalization (the global
     * batch size) instead of B so that slices of a batch add up.
     */
    torch::Tensor
    batch_loss(const torch::Tensor &u, const torch::Tensor &sigma, const torch::Tensor &xi,
               const double normalization) const;

    /** The noise levels of batch item @p item at step @p step. */
    double
    sigma_of(const unsigned int step, const unsigned int item) const;

    /** The data row of batch item @p item at step @p step. */
    std::int64_t
    data_index_of(const unsigned int step, const unsigned int item, const std::int64_t n_samples) const;

    /** The learning rate at @p step. */
    double
    learning_rate_at(const unsigned int step) const;

  private:
    /** The state of one call of train() (defined in the .cc). */
    struct Run;

    /** Throws unless @p data are finite coefficient vectors of the space and the batch covers the ranks. */
    void
    check_data(const torch::Tensor &data, const unsigned int n_ranks) const;
    /** Loads weights, moving average and optimizer from the checkpoint directory; returns its step. */
    unsigned int
    resume(Run &run) const;
    /** Sets the network's per-mode variances of the data and of the noise. */
    void
    set_mode_variances(Run &run, const torch::Tensor &data) const;
    /** The tables of a skip that wants them in the consistent modes (all of them, dense). */
    void
    set_consistent_spectrum_variances(Run &run, const torch::Tensor &data) const;
    /** This rank's share of the batch of @p step: data rows @p u, noise levels @p sigma, noise @p xi. */
    void
    draw_batch(Run &                    run,
               const torch::Tensor &    data,
               const unsigned int       step,
               const unsigned int       first_item,
               std::vector<VectorType> &noise_vectors,
               torch::Tensor &          u,
               torch::Tensor &          sigma,
               torch::Tensor &          xi) const;
    /** Computes the gradients of the loss; returns the loss summed over the ranks. */
    double
    loss_and_gradients(Run &                run,
                       const torch::Tensor &u,
                       const torch::Tensor &sigma,
                       const torch::Tensor &xi) const;
    /** The optimizer step (gradients summed over the ranks, clipped) and the moving average. */
    void
    update_weights(Run &run, const unsigned int step) const;
    /** Prints the progress line after @p step. */
    void
    log_progress(Run &              run,
                 const unsigned int step,
                 const unsigned int first_step,
                 const unsigned int end_step,
                 const double       lr) const;
    /** Saves a checkpoint after @p completed_steps (if there is a checkpoint directory). */
    void
    write_checkpoint(Run &run, const unsigned int completed_steps, const double recent_loss) const;

    ScoreModel<dim> &              model;
    const CovarianceOperator<dim> &noise;
    std::string                    network_name;
    TrainingSettings               settings;
    CheckpointMetadata             metadata;
    MPI_Comm                       comm;
  };
} // namespace ddo

#endif
