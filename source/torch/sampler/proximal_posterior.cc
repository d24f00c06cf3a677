#include <deal.II/lac/solver_control.h>
#include <deal.II/optimization/solver_bfgs.h>

#include <ddo/base/finite.h>
#include <ddo/torch/sampler/proximal_posterior.h>
#include <ddo/torch/torch_bridge.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

namespace ddo
{
  namespace
  {
    /**
     * The objective of one proximal problem over the free coefficients z
     * (full-length vectors whose constrained entries are ignored; x = P z):
     * \f$-\log L(Pz) + \|Pz - x_0\|^2_{C^{-1}}/(2\rho)\f$, its gradient
     * \f$-P^T\nabla\log L + \tilde C^{-1}(z - Rx_0)/\rho\f$, and the initial
     * inverse Hessian \f$\rho\tilde C\f$.
     */
    template <int dim>
    class ProximalObjective
    {
    public:
      ProximalObjective(const FunctionSpace<dim> &      space,
                        const CovarianceOperator<dim> &noise,
                        const LikelihoodWithGradient &  likelihood,
                        const double                    rho,
                        const Vector<double> &          x0)
        : constraints(space.get_constraints())
        , noise(noise)
        , likelihood(likelihood)
        , rho(rho)
        , x0(x0)
        , in(space.create_vector())
        , out(space.create_vector())
        , x(x0.size())
        , likelihood_gradient(x0.size())
        , difference(x0.size())
      {}

      /** The objective at @p z, its gradient in @p g. */
      double
      operator()(const Vector<double> &z, Vector<double> &g)
      {
        x = z;
        constraints.distribute(x);
        likelihood_gradient = 0;
        const double log_l  = likelihood(x, likelihood_gradient);
        ++n_evaluations;
        // A trial outside the likelihood's domain (log L = -infinity) gets an
        // infinite objective, and the line search shortens the step; the
        // starting point (the first evaluation) must lie inside.
        if (log_l == -std::numeric_limits<double>::infinity() && n_evaluations > 1)
          {
            g = 0.;
            return std::numeric_limits<double>::infinity();
          }
        AssertThrow(std::isfinite(log_l) && all_finite(likelihood_gradient),
                    ExcMessage("Proximal posterior step: the likelihood or its gradient is not finite at " +
                               std::string(n_evaluations == 1 ? "the denoised estimate it starts from." :
                                                                "a trial point.")));
        constraints.condense(likelihood_gradient); // P^T grad

        difference = x;
        difference -= x0;
        copy(difference, in);
        const double norm_squared = noise.cameron_martin_norm_squared(in);
        noise.apply_inverse(in, out);
        copy(out, g);
        constraints.set_zero(g);
        g /= rho;
        g -= likelihood_gradient;
        return -log_l + 0.5 * norm_squared / rho;
      }

      /** @p g <- rho C g (free coefficients). */
      void
      precondition(Vector<double> &g)
      {
        constraints.set_zero(g);
        copy(g, in);
        noise.apply(in, out);
        copy(out, g);
        constraints.set_zero(g);
        g *= rho;
      }

      unsigned int n_evaluations = 0;

    private:
      static void
      copy(const Vector<double> &from, VectorType &to)
      {
        for (unsigned int i = 0; i < from.size(); ++i)
          to[i] = from[i];
      }

      static void
      copy(const VectorType &from, Vector<double> &to)
      {
        for (unsigned int i = 0; i < to.size(); ++i)
          to[i] = from[i];
      }

      const AffineConstraints<double> &constraints;
      const CovarianceOperator<dim> &  noise;
      const LikelihoodWithGradient &   likelihood;
      const double                     rho;
      const Vector<double> &           x0;
      VectorType                       in, out;
      Vector<double>                   x, likelihood_gradient, difference;
    };
  } // namespace


