#include <deal.II/base/time_stepping.h>
#include <deal.II/lac/vector.h>

#include <ddo/torch/sampler/probability_flow_sampler.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>

namespace ddo
{
  namespace
  {
    /**
     * An explicit Runge–Kutta tableau: stage i evaluates f at s + c_i h and
     * v + h sum_{j<i} a_ij k_j; the step is v + h sum_i b_i k_i; the local
     * error estimate h sum_i e_i k_i (e = b - b_embedded, empty without an
     * embedded pair).
     */
    struct Tableau
    {
      std::vector<std::vector<double>> a;
      std::vector<double>              b;
      std::vector<double>              c;
      std::vector<double>              e;
      unsigned int                     embedded_order = 0;

      unsigned int
      n_stages() const
      {
        return b.size();
      }

      /** Whether the last stage is f at the new state (first same as last). */
      bool
      first_same_as_last() const
      {
        const unsigned int n = n_stages();
        if (n < 2 || c.back() != 1. || b.back() != 0. || a.size() < n || a.back().size() != n - 1)
          return false;
        for (unsigned int j = 0; j + 1 < n; ++j)
          if (a.back()[j] != b[j])
            return false;
        return true;
      }
    };


    // Read access to the coefficients deal.II keeps protected.
    using DealiiExplicitRungeKutta = ::dealii::TimeStepping::ExplicitRungeKutta<Vector<double>>;
    using DealiiMethod             = ::dealii::TimeStepping::runge_kutta_method;

    class DealiiExplicitTableau : public DealiiExplicitRungeKutta
    {
    public:
      explicit DealiiExplicitTableau(const DealiiMethod method)
        : DealiiExplicitRungeKutta(method)
      {}

      Tableau
      get() const
      {
        Tableau t;
        t.b = this->b;
        t.c = this->c;
        t.a = this->a;
        t.a.resize(this->n_stages); // FORWARD_EULER leaves a empty
        return t;
      }
    };


    Tableau
    embedded(std::vector<std::vector<double>> a,
             std::vector<double>              c,
             std::vector<double>              b,
             std::vector<double>              b_embedded,
             const unsigned int               embedded_order)
    {
      Tableau t;
      t.a = std::move(a);
      t.c = std::move(c);
      t.b = std::move(b);
      t.e.resize(t.b.size());
      for (unsigned int i = 0; i < t.b.size(); ++i)
        t.e[i] = t.b[i] - b_embedded[i];
      t.embedded_order = embedded_order;
      return t;
    }


