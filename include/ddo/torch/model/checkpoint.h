#ifndef ddo_checkpoint_h
#define ddo_checkpoint_h

/**
 * @file
 * Checkpoints of score networks: a directory with the weights
 * (`weights.pt`, LibTorch serialization), optionally the optimizer state
 * (`optimizer.pt`), optionally an exponential moving average of the
 * weights (`ema.pt`, the weights to sample with), and readable metadata
 * (`metadata.json`, one JSON object of string values, read and written with
 * Boost.PropertyTree: format, dimension, network, its architecture, and what
 * ddo::ModelRecord adds: mesh, noise model, sigma range, data normalization,
 * training state).
 *
 * @ingroup model
 */

#include <ddo/torch/network/interface.h>

#include <map>
#include <memory>
#include <string>

namespace ddo
{
  /** `key = value` metadata of a checkpoint. */
  using CheckpointMetadata = std::map<std::string, std::string>;

  /**
   * Writes a checkpoint of @p network (registered under @p network_name) to
   * directory @p path, atomically: everything goes to `path.tmp` first, then
   * replaces @p path, so an interrupted write never destroys the previous
   * checkpoint. Call on one rank (the weights are replicated).
   * @p ema_parameters, if given, are averaged values of
   * `network.parameters()` (same order) written as `ema.pt`.
   */
  void
  save_checkpoint(const std::string &                path,
                  ScoreNetworkBase &                 network,
                  const std::string &                network_name,
                  const unsigned int                 dimension,
                  const CheckpointMetadata &         extra_metadata = {},
                  torch::optim::Optimizer *          optimizer      = nullptr,
                  const std::vector<torch::Tensor> * ema_parameters = nullptr);

  /**
   * Completes a checkpoint replacement that a crash interrupted. A process
   * killed between the two renames of save_checkpoint() leaves no @p path,
   * the previous checkpoint in `path.old` and the complete new one in
   * `path.tmp`; this moves the new one into place and removes the old one.
   * Returns whether there was anything to complete. save_checkpoint(),
   * read_checkpoint_metadata() and the trainer call it, so a user never
   * needs to; several ranks may call it at once.
   */
  bool
  recover_interrupted_checkpoint(const std::string &path);

  /** Whether the checkpoint at @p path holds averaged weights (`ema.pt`). */
  bool
  checkpoint_has_ema(const std::string &path);

  /**
   * Loads the weights file @p file_name (`weights.pt` or `ema.pt`) of the
   * checkpoint at @p path into @p network, checking every shape.
   */
  void
  load_checkpoint_weights(const std::string &path, const std::string &file_name, ScoreNetworkBase &network);

  /** Restores @p optimizer (built on the network's parameters) from `optimizer.pt`. */
  void
  load_optimizer_state(const std::string &path, torch::optim::Optimizer &optimizer);

  /** Writes @p metadata as the `metadata.json` of the checkpoint directory @p path. */
  void
  write_checkpoint_metadata(const std::string &path, const CheckpointMetadata &metadata);

  /** Reads `metadata.json` of a checkpoint; throws with the file name if missing or malformed. */
  CheckpointMetadata
  read_checkpoint_metadata(const std::string &path);

  /**
   * Re-creates the network of a checkpoint (registry lookup, architecture,
   * weights) and, if @p optimizer is given, restores its state. Throws a
   * clear error for a missing or corrupt checkpoint, for one of another
   * dimension than @p dim, or for weights that do not fit the architecture.
   * @p metadata receives the metadata if not null. With @p use_ema the
   * averaged weights are loaded when the checkpoint has them (the weights
   * to sample with); otherwise the raw training weights.
   */
  template <int dim>
  std::unique_ptr<ScoreNetwork<dim>>
  load_checkpoint(const std::string &      path,
                  CheckpointMetadata *     metadata  = nullptr,
                  torch::optim::Optimizer *optimizer = nullptr,
                  const bool               use_ema   = true);
} // namespace ddo

#endif
