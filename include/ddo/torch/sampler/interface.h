#ifndef ddo_sampler_h
#define ddo_sampler_h

/**
 * @file
 * The plugin kind "sampler": turns a preconditioned score into samples of FE
 * functions (DESIGN.md §1, Sampling). Shipped: "langevin" (annealed
 * preconditioned Langevin, LangevinSampler) and "probability_flow" (the
 * probability-flow ODE, ProbabilityFlowSampler).
 *
 * @ingroup sampler
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/base/hashing.h>
#include <ddo/base/plugin_registry.h>
#include <ddo/torch/model/score_function.h>

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * The noise levels a score model was trained on: samplers start at
   * sigma_max and end at sigma_min. The caller takes them from the trained
   * model (or, for an exact score, chooses them).
   */
  struct NoiseRange
  {
    double sigma_max = 1.;
    double sigma_min = 0.01;

    /** Throws unless 0 < sigma_min < sigma_max < infinity. */
    void
    check() const;
  };


  /**
   * What a call of Sampler::sample() did. Counts are totals over all samples
   * and batches; see ScoreEvaluationCounter for the two ways of counting
   * evaluations.
   */
  struct SamplerReport
  {
    /** Number of samples drawn. */
    unsigned int n_samples = 0;
    /** Calls of the score function (a call on a batch counts once). */
    std::uint64_t n_network_evaluations = 0;
    /** Sum of the batch sizes of all calls of the score function. */
    std::uint64_t n_sample_evaluations = 0;
    /**
     * Steps taken, summed over the samples: Langevin steps (all accepted),
     * or accepted ODE steps (every sample has its own step sequence).
     */
    std::uint64_t n_steps_accepted = 0;
    /** ODE steps rejected by the error control, summed over the samples. */
    std::uint64_t n_steps_rejected = 0;
    /** Wall-clock time of sample(), in seconds. */
    double wall_time = 0;

    /** Evaluations per sample (NFE): n_sample_evaluations / n_samples. */
    double
    evaluations_per_sample() const;

    /** One line: samples, NFE, calls, steps, time. */
    std::string
    summary() const;
  };


  /**
   * Interface of the samplers.
   *
   * <h3>Random numbers</h3>
   * Everything random is drawn from the noise model with
   * CovarianceOperator::sample(batch, stream, first_sample_index): sample i
   * of the batch uses (stream, first_sample_index + i). The streams are
   * initial_noise_seed(seed) for the initial state \f$\sigma_{max}\xi\f$ and
   * step_noise_seed(seed, k) for the noise of (Langevin) step k. Hence sample
   * j of a call is a deterministic function of (seed, first_sample_index +
   * j, mesh), independent of the batch size and of how many samples are
   * drawn, up to round-off: the matrix products inside a score may round
   * differently for different batch sizes (about 1e-13 relative for
   * GaussianScore; the tests check 1e-12).
   * Calls with the same seed and disjoint index ranges give independent
   * samples.
   *
   * Samples are computed in batches of at most `Batch size` rows to bound
   * memory; the result is one tensor `[n_samples, n_local]` (float64, CPU)
   * of coefficient vectors of @p space (write them to FE vectors with
   * torch_bridge::from_tensor()).
   *
   * Failures (a non-finite score or state, divergence, too many ODE steps)
   * throw an ExcMessage that names the step and the noise level.
   *
   * sample() is a template method: it checks the range and the settings,
   * splits the samples into batches, asks the plugin for the final states of
   * each batch (sample_batch()) and fills the report. A sampler plugin
   * implements samples_per_batch() and sample_batch(), and check_settings()
   * if some settings can only be checked against the noise range.
   */
  namespace sampler_tools
  {
    template <int dim>
    class MassNorm;
  } // namespace sampler_tools


  template <int dim>
  class Sampler
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "sampler (" + std::to_string(dim) + "d)";
    }

    virtual ~Sampler() = default;

    /** Declares the parameters of this sampler (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Draws @p n_samples samples.
     *
     * @param score the preconditioned score \f$F(v,\sigma)\f$ on @p space.
     * @param space the function space of the samples. The sampler needs it
     *   for mesh-independent norms (divergence detection, ODE error control
     *   use the discrete L2 norm with the lumped mass) and for the MPI
     *   communicator.
     * @param noise the noise model C of the score (initialized on
     *   @p space): \f$\xi \sim N(0, C)\f$.
     * @param range the noise levels of the score model.
     * @param n_samples number of samples (0 gives an empty tensor).
     * @param seed the random stream, see the class documentation.
     * @param first_sample_index index of the first sample in that stream.
     * @param report if not null, filled with counts and timing.
     *
     * Collective on distributed spaces.
     */
    torch::Tensor
    sample(const ScoreFunction &           score,
           const FunctionSpace<dim> &      space,
           const CovarianceOperator<dim> &noise,
           const NoiseRange &              range,
           const unsigned int              n_samples,
           const std::uint64_t             seed,
           const unsigned int              first_sample_index,
           SamplerReport *                 report = nullptr) const;

    /** The noise stream of the initial states, see the class documentation. */
    static std::uint64_t
    initial_noise_seed(const std::uint64_t seed)
    {
      return hashing::combine(hashing::mix(seed), 0x1a17a1ULL);
    }

    /** The noise stream of step @p step, see the class documentation. */
    static std::uint64_t
    step_noise_seed(const std::uint64_t seed, const std::uint64_t step)
    {
      return hashing::combine(hashing::combine(hashing::mix(seed), 0x57e9ULL), step);
    }

  protected:
    /** What the batches of one call of sample() share. */
    struct Run
    {
      const ScoreFunction &               score;
      const FunctionSpace<dim> &          space;
      const CovarianceOperator<dim> &     noise;
      const NoiseRange &                  range;
      const std::uint64_t                 seed;
      const MPI_Comm                      comm;
      const sampler_tools::MassNorm<dim> &norm;
      /** Evaluations of the score, over all batches. */
      ScoreEvaluationCounter counter;
      /** Steps over all samples, for the report. */
      std::uint64_t n_steps_accepted = 0, n_steps_rejected = 0;
    };

    /** Throws if a setting does not fit @p range (called once per sample(); default: nothing). */
    virtual void
    check_settings(const NoiseRange &range) const;

    /** The largest number of samples of one batch. */
    virtual unsigned int
    samples_per_batch() const = 0;

    /**
     * The final states `[size, n_local]` of samples @p first, ...,
     * @p first + @p size - 1 of the stream @p run.seed; adds the steps it
     * took to @p run.
     */
    virtual torch::Tensor
    sample_batch(Run &run, const unsigned int first, const unsigned int size) const = 0;
  };

  /** The registry of samplers in dimension @p dim. */
  template <int dim>
  using SamplerRegistry = PluginRegistry<Sampler<dim>>;


  /** Building blocks shared by the samplers (and usable by others). */
  namespace sampler_tools
  {
    /**
     * Draws noise batches as tensors `[batch_size, n_local]` (float64),
     * reusing its FE vectors from one draw to the next (samplers draw at
     * every step). Two kinds:
     * - with a noise model: \f$\xi \sim N(0, C)\f$, sample i of a draw from
     *   the stream (@p stream, @p first_sample_index + i) of
     *   CovarianceOperator::sample();
     * - without (nullptr): independent standard normal nodal values, then
     *   made to satisfy the space's constraints: the white noise of
     *   unpreconditioned ablations, whose L2 norm does not converge under
     *   refinement. Sample i depends on (@p stream, @p first_sample_index +
     *   i) and on the DoF numbering (every rank draws all N values and keeps
     *   its own, so not on the partition).
     */
    template <int dim>
    class NoiseDraws
    {
    public:
      NoiseDraws(const CovarianceOperator<dim> *noise, const FunctionSpace<dim> &space);

      torch::Tensor
      draw(const unsigned int  batch_size,
           const std::uint64_t stream,
           const unsigned int  first_sample_index);

    private:
      const CovarianceOperator<dim> *noise;
      const FunctionSpace<dim> &     space;
      std::vector<VectorType>        workspace;
    };

    /** One draw of NoiseDraws with the noise model @p noise. */
    template <int dim>
    torch::Tensor
    draw_noise(const CovarianceOperator<dim> &noise,
               const FunctionSpace<dim> &      space,
               const unsigned int              batch_size,
               const std::uint64_t             stream,
               const unsigned int              first_sample_index);

    /** One draw of NoiseDraws of nodal white noise. */
    template <int dim>
    torch::Tensor
    draw_nodal_white_noise(const FunctionSpace<dim> &space,
                           const unsigned int        batch_size,
                           const std::uint64_t       stream,
                           const unsigned int        first_sample_index);

    /**
     * Per-row discrete L2 norms normalized by the volume,
     * \f$\|v\| = (\sum_i w_i v_i^2 / |\Omega|)^{1/2}\f$ with the quadrature
     * weights (lumped mass) w of the space: the root mean square of the FE
     * function, a norm that converges under refinement (a plain l2 norm of
     * the coefficients grows like the number of DoFs). Collective.
     */
    template <int dim>
    class MassNorm
    {
    public:
      explicit MassNorm(const FunctionSpace<dim> &space);

      /** Norms of the rows of @p v `[B, n_local]`, as `[B]` float64. */
      torch::Tensor
      operator()(const torch::Tensor &v) const;

    private:
      torch::Tensor weights; // w / |Omega|, [n_local]
      MPI_Comm      communicator;
    };

    /**
     * Indices of the rows of @p t (`[B, ...]`) that contain NaN or Inf, on
     * any rank (collective), sorted.
     */
    std::vector<unsigned int>
    non_finite_rows(const torch::Tensor &t, const MPI_Comm communicator);

    /**
     * The @p n_levels geometric noise levels from range.sigma_max down to
     * range.sigma_min (both included; n_levels >= 2).
     */
    std::vector<double>
    geometric_levels(const NoiseRange &range, const unsigned int n_levels);
  } // namespace sampler_tools
} // namespace ddo

/**
 * Registers the class template @p Class as a sampler for dim = 2 and 3 and
 * instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_SAMPLER(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::Sampler, Class, name, description)

#endif