    // The embedded pairs of dealii::TimeStepping::EmbeddedExplicitRungeKutta
    // (which keeps b1, b2 private, hence spelled out here): b propagates
    // (deal.II's b1, the higher order), b_embedded estimates the error
    // (deal.II's b2).
    Tableau
    make_tableau(const std::string &method)
    {
      if (method == "HEUN_EULER" || method == "HEUN")
        {
          Tableau t = embedded({{}, {1.}}, {0., 1.}, {0.5, 0.5}, {1., 0.}, 1);
          if (method == "HEUN")
            t.e.clear();
          return t;
        }
      if (method == "BOGACKI_SHAMPINE")
        return embedded({{}, {0.5}, {0., 0.75}, {2. / 9., 1. / 3., 4. / 9.}},
                        {0., 0.5, 0.75, 1.},
                        {2. / 9., 1. / 3., 4. / 9., 0.},
                        {7. / 24., 0.25, 1. / 3., 0.125},
                        2);
      if (method == "DOPRI")
        return embedded({{},
                         {1. / 5.},
                         {3. / 40., 9. / 40.},
                         {44. / 45., -56. / 15., 32. / 9.},
                         {19372. / 6561., -25360. / 2187., 64448. / 6561., -212. / 729.},
                         {9017. / 3168., -355. / 33., 46732. / 5247., 49. / 176., -5103. / 18656.},
                         {35. / 384., 0., 500. / 1113., 125. / 192., -2187. / 6784., 11. / 84.}},
                        {0., 1. / 5., 3. / 10., 4. / 5., 8. / 9., 1., 1.},
                        {35. / 384., 0., 500. / 1113., 125. / 192., -2187. / 6784., 11. / 84., 0.},
                        {5179. / 57600., 0., 7571. / 16695., 393. / 640., -92097. / 339200.,
                         187. / 2100., 1. / 40.},
                        4);
      if (method == "FEHLBERG")
        return embedded({{},
                         {0.25},
                         {0.09375, 0.28125},
                         {1932. / 2197., -7200. / 2197., 7296. / 2197.},
                         {439. / 216., -8., 3680. / 513., -845. / 4104.},
                         {-8. / 27., 2., -3544. / 2565., 1859. / 4104., -0.275}},
                        {0., 0.25, 0.375, 12. / 13., 1., 0.5},
                        {16. / 135., 0., 6656. / 12825., 28561. / 56430., -0.18, 2. / 55.},
                        {25. / 216., 0., 1408. / 2565., 2197. / 4104., -0.2, 0.},
                        4);
      if (method == "CASH_KARP")
        return embedded({{},
                         {0.2},
                         {0.075, 0.225},
                         {0.3, -0.9, 1.2},
                         {-11. / 54., 2.5, -70. / 27., 35. / 27.},
                         {1631. / 55296., 175. / 512., 575. / 13824., 44275. / 110592.,
                          253. / 4096.}},
                        {0., 0.2, 0.3, 0.6, 1., 0.875},
                        {37. / 378., 0., 250. / 621., 125. / 594., 0., 512. / 1771.},
                        {2825. / 27648., 0., 18575. / 48384., 13525. / 55296., 277. / 14336., 0.25},
                        4);
      if (method == "FORWARD_EULER")
        return DealiiExplicitTableau(TimeStepping::FORWARD_EULER).get();
      if (method == "RK_THIRD_ORDER")
        return DealiiExplicitTableau(TimeStepping::RK_THIRD_ORDER).get();
      if (method == "SSP_THIRD_ORDER")
        return DealiiExplicitTableau(TimeStepping::SSP_THIRD_ORDER).get();
      if (method == "RK_CLASSIC_FOURTH_ORDER")
        return DealiiExplicitTableau(TimeStepping::RK_CLASSIC_FOURTH_ORDER).get();
      AssertThrow(false,
                  ExcMessage("probability_flow: unknown Method <" + method + ">. Valid: " +
                             ProbabilityFlowSampler<2>::method_names() + "."));
      return {};
    }


    torch::Tensor
    column(const std::vector<double> &values, const std::vector<std::int64_t> &rows)
    {
      std::vector<double> selected;
      for (const auto r : rows)
        selected.push_back(values[r]);
      return torch::tensor(selected, torch::TensorOptions().dtype(torch::kFloat64))
        .reshape({-1, 1});
    }


    /** sum_i w_i k_i over the nonzero weights, in the order of the stages (zero if none). */
    torch::Tensor
    weighted_sum(const std::vector<torch::Tensor> &k,
                 const std::vector<double> &       weights,
                 const torch::Tensor &             like)
    {
      torch::Tensor sum = torch::zeros_like(like);
      for (unsigned int i = 0; i < k.size(); ++i)
        if (weights[i] != 0.)
          sum.add_(k[i], weights[i]);
      return sum;
    }
  } // namespace