  template <int dim>
  unsigned int
  solve_proximal_problem(const FunctionSpace<dim> &      space,
                         const CovarianceOperator<dim> &noise,
                         const LikelihoodWithGradient & likelihood,
                         const double                    rho,
                         const unsigned int              n_iterations,
                         Vector<double> &                x)
  {
    AssertThrow(!space.is_distributed(),
                ExcMessage("Proximal posterior step: distributed meshes are not supported yet; use a "
                           "serial (or replicated) mesh."));
    AssertThrow(x.size() == space.n_dofs(),
                ExcMessage("Proximal posterior step: the field has " + std::to_string(x.size()) +
                           " entries, the space " + std::to_string(space.n_dofs()) + " DoFs."));
    AssertThrow(rho > 0 && std::isfinite(rho), ExcMessage("Proximal posterior step: rho must be positive."));
    const Vector<double>      x0 = x;
    ProximalObjective<dim>    objective(space, noise, likelihood, rho, x0);
    Vector<double>            z = x0;
    space.get_constraints().set_zero(z);
    // Tolerance 0: exactly n_iterations iterations, which SolverBFGS reports as NoConvergence.
    SolverControl              control(n_iterations, 0., false, false);
    SolverBFGS<Vector<double>> solver(control, SolverBFGS<Vector<double>>::AdditionalData(n_iterations));
    // Backtracking from the full step, which the metric rho C makes the right
    // one for the prior's part: deal.II's default strong-Wolfe search throws
    // when the objective is flat to round-off near the minimizer. A step that
    // does not decrease the objective ends the iterations where they are.
    struct Stalled
    {};
    Vector<double> start, start_gradient;
    solver.connect_line_search_slot(
      [&](double &f, Vector<double> &z, Vector<double> &g, const Vector<double> &p) {
        const double f0 = f, slope = g * p;
        if (!(slope < 0))
          throw Stalled();
        start          = z;
        start_gradient = g;
        for (double alpha = 1.; alpha > 1e-6; alpha *= 0.5)
          {
            z = start;
            z.add(alpha, p);
            f = objective(z, g);
            if (std::isfinite(f) && f <= f0 + 1e-4 * alpha * slope)
              return alpha;
          }
        z = start;
        g = start_gradient;
        f = f0;
        throw Stalled();
      });
    solver.connect_preconditioner_slot(
      [&objective](Vector<double> &g, const FiniteSizeHistory<Vector<double>> &, const FiniteSizeHistory<Vector<double>> &) {
        objective.precondition(g);
      });
    try
      {
        solver.solve([&objective](const Vector<double> &z, Vector<double> &g) { return objective(z, g); }, z);
      }
    catch (const SolverControl::NoConvergence &)
      {}
    catch (const Stalled &)
      {}
    x = z;
    space.get_constraints().distribute(x);
    return objective.n_evaluations;
  }


  namespace
  {
    void
    check_settings(const ProximalSettings &settings, const NoiseRange &range, const unsigned int n_dofs,
                   const ScoreFunction &prior, const LikelihoodWithGradient &likelihood)
    {
      range.check();
      AssertThrow(prior && likelihood,
                  ExcMessage("Proximal posterior: the prior score and the likelihood must both be given."));
      AssertThrow(settings.n_levels >= 2,
                  ExcMessage("Proximal posterior: at least 2 levels are needed, got " +
                             std::to_string(settings.n_levels) + "."));
      AssertThrow(settings.n_iterations >= 1, ExcMessage("Proximal posterior: at least 1 iteration per level."));
      AssertThrow(settings.fresh_noise <= 1., ExcMessage("Proximal posterior: Fresh noise must be at most 1."));
      AssertThrow(settings.field_scale > 0, ExcMessage("Proximal posterior: Field scale must be positive."));
      AssertThrow(settings.batch_size >= 1, ExcMessage("Proximal posterior: Batch size must be positive."));
      AssertThrow(n_dofs > 0, ExcMessage("Proximal posterior: the space has no DoFs."));
    }


  } // namespace


  template <int dim>
  torch::Tensor
  sample_proximal_posterior(const ScoreFunction &           prior,
                            const FunctionSpace<dim> &      space,
                            const CovarianceOperator<dim> &noise,
                            const NoiseRange &              range,
                            const LikelihoodWithGradient &  likelihood,
                            const ProximalSettings &        settings,
                            const unsigned int              n_samples,
                            const std::uint64_t             seed,
                            const unsigned int              first_sample_index,
                            PosteriorCounts *               counts,
                            SamplerReport *                 report)
  {
    const auto start = std::chrono::steady_clock::now();
    check_settings(settings, range, space.n_dofs(), prior, likelihood);
    const std::vector<double> levels = sampler_tools::geometric_levels(range, settings.n_levels);
    const double              s2     = settings.field_scale * settings.field_scale;
    const auto                f64    = torch::TensorOptions().dtype(torch::kFloat64);
    PosteriorCounts           work;
    std::uint64_t             n_calls = 0;
    sampler_tools::NoiseDraws<dim> draws(&noise, space);
    torch::Tensor result = torch::empty({static_cast<std::int64_t>(n_samples), static_cast<std::int64_t>(space.n_dofs())}, f64);
    for (unsigned int first = 0; first < n_samples; first += settings.batch_size)
      {
        const unsigned int b     = std::min(settings.batch_size, n_samples - first);
        const unsigned int index = first_sample_index + first;
        torch::Tensor      v     = levels[0] * draws.draw(b, Sampler<dim>::initial_noise_seed(seed), index);
        for (unsigned int k = 0; k < levels.size(); ++k)
          {
            const double  sigma = levels[k];
            torch::Tensor x     = v + sigma * sigma * prior(v, torch::full({static_cast<std::int64_t>(b)}, sigma, f64)).to(torch::kFloat64);
            ++n_calls;
            work.prior_evaluations += b;
            AssertThrow(torch::isfinite(x).all().item<bool>(),
                        ExcMessage("Proximal posterior: the denoised estimate is not finite at level " +
                                   std::to_string(k) + " (sigma " + std::to_string(sigma) + ")."));
            sampler_tools::solve_proximal_rows(space, noise, likelihood, sigma * sigma * s2 / (s2 + sigma * sigma),
                                settings.n_iterations, x, work);
            if (k + 1 == levels.size())
              {
                result.narrow(0, first, b).copy_(x);
                break;
              }
            const double        next  = levels[k + 1];
            const double        zeta  = sampler_tools::fresh_noise_fraction(settings.fresh_noise, sigma, next);
            const torch::Tensor noise_estimate = (v - x) / sigma;
            const torch::Tensor fresh          = draws.draw(b, Sampler<dim>::step_noise_seed(seed, k), index);
            v = x + next * (std::sqrt(1. - zeta) * noise_estimate + std::sqrt(zeta) * fresh);
          }
      }
    const std::uint64_t n_steps = std::uint64_t(n_samples) * levels.size();
    sampler_tools::record_posterior_run(work, n_samples, n_calls, n_steps, n_steps, start, counts, report);
    return result;
  }


