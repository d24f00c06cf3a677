#ifndef ddo_score_function_h
#define ddo_score_function_h

/**
 * @file
 * What samplers call: a preconditioned score \f$F(v,\sigma) \approx
 * C\nabla\log p_\sigma(v)\f$ as a plain function of tensors, and a counter of
 * its evaluations (DESIGN.md §1, Sampling).
 *
 * @ingroup model
 */

#include <ddo/torch/network/interface.h>

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ddo
{
  /**
   * The preconditioned score of noisy FE functions, as samplers see it.
   *
   * - @p v: `[B, n_local]`, dtype float64, on the CPU: coefficient vectors of
   *   FE functions of one FunctionSpace (the locally owned entries; all
   *   entries of a serial space), one row per sample;
   * - @p sigma: `[B]`, float64: the noise level of each row (rows may have
   *   different levels: the adaptive ODE sampler steps each sample on its
   *   own);
   * - returns `[B, n_local]` (any floating dtype and device; samplers convert
   *   to float64 on the CPU): \f$F(v_b, \sigma_b)\f$.
   *
   * Row b of the result must depend on row b of the input only (no batch
   * statistics): this is what makes samples independent of the batch size.
   * Collective on distributed spaces: every rank calls it with the same B.
   *
   * Sources: a trained network (make_score_function()), or an exact score,
   * e.g. GaussianScore::score_function().
   */
  using ScoreFunction =
    std::function<torch::Tensor(const torch::Tensor &v, const torch::Tensor &sigma)>;


  /**
   * Calls a ScoreFunction, checks what it returns, and counts.
   *
   * Two counts, because batches make "one evaluation" ambiguous:
   * - n_calls(): calls of the function; a call on a batch of B samples
   *   counts once (the cost of a batched network pass, what a GPU sees);
   * - n_sample_evaluations(): the sum of the batch sizes of all calls.
   *   n_sample_evaluations() / (number of samples) is the number of function
   *   evaluations per sample (NFE) of the literature, the figure that is
   *   independent of the batch size and compares samplers.
   */
  class ScoreEvaluationCounter
  {
  public:
    /**
     * Evaluates @p score at (@p v, @p sigma) and returns the result as a
     * contiguous float64 CPU tensor. Throws if the result is undefined or
     * its shape differs from that of @p v (a network bound to another mesh,
     * say). Does not check finiteness: samplers do, to name the step.
     */
    torch::Tensor
    evaluate(const ScoreFunction &score, const torch::Tensor &v, const torch::Tensor &sigma);

    /** Number of calls (a batched call counts once). */
    std::uint64_t
    n_calls() const
    {
      return calls;
    }

    /** Sum of the batch sizes of all calls. */
    std::uint64_t
    n_sample_evaluations() const
    {
      return rows;
    }

  private:
    std::uint64_t calls = 0;
    std::uint64_t rows  = 0;
  };


  /**
   * A ScoreFunction that evaluates @p network (already built and bound to
   * the sampling mesh): inputs are converted to the network's dtype and to
   * the device of its parameters, evaluated without autograd, and returned
   * as float64 on the CPU. The network is kept alive by the function.
   */
  ScoreFunction
  make_score_function(std::shared_ptr<ScoreNetworkBase> network);


  /**
   * An ensemble: the mean of the scores of @p members (float64 on the CPU).
   * Models trained on the same data and noise with different seeds make
   * errors that are partly independent; their mean score is a lower-variance
   * estimate of the score, at one evaluation of every member per step.
   * Throws if @p members is empty or one of them is empty.
   */
  ScoreFunction
  average_score_functions(std::vector<ScoreFunction> members);
} // namespace ddo

#endif