  template <int dim>
  std::string
  ProbabilityFlowSampler<dim>::method_names()
  {
    return "DOPRI|BOGACKI_SHAMPINE|HEUN_EULER|FEHLBERG|CASH_KARP|"
           "FORWARD_EULER|HEUN|RK_THIRD_ORDER|SSP_THIRD_ORDER|RK_CLASSIC_FOURTH_ORDER";
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Method", "DOPRI", Patterns::Selection(method_names()),
                      "Runge-Kutta method (deal.II TimeStepping names). With an error "
                      "estimator: DOPRI, BOGACKI_SHAMPINE, HEUN_EULER, FEHLBERG, CASH_KARP; "
                      "fixed steps only: FORWARD_EULER, HEUN, RK_THIRD_ORDER, SSP_THIRD_ORDER, "
                      "RK_CLASSIC_FOURTH_ORDER.");
    prm.declare_entry("Step control", "adaptive", Patterns::Selection("adaptive|fixed"),
                      "adaptive: per-sample error control with the embedded estimator; "
                      "fixed: Number of steps uniform steps in log(sigma).");
    prm.declare_entry("Number of steps", "32", Patterns::Integer(1),
                      "Steps of fixed step control (uniform in log sigma).");
    prm.declare_entry("Relative tolerance", "1e-3", Patterns::Double(0),
                      "Adaptive control: local error relative to the L2 norm of the state.");
    prm.declare_entry("Absolute tolerance", "1e-6", Patterns::Double(0),
                      "Adaptive control: absolute local error in the L2 norm (normalized by "
                      "the volume, i.e. in units of the field).");
    prm.declare_entry("Initial step", "0.1", Patterns::Double(0),
                      "Adaptive control: first step in log(sigma).");
    prm.declare_entry("Maximum number of steps", "10000", Patterns::Integer(1),
                      "Adaptive control: give up (with an error) after this many step "
                      "attempts of a sample.");
    prm.declare_entry("Batch size", "100", Patterns::Integer(1),
                      "Samples integrated together (bounds the memory).");
    prm.declare_entry("Final denoising", "true", Patterns::Bool(),
                      "Finish with the Tweedie step v + sigma_min^2 F(v, sigma_min).");
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::parse_parameters(ParameterHandler &prm)
  {
    method             = prm.get("Method");
    adaptive           = prm.get("Step control") == "adaptive";
    n_fixed_steps      = prm.get_integer("Number of steps");
    relative_tolerance = prm.get_double("Relative tolerance");
    absolute_tolerance = prm.get_double("Absolute tolerance");
    initial_step       = prm.get_double("Initial step");
    max_steps          = prm.get_integer("Maximum number of steps");
    batch_size         = prm.get_integer("Batch size");
    final_denoising    = prm.get_bool("Final denoising");

    const Tableau tableau = make_tableau(method); // throws for unknown names
    AssertThrow(!adaptive || !tableau.e.empty(),
                ExcMessage("probability_flow: Method " + method +
                           " has no embedded error estimator, so it cannot be used with Step "
                           "control = adaptive. Use DOPRI, BOGACKI_SHAMPINE, HEUN_EULER, "
                           "FEHLBERG or CASH_KARP, or set Step control = fixed."));
    AssertThrow(n_fixed_steps >= 1,
                ExcMessage("probability_flow: Number of steps must be at least 1, got 0."));
    AssertThrow(!adaptive || relative_tolerance > 0 || absolute_tolerance > 0,
                ExcMessage("probability_flow: adaptive step control needs a positive Relative "
                           "tolerance or Absolute tolerance."));
    AssertThrow(!adaptive || initial_step > 0,
                ExcMessage("probability_flow: Initial step must be positive."));
    AssertThrow(batch_size >= 1, ExcMessage("probability_flow: Batch size must be at least 1."));
  }


  /**
   * The integration of one batch: what every batch shares (score, tableau,
   * norm, interval) and the per-sample state of the step control.
   */
  template <int dim>
  struct ProbabilityFlowSampler<dim>::Batch
  {
    const ScoreFunction &               score;
    ScoreEvaluationCounter &            counter;
    const Tableau &                     tableau;
    const sampler_tools::MassNorm<dim> &norm;
    const MPI_Comm                      comm;
    const double                        s_end;
    const double                        length;
    /** Index of the batch's first sample (in messages). */
    const unsigned int first;
    const unsigned int size;

    /** The states v of the batch's samples, one per row. */
    torch::Tensor v;
    /** Per sample: s = -log(sigma), the next step, the step counts. */
    std::vector<double>       s, h;
    std::vector<unsigned int> accepted, rejected;
    std::vector<bool>         done, has_k1, last_rejected;
    /** The first stage of each sample's next attempt, where has_k1. */
    torch::Tensor k1;
  };


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::check_settings(const NoiseRange &) const
  {
    AssertThrow(!adaptive || !make_tableau(method).e.empty(),
                ExcMessage("probability_flow: Method " + method + " has no error estimator; use Step control = fixed."));
  }


