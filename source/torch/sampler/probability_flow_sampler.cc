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


  template <int dim>
  torch::Tensor
  ProbabilityFlowSampler<dim>::sample(const ScoreFunction &           score,
                                      const FunctionSpace<dim> &      space,
                                      const CovarianceOperator<dim> &noise,
                                      const NoiseRange &              range,
                                      const unsigned int              n_samples,
                                      const std::uint64_t             seed,
                                      const unsigned int              first_sample_index,
                                      SamplerReport *                 report) const
  {
    const auto start = std::chrono::steady_clock::now();
    range.check();
    const Tableau tableau = make_tableau(method);
    AssertThrow(!adaptive || !tableau.e.empty(),
                ExcMessage("probability_flow: Method " + method +
                           " has no error estimator; use Step control = fixed."));
    const bool         fsal     = tableau.first_same_as_last();
    const unsigned int n_stages = tableau.n_stages();
    const double       s_begin  = -std::log(range.sigma_max);
    const double       s_end    = -std::log(range.sigma_min);
    const double       length   = s_end - s_begin;
    const MPI_Comm     comm     = space.get_mpi_communicator();
    const sampler_tools::MassNorm<dim> norm(space);
    ScoreEvaluationCounter             counter;
    std::uint64_t                      total_accepted = 0, total_rejected = 0;

    const auto options = torch::TensorOptions().dtype(torch::kFloat64);
    const std::int64_t n_local = space.locally_owned_dofs().n_elements();
    torch::Tensor      result  = torch::empty({static_cast<std::int64_t>(n_samples), n_local}, options);

    for (unsigned int offset = 0; offset < n_samples; offset += batch_size)
      {
        const unsigned int batch = std::min(batch_size, n_samples - offset);
        const unsigned int first = first_sample_index + offset;

        torch::Tensor v =
          range.sigma_max *
          sampler_tools::draw_noise(noise, space, batch, Sampler<dim>::initial_noise_seed(seed), first);

        // Per-sample state of the integration.
        std::vector<double>       s(batch, s_begin);
        std::vector<double>       h(batch, adaptive ? initial_step : length / n_fixed_steps);
        std::vector<unsigned int> accepted(batch, 0), rejected(batch, 0);
        std::vector<bool>         done(batch, false), has_k1(batch, false), last_rejected(batch, false);
        torch::Tensor             k1 = torch::zeros_like(v);

        // sigma^2 F(x, sigma) at s for the rows `rows` of the batch.
        const auto rhs = [&](const torch::Tensor &              x,
                             const torch::Tensor &              s_rows,
                             const std::vector<std::int64_t> &rows) {
          const torch::Tensor sigma = torch::exp(-s_rows).reshape({-1});
          const torch::Tensor f     = counter.evaluate(score, x, sigma);
          const auto          bad   = sampler_tools::non_finite_rows(f, comm);
          if (!bad.empty())
            {
              const auto         b = rows[bad.front()];
              std::ostringstream message;
              message << "probability_flow: the score is not finite (NaN or Inf) at sigma = "
                      << sigma[bad.front()].item<double>() << ", in step "
                      << accepted[b] + rejected[b] + 1 << " (" << accepted[b]
                      << " accepted so far; method " << method << ") of sample " << first + b
                      << ".";
              AssertThrow(false, ExcMessage(message.str()));
            }
          return f * (sigma * sigma).reshape({-1, 1});
        };

        while (true)
          {
            std::vector<std::int64_t> rows;
            for (unsigned int b = 0; b < batch; ++b)
              if (!done[b])
                rows.push_back(b);
            if (rows.empty())
              break;

            for (const auto b : rows)
              {
                AssertThrow(accepted[b] + rejected[b] < max_steps,
                            ExcMessage("probability_flow: sample " + std::to_string(first + b) +
                                       " needed more than " + std::to_string(max_steps) +
                                       " steps; stopped at sigma = " +
                                       std::to_string(std::exp(-s[b])) +
                                       ". Raise Maximum number of steps or the tolerances."));
                // The last step ends exactly at s_end.
                if (h[b] >= s_end - s[b] || (!adaptive && accepted[b] + 1 == n_fixed_steps))
                  h[b] = s_end - s[b];
              }

            const torch::Tensor index = torch::tensor(rows, torch::TensorOptions().dtype(torch::kInt64));
            const torch::Tensor v0    = v.index_select(0, index);
            const torch::Tensor s0    = column(s, rows);
            const torch::Tensor step  = column(h, rows);

            std::vector<torch::Tensor> k(n_stages);
            {
              // First stages: reused where known (first same as last, or a
              // rejected step), evaluated for the other rows.
              std::vector<std::int64_t> missing, missing_positions;
              for (unsigned int r = 0; r < rows.size(); ++r)
                if (!has_k1[rows[r]])
                  {
                    missing.push_back(rows[r]);
                    missing_positions.push_back(r);
                  }
              k[0] = k1.index_select(0, index);
              if (!missing.empty())
                {
                  const torch::Tensor positions =
                    torch::tensor(missing_positions, torch::TensorOptions().dtype(torch::kInt64));
                  k[0].index_copy_(0, positions,
                                   rhs(v0.index_select(0, positions), column(s, missing), missing));
                }
            }
            for (unsigned int i = 1; i < n_stages; ++i)
              {
                torch::Tensor x = v0.clone();
                for (unsigned int j = 0; j < i; ++j)
                  if (tableau.a[i][j] != 0.)
                    x.add_(k[j] * (step * tableau.a[i][j]));
                k[i] = rhs(x, s0 + tableau.c[i] * step, rows);
              }
            torch::Tensor increment = torch::zeros_like(v0);
            for (unsigned int i = 0; i < n_stages; ++i)
              if (tableau.b[i] != 0.)
                increment.add_(k[i], tableau.b[i]);
            const torch::Tensor v1 = v0 + step * increment;

            std::vector<double> error_ratio(rows.size(), 0.);
            if (adaptive)
              {
                torch::Tensor error = torch::zeros_like(v0);
                for (unsigned int i = 0; i < n_stages; ++i)
                  if (tableau.e[i] != 0.)
                    error.add_(k[i], tableau.e[i]);
                const torch::Tensor error_norm = norm(step * error);
                const torch::Tensor scale =
                  absolute_tolerance + relative_tolerance * torch::maximum(norm(v0), norm(v1));
                const torch::Tensor ratio = (error_norm / scale).contiguous();
                std::copy(ratio.data_ptr<double>(), ratio.data_ptr<double>() + rows.size(),
                          error_ratio.begin());
              }
            else
              {
                const auto bad = sampler_tools::non_finite_rows(v1, comm);
                AssertThrow(bad.empty(),
                            ExcMessage("probability_flow: the state is not finite in step " +
                                       std::to_string(accepted[rows[bad.front()]] + 1) +
                                       " at sigma = " + std::to_string(std::exp(-s[rows[bad.front()]])) +
                                       " of sample " + std::to_string(first + rows[bad.front()]) +
                                       ": use more steps."));
              }

            // Accept or reject, row by row.
            std::vector<std::int64_t> accepted_positions;
            for (unsigned int r = 0; r < rows.size(); ++r)
              {
                const auto   b   = rows[r];
                const double err = error_ratio[r]; // NaN (overflow) rejects
                if (!adaptive || err <= 1.)
                  {
                    accepted_positions.push_back(r);
                    ++accepted[b];
                    s[b] += h[b];
                    if (std::abs(s_end - s[b]) <= 1e-12 * length ||
                        (!adaptive && accepted[b] == n_fixed_steps))
                      {
                        s[b]    = s_end;
                        done[b] = true;
                      }
                    has_k1[b] = fsal;
                    if (adaptive)
                      {
                        const double growth =
                          err > 0 ? 0.9 * std::pow(err, -1. / (tableau.embedded_order + 1)) : 5.;
                        h[b] *= std::min(last_rejected[b] ? 1. : 5., std::max(0.2, growth));
                        last_rejected[b] = false;
                      }
                  }
                else
                  {
                    ++rejected[b];
                    has_k1[b]        = true; // f(s, v) is unchanged
                    last_rejected[b] = true;
                    const double shrink =
                      std::isfinite(err) ? 0.9 * std::pow(err, -1. / (tableau.embedded_order + 1)) :
                                           0.2;
                    h[b] *= std::min(1., std::max(0.2, shrink));
                    AssertThrow(h[b] > 1e-12 * length,
                                ExcMessage("probability_flow: the step size of sample " +
                                           std::to_string(first + b) +
                                           " underflows at sigma = " +
                                           std::to_string(std::exp(-s[b])) + " after " +
                                           std::to_string(accepted[b]) +
                                           " accepted steps: the score is not smooth there "
                                           "(or not finite)."));
                  }
              }
            // First stages of the next attempt: the last stage of accepted
            // steps (first same as last), the first stage of rejected ones.
            k1.index_copy_(0, index, k[0]);
            if (!accepted_positions.empty())
              {
                const torch::Tensor positions =
                  torch::tensor(accepted_positions, torch::TensorOptions().dtype(torch::kInt64));
                const torch::Tensor targets = index.index_select(0, positions);
                v.index_copy_(0, targets, v1.index_select(0, positions));
                if (fsal)
                  k1.index_copy_(0, targets, k[n_stages - 1].index_select(0, positions));
              }
          }

        if (final_denoising)
          {
            const torch::Tensor sigmas = torch::full({static_cast<std::int64_t>(batch)},
                                                     range.sigma_min, options);
            const torch::Tensor f   = counter.evaluate(score, v, sigmas);
            const auto          bad = sampler_tools::non_finite_rows(f, comm);
            AssertThrow(bad.empty(),
                        ExcMessage("probability_flow: the score is not finite (NaN or Inf) in "
                                   "the final denoising step (sigma = " +
                                   std::to_string(range.sigma_min) + ") of sample " +
                                   std::to_string(first + (bad.empty() ? 0 : bad.front())) + "."));
            v.add_(f, range.sigma_min * range.sigma_min);
          }
        result.narrow(0, offset, batch).copy_(v);
        for (unsigned int b = 0; b < batch; ++b)
          {
            total_accepted += accepted[b];
            total_rejected += rejected[b];
          }
      }

    if (report != nullptr)
      {
        report->n_samples             = n_samples;
        report->n_network_evaluations = counter.n_calls();
        report->n_sample_evaluations  = counter.n_sample_evaluations();
        report->n_steps_accepted      = total_accepted;
        report->n_steps_rejected      = total_rejected;
        report->wall_time =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      }
    return result;
  }


} // namespace ddo

DDO_REGISTER_SAMPLER(ddo::ProbabilityFlowSampler,
                     "probability_flow",
                     "probability-flow ODE with embedded Runge-Kutta error control (few "
                     "evaluations, deterministic)")
