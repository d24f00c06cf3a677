#ifndef ddo_probability_flow_sampler_h
#define ddo_probability_flow_sampler_h

/**
 * @file
 * The sampler "probability_flow": the probability-flow ODE, integrated by
 * explicit Runge–Kutta methods with or without error control.
 *
 * @ingroup sampler
 */

#include <ddo/torch/sampler/interface.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddo
{
  /**
   * The probability-flow ODE (DESIGN.md §1) \f$dv/d\sigma = -\sigma
   * F(v,\sigma)\f$ from \f$v(\sigma_{max}) = \sigma_{max}\xi\f$,
   * \f$\xi\sim N(0,C)\f$, down to \f$\sigma_{min}\f$, optionally followed by
   * the Tweedie step \f$v \leftarrow v + \sigma_{min}^2 F(v,\sigma_{min})\f$
   * (`Final denoising`). Deterministic given the initial noise.
   *
   * <h3>Time variable</h3>
   * The ODE is integrated in \f$s = -\log\sigma\f$ (from \f$-\log
   * \sigma_{max}\f$ to \f$-\log\sigma_{min}\f$): \f$dv/ds = \sigma^2
   * F(v,\sigma)\f$. Uniform steps in s are geometric in \f$\sigma\f$, and the
   * right-hand side is O(1): for a Gaussian target every mode decays at a
   * rate in (0, 1) in s.
   *
   * <h3>Methods</h3>
   * `Method` names the Butcher tableaux of deal.II's TimeStepping:
   * - with an embedded error estimator (`Step control = adaptive` or
   *   `fixed`): HEUN_EULER (2(1)), BOGACKI_SHAMPINE (3(2), first stage
   *   same as last), DOPRI (5(4), Dormand–Prince, first same as last;
   *   the default), FEHLBERG (5(4)), CASH_KARP (5(4)); deal.II propagates
   *   the higher-order solution (local extrapolation), so do we;
   * - without (`Step control = fixed` only): FORWARD_EULER, HEUN (the
   *   second-order solution of HEUN_EULER, i.e. explicit trapezoidal),
   *   RK_THIRD_ORDER, SSP_THIRD_ORDER, RK_CLASSIC_FOURTH_ORDER. The
   *   coefficients of these four are read from
   *   dealii::TimeStepping::ExplicitRungeKutta itself.
   * With `fixed`, `Number of steps` uniform steps in s are taken; the cost
   * is (number of stages) x (number of steps) evaluations per sample.
   *
   * <h3>Why not TimeStepping::EmbeddedExplicitRungeKutta::evolve_one_time_step()</h3>
   * The stage loop is ours (same tableaux, same arithmetic as deal.II's
   * explicit methods) because the step size is controlled **per sample**
   * while the score is evaluated for the whole batch at once, each row at
   * its own \f$\sigma\f$ (ScoreFunction takes one \f$\sigma\f$ per row). A
   * shared step for a batch, as deal.II's single-state integrator would
   * take, would make every sample depend on the other samples of its batch,
   * hence on the batch size. The controller is also the standard one
   * (Hairer, Nørsett, Wanner I, §II.4) rather than deal.II's fixed
   * refine/coarsen factors: a rejected step is retried with the step
   * predicted by the error estimate, and the first stage of a rejected step
   * is reused (deal.II recomputes all stages), which saves evaluations.
   *
   * <h3>Error norm</h3>
   * Mesh independent: the local error estimate e of a sample is measured in
   * the discrete L2 norm normalized by the volume,
   * \f$\|e\| = (\sum_i w_i e_i^2/|\Omega|)^{1/2}\f$, w the quadrature
   * weights (lumped mass) of the space (sampler_tools::MassNorm). This is the
   * Euclidean norm of the scaled state \f$y = \sqrt{w/|\Omega|}\odot v\f$,
   * i.e. what deal.II's l2 norm would measure had the ODE been written for
   * y; a plain l2 norm of coefficients would grow with the number of DoFs
   * and make the step sequence depend on the mesh. A step is accepted if
   * \f$\|e\| \le\f$ `Absolute tolerance` + `Relative tolerance`
   * \f$\max(\|v_{old}\|, \|v_{new}\|)\f$; the next step is
   * \f$h\min(5, \max(0.2, 0.9\,\mathrm{err}^{-1/(\hat p+1)}))\f$,
   * \f$\hat p\f$ the order of the embedded solution.
   *
   * The report counts accepted and rejected steps (summed over samples) and
   * evaluations. A non-finite score throws, naming the step and
   * \f$\sigma\f$; so do more than `Maximum number of steps` attempts or a
   * step that shrinks below 1e-12 of the interval.
   */
  template <int dim>
  class ProbabilityFlowSampler : public Sampler<dim>
  {
  public:
    /**
     * Declares Method, Step control, Number of steps, Relative tolerance,
     * Absolute tolerance, Initial step, Maximum number of steps, Batch size,
     * Final denoising.
     */
    static void
    declare_parameters(ParameterHandler &prm);

    void
    parse_parameters(ParameterHandler &prm) override;

    /** The names `Method` accepts, '|'-separated. */
    static std::string
    method_names();

  protected:
    /** Throws if `Step control = adaptive` is asked of a method without an error estimator. */
    void
    check_settings(const NoiseRange &range) const override;

    unsigned int
    samples_per_batch() const override;

    /** The ODE from sigma_max to sigma_min for one batch, then the Tweedie step. */
    torch::Tensor
    sample_batch(typename Sampler<dim>::Run &run, const unsigned int first, const unsigned int size) const override;

  private:
    /** The integration of one batch of samples (defined in the .cc). */
    struct Batch;

    /** Steps every sample of @p batch from s_begin to s_end. */
    void
    integrate(Batch &batch) const;
    /** Checks the attempt count of each of @p rows and shortens its last step to end at s_end. */
    void
    limit_steps(Batch &batch, const std::vector<std::int64_t> &rows) const;
    /** The right-hand side sigma^2 F(x, sigma) at s = @p s_rows for the rows @p rows of @p batch. */
    torch::Tensor
    rhs(Batch &                          batch,
        const torch::Tensor &            x,
        const torch::Tensor &            s_rows,
        const std::vector<std::int64_t> &rows) const;
    /** The Runge-Kutta stages of one step of @p rows from @p v0 with steps @p step. */
    std::vector<torch::Tensor>
    stages(Batch &                          batch,
           const std::vector<std::int64_t> &rows,
           const torch::Tensor &            index,
           const torch::Tensor &            v0,
           const torch::Tensor &            step) const;
    /** Per row: the local error estimate over the tolerance (accept if <= 1). */
    std::vector<double>
    error_ratios(const Batch &                     batch,
                 const std::vector<torch::Tensor> &k,
                 const torch::Tensor &             v0,
                 const torch::Tensor &             v1,
                 const torch::Tensor &             step) const;
    /** Fixed steps: throws if a new state @p v1 of @p rows is not finite. */
    void
    assert_finite_state(const Batch &                    batch,
                        const std::vector<std::int64_t> &rows,
                        const torch::Tensor &            v1) const;
    /** Accepts or rejects the step of each of @p rows; returns the positions accepted. */
    std::vector<std::int64_t>
    accept_or_reject(Batch &                          batch,
                     const std::vector<std::int64_t> &rows,
                     const std::vector<double> &      error_ratio) const;
    /** Advances sample @p b by its step and chooses the next step. */
    void
    accept(Batch &batch, const std::int64_t b, const double err) const;
    /** Shrinks the step of sample @p b for another attempt. */
    void
    reject(Batch &batch, const std::int64_t b, const double err) const;
    /** The Tweedie step v + sigma_min^2 F(v, sigma_min). */
    void
    denoise(Batch &batch, const double sigma_min) const;

    std::string  method             = "DOPRI";
    bool         adaptive           = true;
    unsigned int n_fixed_steps      = 32;
    double       relative_tolerance = 1e-3;
    double       absolute_tolerance = 1e-6;
    double       initial_step       = 0.1;
    unsigned int max_steps          = 10000;
    unsigned int batch_size         = 100;
    bool         final_denoising    = true;
  };
} // namespace ddo

#endif