  template <int dim>
  unsigned int
  ProbabilityFlowSampler<dim>::samples_per_batch() const
  {
    return batch_size;
  }


  template <int dim>
  torch::Tensor
  ProbabilityFlowSampler<dim>::sample_batch(typename Sampler<dim>::Run &run,
                                            const unsigned int          first,
                                            const unsigned int          size) const
  {
    const Tableau tableau = make_tableau(method);
    const double  s_begin = -std::log(run.range.sigma_max);
    const double  s_end   = -std::log(run.range.sigma_min);
    const double  length  = s_end - s_begin;

    torch::Tensor v = run.range.sigma_max * sampler_tools::draw_noise(run.noise, run.space, size,
                                                                      Sampler<dim>::initial_noise_seed(run.seed), first);
    torch::Tensor k1 = torch::zeros_like(v);
    Batch         batch{run.score,
                run.counter,
                tableau,
                run.norm,
                run.comm,
                s_end,
                length,
                first,
                size,
                std::move(v),
                std::vector<double>(size, s_begin),
                std::vector<double>(size, adaptive ? initial_step : length / n_fixed_steps),
                std::vector<unsigned int>(size, 0),
                std::vector<unsigned int>(size, 0),
                std::vector<bool>(size, false),
                std::vector<bool>(size, false),
                std::vector<bool>(size, false),
                std::move(k1)};

    integrate(batch);
    if (final_denoising)
      denoise(batch, run.range.sigma_min);
    for (unsigned int b = 0; b < size; ++b)
      {
        run.n_steps_accepted += batch.accepted[b];
        run.n_steps_rejected += batch.rejected[b];
      }
    return batch.v;
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::integrate(Batch &batch) const
  {
    while (true)
      {
        std::vector<std::int64_t> rows;
        for (unsigned int b = 0; b < batch.size; ++b)
          if (!batch.done[b])
            rows.push_back(b);
        if (rows.empty())
          break;

        limit_steps(batch, rows);

        const torch::Tensor index = torch::tensor(rows, torch::TensorOptions().dtype(torch::kInt64));
        const torch::Tensor v0    = batch.v.index_select(0, index);
        const torch::Tensor step  = column(batch.h, rows);

        const std::vector<torch::Tensor> k  = stages(batch, rows, index, v0, step);
        const torch::Tensor              v1 = v0 + step * weighted_sum(k, batch.tableau.b, v0);

        std::vector<double> error_ratio(rows.size(), 0.);
        if (adaptive)
          error_ratio = error_ratios(batch, k, v0, v1, step);
        else
          assert_finite_state(batch, rows, v1);

        const std::vector<std::int64_t> accepted_positions = accept_or_reject(batch, rows, error_ratio);
        // First stages of the next attempt: the last stage of accepted
        // steps (first same as last), the first stage of rejected ones.
        batch.k1.index_copy_(0, index, k[0]);
        if (!accepted_positions.empty())
          {
            const torch::Tensor positions =
              torch::tensor(accepted_positions, torch::TensorOptions().dtype(torch::kInt64));
            const torch::Tensor targets = index.index_select(0, positions);
            batch.v.index_copy_(0, targets, v1.index_select(0, positions));
            if (batch.tableau.first_same_as_last())
              batch.k1.index_copy_(0, targets,
                                   k[batch.tableau.n_stages() - 1].index_select(0, positions));
          }
      }
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::limit_steps(Batch &batch, const std::vector<std::int64_t> &rows) const
  {
    for (const auto b : rows)
      {
        AssertThrow(batch.accepted[b] + batch.rejected[b] < max_steps,
                    ExcMessage("probability_flow: sample " + std::to_string(batch.first + b) +
                               " needed more than " + std::to_string(max_steps) +
                               " steps; stopped at sigma = " +
                               std::to_string(std::exp(-batch.s[b])) +
                               ". Raise Maximum number of steps or the tolerances."));
        // The last step ends exactly at s_end.
        if (batch.h[b] >= batch.s_end - batch.s[b] ||
            (!adaptive && batch.accepted[b] + 1 == n_fixed_steps))
          batch.h[b] = batch.s_end - batch.s[b];
      }
  }


  template <int dim>
  torch::Tensor
  ProbabilityFlowSampler<dim>::rhs(Batch &                          batch,
                                   const torch::Tensor &            x,
                                   const torch::Tensor &            s_rows,
                                   const std::vector<std::int64_t> &rows) const
  {
    const torch::Tensor sigma = torch::exp(-s_rows).reshape({-1});
    const torch::Tensor f     = batch.counter.evaluate(batch.score, x, sigma);
    const auto          bad   = sampler_tools::non_finite_rows(f, batch.comm);
    if (!bad.empty())
      {
        const auto         b = rows[bad.front()];
        std::ostringstream message;
        message << "probability_flow: the score is not finite (NaN or Inf) at sigma = "
                << sigma[bad.front()].template item<double>() << ", in step "
                << batch.accepted[b] + batch.rejected[b] + 1 << " (" << batch.accepted[b]
                << " accepted so far; method " << method << ") of sample " << batch.first + b
                << ".";
        AssertThrow(false, ExcMessage(message.str()));
      }
    return f * (sigma * sigma).reshape({-1, 1});
  }


  template <int dim>
  std::vector<torch::Tensor>
  ProbabilityFlowSampler<dim>::stages(Batch &                          batch,
                                      const std::vector<std::int64_t> &rows,
                                      const torch::Tensor &            index,
                                      const torch::Tensor &            v0,
                                      const torch::Tensor &            step) const
  {
    const Tableau &            tableau = batch.tableau;
    const torch::Tensor        s0      = column(batch.s, rows);
    std::vector<torch::Tensor> k(tableau.n_stages());
    {
      // First stages: reused where known (first same as last, or a
      // rejected step), evaluated for the other rows.
      std::vector<std::int64_t> missing, missing_positions;
      for (unsigned int r = 0; r < rows.size(); ++r)
        if (!batch.has_k1[rows[r]])
          {
            missing.push_back(rows[r]);
            missing_positions.push_back(r);
          }
      k[0] = batch.k1.index_select(0, index);
      if (!missing.empty())
        {
          const torch::Tensor positions =
            torch::tensor(missing_positions, torch::TensorOptions().dtype(torch::kInt64));
          k[0].index_copy_(0, positions,
                           rhs(batch, v0.index_select(0, positions), column(batch.s, missing), missing));
        }
    }
    for (unsigned int i = 1; i < tableau.n_stages(); ++i)
      {
        torch::Tensor x = v0.clone();
        for (unsigned int j = 0; j < i; ++j)
          if (tableau.a[i][j] != 0.)
            x.add_(k[j] * (step * tableau.a[i][j]));
        k[i] = rhs(batch, x, s0 + tableau.c[i] * step, rows);
      }
    return k;
  }


  template <int dim>
  std::vector<double>
  ProbabilityFlowSampler<dim>::error_ratios(const Batch &                     batch,
                                            const std::vector<torch::Tensor> &k,
                                            const torch::Tensor &             v0,
                                            const torch::Tensor &             v1,
                                            const torch::Tensor &             step) const
  {
    const torch::Tensor error      = weighted_sum(k, batch.tableau.e, v0);
    const torch::Tensor error_norm = batch.norm(step * error);
    const torch::Tensor scale =
      absolute_tolerance + relative_tolerance * torch::maximum(batch.norm(v0), batch.norm(v1));
    const torch::Tensor ratio = (error_norm / scale).contiguous();
    return std::vector<double>(ratio.data_ptr<double>(), ratio.data_ptr<double>() + v0.size(0));
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::assert_finite_state(const Batch &                    batch,
                                                   const std::vector<std::int64_t> &rows,
                                                   const torch::Tensor &            v1) const
  {
    const auto bad = sampler_tools::non_finite_rows(v1, batch.comm);
    AssertThrow(bad.empty(),
                ExcMessage("probability_flow: the state is not finite in step " +
                           std::to_string(batch.accepted[rows[bad.front()]] + 1) + " at sigma = " +
                           std::to_string(std::exp(-batch.s[rows[bad.front()]])) + " of sample " +
                           std::to_string(batch.first + rows[bad.front()]) + ": use more steps."));
  }


  template <int dim>
  std::vector<std::int64_t>
  ProbabilityFlowSampler<dim>::accept_or_reject(Batch &                          batch,
                                                const std::vector<std::int64_t> &rows,
                                                const std::vector<double> &      error_ratio) const
  {
    std::vector<std::int64_t> accepted_positions;
    for (unsigned int r = 0; r < rows.size(); ++r)
      {
        const double err = error_ratio[r]; // NaN (overflow) rejects
        if (!adaptive || err <= 1.)
          {
            accepted_positions.push_back(r);
            accept(batch, rows[r], err);
          }
        else
          reject(batch, rows[r], err);
      }
    return accepted_positions;
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::accept(Batch &batch, const std::int64_t b, const double err) const
  {
    ++batch.accepted[b];
    batch.s[b] += batch.h[b];
    if (std::abs(batch.s_end - batch.s[b]) <= 1e-12 * batch.length ||
        (!adaptive && batch.accepted[b] == n_fixed_steps))
      {
        batch.s[b]    = batch.s_end;
        batch.done[b] = true;
      }
    batch.has_k1[b] = batch.tableau.first_same_as_last();
    if (adaptive)
      {
        const double growth =
          err > 0 ? 0.9 * std::pow(err, -1. / (batch.tableau.embedded_order + 1)) : 5.;
        batch.h[b] *= std::min(batch.last_rejected[b] ? 1. : 5., std::max(0.2, growth));
        batch.last_rejected[b] = false;
      }
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::reject(Batch &batch, const std::int64_t b, const double err) const
  {
    ++batch.rejected[b];
    batch.has_k1[b]        = true; // f(s, v) is unchanged
    batch.last_rejected[b] = true;
    const double shrink =
      std::isfinite(err) ? 0.9 * std::pow(err, -1. / (batch.tableau.embedded_order + 1)) : 0.2;
    batch.h[b] *= std::min(1., std::max(0.2, shrink));
    AssertThrow(batch.h[b] > 1e-12 * batch.length,
                ExcMessage("probability_flow: the step size of sample " +
                           std::to_string(batch.first + b) + " underflows at sigma = " +
                           std::to_string(std::exp(-batch.s[b])) + " after " +
                           std::to_string(batch.accepted[b]) +
                           " accepted steps: the score is not smooth there "
                           "(or not finite)."));
  }


  template <int dim>
  void
  ProbabilityFlowSampler<dim>::denoise(Batch &batch, const double sigma_min) const
  {
    const torch::Tensor sigmas = torch::full({static_cast<std::int64_t>(batch.size)}, sigma_min,
                                             torch::TensorOptions().dtype(torch::kFloat64));
    const torch::Tensor f      = batch.counter.evaluate(batch.score, batch.v, sigmas);
    const auto          bad    = sampler_tools::non_finite_rows(f, batch.comm);
    AssertThrow(bad.empty(),
                ExcMessage("probability_flow: the score is not finite (NaN or Inf) in "
                           "the final denoising step (sigma = " +
                           std::to_string(sigma_min) + ") of sample " +
                           std::to_string(batch.first + (bad.empty() ? 0 : bad.front())) + "."));
    batch.v.add_(f, sigma_min * sigma_min);
  }


} // namespace ddo

DDO_REGISTER_SAMPLER(ddo::ProbabilityFlowSampler,
                     "probability_flow",
                     "probability-flow ODE with embedded Runge-Kutta error control (few "
                     "evaluations, deterministic)")
