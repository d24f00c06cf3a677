#ifndef ddo_trained_model_h
#define ddo_trained_model_h

/**
 * @file
 * A trained DDO as one library type: what `ddo train` writes into a checkpoint
 * directory and what sampling, resumed training and applications read back.
 *
 * @ingroup model
 */

#include <ddo/covariance/interface.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/model/checkpoint.h>
#include <ddo/torch/model/score_function.h>
#include <ddo/torch/network/interface.h>
#include <ddo/torch/network/score_model.h>
#include <ddo/torch/sampler/interface.h>

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  /**
   * Everything a checkpoint records besides the weights: the single schema of
   * `metadata.json`. The keys and their text forms are defined here and nowhere
   * else; unknown keys are ignored when reading, so older checkpoints load.
   */
  struct ModelRecord
  {
    /** The network plugin and its architecture (ScoreNetworkBase::architecture()). */
    std::string network, architecture;
    /** The training mesh: ddo::SpaceDescription text, fingerprint, size. */
    std::string  mesh_description, mesh_fingerprint;
    unsigned int mesh_n_dofs = 0;
    /** Eigenpairs of the mesh the network used in training. */
    unsigned int n_modes = 0;
    /** The noise: covariance plugin name and its whole `Noise` subsection. */
    std::string noise_model, noise_parameters;
    /** The training noise levels. */
    NoiseRange range;
    /** The training data: file, size, normalization (the network sees (u - mean) / scale). */
    std::string       data_file;
    unsigned int      data_n_samples = 0;
    DataNormalization normalization;
    /** The training state. */
    unsigned int step = 0, n_steps = 0, seed = 0, batch_size = 0;
    double       loss = 0;
    std::string  sigma_sampling;
    double       log_normal_mean = 0, log_normal_deviation = 0;

    /**
     * Reads a checkpoint's metadata; @p source names the checkpoint in errors.
     * Throws if a key that sampling needs is missing ("not written by ddo train").
     */
    static ModelRecord
    from_metadata(const CheckpointMetadata &metadata, const std::string &source);

    /**
     * Only what resumed training compares (network, architecture, training
     * state and noise-level law; the mesh fingerprint if recorded), from a
     * checkpoint of any training run, also one not written by `ddo train`.
     */
    static ModelRecord
    training_state_from_metadata(const CheckpointMetadata &metadata, const std::string &source);

    /** The metadata that describes what was trained (mesh, noise, data). */
    CheckpointMetadata
    training_problem_metadata() const;

    /** The metadata of the training state (step, loss, σ range and law, seed). */
    CheckpointMetadata
    training_state_metadata() const;
  };


  /**
   * Declares subsection `Noise` (a covariance model chosen by `Model`): the
   * section a checkpoint records as ModelRecord::noise_parameters and from
   * which TrainedModel::bind() rebuilds the noise on another mesh.
   */
  template <int dim>
  void
  declare_noise_section(ParameterHandler &prm);


  /**
   * A trained model (one checkpoint, or an ensemble of checkpoints trained on
   * the same data, mesh and noise, whose score is the mean of the members'),
   * with the averaged weights sampling uses. Bind it to any mesh of the
   * training domain with bind(); then draw samples in the units of the data.
   *
   * @code
   * TrainedModel<2> model({"model"});
   * model.bind(space);                      // noise and eigenbasis on this mesh
   * auto sampler = SamplerRegistry<2>::instance().create("probability_flow");
   * torch::Tensor u = model.sample(*sampler, 16, seed);  // [16, n_dofs], data units
   * @endcode
   */
  template <int dim>
  class TrainedModel
  {
  public:
    /**
     * Loads the checkpoints @p checkpoints (one, or an ensemble). Throws a
     * clear error for a missing or corrupt checkpoint, one of another
     * dimension, or ensemble members that differ in data, mesh or noise.
     */
    explicit TrainedModel(const std::vector<std::string> &checkpoints);

    /** The record of the first member (all members agree in what sampling needs). */
    const ModelRecord &
    record() const;

    /** Number of ensemble members. */
    unsigned int
    n_members() const;

    /** The checkpoint paths, comma-separated. */
    std::string
    name() const;

    /**
     * Binds the model to @p space (any mesh of the training domain, which
     * must outlive the binding): builds the training noise on it and the
     * eigenbasis of every member (@p n_modes eigenpairs, 0: as in training;
     * @p cache: eigenbasis cache directory).
     */
    void
    bind(const FunctionSpace<dim> &space, const unsigned int n_modes = 0, const std::string &cache = "");

    /** Whether bind() was called. */
    bool
    is_bound() const;

    /** Whether the bound space is the training mesh (same fingerprint). */
    bool
    bound_to_training_mesh() const;

    /** The score in the normalized units of training (after bind()). */
    ScoreFunction
    score() const;

    /** The noise covariance on the bound space (after bind()). */
    const CovarianceOperator<dim> &
    noise() const;

    /**
     * Samples @p n_samples fields with @p sampler over @p range (default: the
     * training range), indices from @p first_sample_index on; returns
     * `[n_samples, n_dofs]` float64 in the units of the data.
     */
    torch::Tensor
    sample(const Sampler<dim> &  sampler,
           const unsigned int    n_samples,
           const std::uint64_t   seed,
           const unsigned int    first_sample_index = 0,
           SamplerReport *       report             = nullptr,
           const NoiseRange *    range              = nullptr) const;

  private:
    std::vector<std::string>                        checkpoints;
    std::vector<ModelRecord>                        records;
    std::vector<std::shared_ptr<ScoreNetwork<dim>>> networks;
    const FunctionSpace<dim> *                      space = nullptr;
    std::unique_ptr<CovarianceOperator<dim>>        noise_operator;
    std::vector<std::unique_ptr<ScoreModel<dim>>>   bound_members;
  };
} // namespace ddo

#endif