  namespace sampler_tools
  {
    template <int dim>
    void
    solve_proximal_rows(const FunctionSpace<dim> &      space,
                        const CovarianceOperator<dim> &noise,
                        const LikelihoodWithGradient &  likelihood,
                        const double                    rho,
                        const unsigned int              n_iterations,
                        torch::Tensor &                 x,
                        PosteriorCounts &               counts)
    {
      Vector<double> row(space.n_dofs());
      for (std::int64_t b = 0; b < x.size(0); ++b)
        {
          torch_bridge::from_tensor(x[b], row);
          space.get_constraints().distribute(row);
          counts.likelihood_evaluations +=
            solve_proximal_problem(space, noise, likelihood, rho, n_iterations, row);
          x[b].copy_(torch_bridge::view(row));
        }
    }

    double
    fresh_noise_fraction(const double fresh_noise, const double sigma, const double next)
    {
      return fresh_noise < 0 ? 1. - next * next / (sigma * sigma) : fresh_noise;
    }


    void
    record_posterior_run(const PosteriorCounts &                     work,
                         const unsigned int                          n_samples,
                         const std::uint64_t                         n_network_calls,
                         const std::uint64_t                         n_steps,
                         const std::uint64_t                         n_steps_accepted,
                         const std::chrono::steady_clock::time_point start,
                         PosteriorCounts *                           counts,
                         SamplerReport *                             report)
    {
      if (counts)
        {
          counts->prior_evaluations += work.prior_evaluations;
          counts->likelihood_evaluations += work.likelihood_evaluations;
        }
      if (report)
        {
          report->n_samples             = n_samples;
          report->n_network_evaluations = n_network_calls;
          report->n_sample_evaluations  = work.prior_evaluations;
          report->n_steps_accepted      = n_steps_accepted;
          report->n_steps_rejected      = n_steps - n_steps_accepted;
          report->wall_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
    }
  } // namespace sampler_tools


  template unsigned int
  solve_proximal_problem<2>(const FunctionSpace<2> &, const CovarianceOperator<2> &, const LikelihoodWithGradient &,
                            const double, const unsigned int, Vector<double> &);
  template unsigned int
  solve_proximal_problem<3>(const FunctionSpace<3> &, const CovarianceOperator<3> &, const LikelihoodWithGradient &,
                            const double, const unsigned int, Vector<double> &);
  template void
  sampler_tools::solve_proximal_rows<2>(const FunctionSpace<2> &, const CovarianceOperator<2> &,
                                        const LikelihoodWithGradient &, const double, const unsigned int,
                                        torch::Tensor &, PosteriorCounts &);
  template void
  sampler_tools::solve_proximal_rows<3>(const FunctionSpace<3> &, const CovarianceOperator<3> &,
                                        const LikelihoodWithGradient &, const double, const unsigned int,
                                        torch::Tensor &, PosteriorCounts &);
  template torch::Tensor
  sample_proximal_posterior<2>(const ScoreFunction &, const FunctionSpace<2> &, const CovarianceOperator<2> &,
                               const NoiseRange &, const LikelihoodWithGradient &, const ProximalSettings &,
                               const unsigned int, const std::uint64_t, const unsigned int, PosteriorCounts *,
                               SamplerReport *);
  template torch::Tensor
  sample_proximal_posterior<3>(const ScoreFunction &, const FunctionSpace<3> &, const CovarianceOperator<3> &,
                               const NoiseRange &, const LikelihoodWithGradient &, const ProximalSettings &,
                               const unsigned int, const std::uint64_t, const unsigned int, PosteriorCounts *,
                               SamplerReport *);
} // namespace ddo
