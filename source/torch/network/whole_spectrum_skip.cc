#include <ddo/torch/network/whole_spectrum_skip.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ddo
{
  namespace whole_spectrum
  {
    torch::Tensor
    smooth_log_table(const torch::Tensor &omega_in, const torch::Tensor &values_in, const std::int64_t n_points,
                     const double omega_max)
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor omega    = omega_in.to(torch::kFloat64).flatten();
      const torch::Tensor logs     = torch::log(values_in.to(torch::kFloat64).flatten());
      const double        spacing  = omega_max / double(n_points - 1);
      const torch::Tensor grid     = torch::arange(n_points, torch::kFloat64) * spacing;    // [T]
      const torch::Tensor distance = (grid.unsqueeze(1) - omega.unsqueeze(0)) / spacing;    // [T,n]
      const torch::Tensor weights  = torch::exp(-0.5 * distance * distance);
      const torch::Tensor total    = weights.sum(1);
      const torch::Tensor averaged = torch::mv(weights, logs) / torch::clamp_min(total, 1e-300);
      return torch::where(total > 1e-6, averaged, logs.index_select(0, distance.abs().argmin(1)));
    }


    torch::Tensor
    lookup(const torch::Tensor &table, const double omega_max, const torch::Tensor &omega)
    {
      const std::int64_t T        = table.size(0);
      const double       spacing  = omega_max / double(T - 1);
      torch::Tensor      position = torch::clamp(omega / spacing, 0., double(T - 1));
      torch::Tensor      lower    = torch::floor(position).clamp_max(double(T - 2));
      torch::Tensor      index    = lower.to(torch::kInt64);
      torch::Tensor      inside   = torch::lerp(table.index_select(0, index), table.index_select(0, index + 1),
                                         position - lower);
      // Beyond the grid: the slope in log(omega) of the last eighth.
      const std::int64_t first = std::max<std::int64_t>(1, T - 1 - std::max<std::int64_t>(T / 8, 1));
      const double       omega_first = first * spacing;
      torch::Tensor      slope = (table[T - 1] - table[first]) / std::log(omega_max / omega_first);
      torch::Tensor      beyond = table[T - 1] + slope * torch::log(torch::clamp_min(omega, omega_max) / omega_max);
      return torch::where(omega > omega_max, beyond, inside);
    }


    unsigned int
    automatic_degree(const double eigenvalue_bound, const double omega_floor)
    {
      // Jackson damping smooths the ratio over about pi sqrt(mu_max) / (2 J)
      // in sqrt(mu) near the bottom of the spectrum: this J resolves a
      // twelfth of the K-th mode's scale. (A third of it moved 5% of a
      // Gaussian target's energy across the K-th mode: bands at 0.946 and
      // 1.043; with this, 0.975 and 1.033, within 3 standard errors.)
      const double degree = std::ceil(6 * M_PI * std::sqrt(eigenvalue_bound) / std::max(omega_floor, 1e-12));
      return static_cast<unsigned int>(std::clamp(degree, 16., 2000.));
    }


    namespace
    {
      /** The Jackson-damped Chebyshev coefficients of the Wiener ratio per sigma, `[B, J+1]` (float64). */
      torch::Tensor
      wiener_coefficients(const double         bound,
                          const torch::Tensor &sigma,
                          const torch::Tensor &log_data,
                          const torch::Tensor &log_noise,
                          const double         omega_max,
                          const double         omega_floor,
                          const std::int64_t   J)
      {
        torch::NoGradGuard no_grad;
        // Chebyshev nodes mu_m on [0, bound] and the ratio there, [B, J+1].
        const torch::Tensor m     = torch::arange(J + 1, torch::kFloat64);
        const torch::Tensor theta = M_PI * (m + 0.5) / double(J + 1);
        const torch::Tensor mu    = 0.5 * bound * (torch::cos(theta) + 1.);
        const torch::Tensor omega = torch::clamp_min(torch::sqrt(mu), omega_floor);
        const torch::Tensor log_ratio_noise_data =
          lookup(log_noise.to(torch::kFloat64), omega_max, omega) - lookup(log_data.to(torch::kFloat64), omega_max, omega);
        const torch::Tensor s2    = (sigma.to(torch::kFloat64) * sigma.to(torch::kFloat64)).view({-1, 1});
        const torch::Tensor ratio = 1. / (1. + s2 * torch::exp(log_ratio_noise_data).view({1, -1}));

        // Interpolation coefficients c_j = (2 - delta_j0)/(J+1) sum_m r_m cos(j theta_m),
        // damped with the Jackson kernel (no overshoot: the ratio stays in [0, 1]).
        const torch::Tensor j       = torch::arange(J + 1, torch::kFloat64);
        const torch::Tensor cosines = torch::cos(theta.view({-1, 1}) * j.view({1, -1}));          // [m, j]
        const double        q       = M_PI / double(J + 2);
        const torch::Tensor jackson =
          ((double(J + 2) - j) * torch::cos(q * j) + torch::sin(q * j) / std::tan(q)) / double(J + 2);
        torch::Tensor coefficients = torch::mm(ratio, cosines) * (2. / double(J + 1)) * jackson.view({1, -1});
        coefficients.select(1, 0).mul_(0.5);
        return coefficients;
      }
    } // namespace


    SpectrumOperator::SpectrumOperator(const NetworkGeometry &geometry, const unsigned int mass_iterations)
      : geometry(geometry)
      , mass_iterations(mass_iterations)
    {
      AssertThrow(geometry.lumped_operator.defined() && geometry.lumped_eigenvalue_bound > 0,
                  ExcMessage("The whole-spectrum skip needs the lumped operator of the mesh, which serial "
                             "meshes have (distributed meshes are not supported by it yet)."));
      AssertThrow(mass_iterations == 0 ||
                    (geometry.lumped_mass_operator.defined() && geometry.mass_eigenvalue_lower_bound > 0),
                  ExcMessage("The mass-corrected whole-spectrum skip needs the lumped mass operator, which "
                             "serial meshes with elements of degree 1 have."));
    }


    double
    SpectrumOperator::eigenvalue_bound() const
    {
      if (mass_iterations == 0)
        return geometry.lumped_eigenvalue_bound;
      // q_m(B) B lies within 1 +- epsilon, so the eigenvalues are at most
      // (1 + epsilon) times those of M^-1 K, and at most (1 + epsilon) / a
      // times those of the lumped operator: the smaller of the two rigorous
      // bounds (the cells' is about half the other on linear triangles).
      const double a       = geometry.mass_eigenvalue_lower_bound;
      const double epsilon = 1. / std::cosh(mass_iterations * std::acosh((1. + a) / (1. - a)));
      double       bound   = geometry.lumped_eigenvalue_bound / a;
      if (geometry.consistent_eigenvalue_bound > 0)
        bound = std::min(bound, geometry.consistent_eigenvalue_bound);
      return bound * (1. + epsilon);
    }


    torch::Tensor
    SpectrumOperator::operator()(const torch::Tensor &x) const
    {
      const torch::Tensor y = torch::mm(geometry.lumped_operator, x);
      if (mass_iterations == 0)
        return y;
      // Chebyshev iteration for B z = y on [a, 1] from z = 0 (Saad,
      // Iterative Methods for Sparse Linear Systems, Alg. 12.1): linear in y.
      const double  a = geometry.mass_eigenvalue_lower_bound, theta = 0.5 * (1. + a), delta = 0.5 * (1. - a);
      const double  sigma1   = theta / delta;
      double        rho      = 1. / sigma1;
      torch::Tensor residual = y;
      torch::Tensor step     = y / theta;
      torch::Tensor z        = step;
      for (unsigned int k = 1; k < mass_iterations; ++k)
        {
          residual               = residual - torch::mm(geometry.lumped_mass_operator, step);
          const double rho_next = 1. / (2. * sigma1 - rho);
          step                  = (rho_next * rho) * step + (2. * rho_next / delta) * residual;
          rho                   = rho_next;
          z                     = z + step;
        }
      return z;
    }


    torch::Tensor
    apply_wiener_polynomial(const NetworkGeometry &geometry,
                            const torch::Tensor &  rest,
                            const torch::Tensor &  sigma,
                            const torch::Tensor &  log_data,
                            const torch::Tensor &  log_noise,
                            const double           omega_max,
                            const double           omega_floor,
                            const unsigned int     degree,
                            const unsigned int     mass_iterations,
                            const double           eigenvalue_bound)
    {
      const SpectrumOperator spectrum_operator(geometry, mass_iterations);
      const double bound = eigenvalue_bound > 0 ? eigenvalue_bound : spectrum_operator.eigenvalue_bound();
      const std::int64_t J     = degree;
      // The coefficients are constants of training; the recurrence is not:
      // with the filtered network output, gradients flow through it.
      torch::Tensor coefficients = wiener_coefficients(bound, sigma, log_data, log_noise, omega_max, omega_floor, J)
                                     .to(rest.scalar_type()); // [B, J+1]

      return chebyshev_series(geometry, mass_iterations, rest, coefficients, bound);
    }


    torch::Tensor
    chebyshev_series_through_torch(const SpectrumOperator &op,
                                   const torch::Tensor &   rest,
                                   const torch::Tensor &   coefficients_in,
                                   const double            bound)
    {
      const torch::Tensor coefficients = coefficients_in.to(rest.scalar_type());
      const std::int64_t  J            = coefficients.size(1) - 1;
      // Three-term recurrence T_{j+1} = 2 X T_j - T_{j-1} with X = 2 A / bound - I.
      const auto apply = [&](const torch::Tensor &x) {
        return op(x) * (2. / bound) - x;
      };
      torch::Tensor previous = rest;
      torch::Tensor result   = rest * coefficients.select(1, 0).view({1, -1});
      if (J == 0)
        return result;
      torch::Tensor current = apply(rest);
      result = result + current * coefficients.select(1, 1).view({1, -1});
      for (std::int64_t k = 2; k <= J; ++k)
        {
          torch::Tensor next = 2. * apply(current) - previous;
          result             = result + next * coefficients.select(1, k).view({1, -1});
          previous           = std::move(current);
          current            = std::move(next);
        }
      return result;
    }


    namespace
    {
      /**
       * The largest growth |T_j(X) x|_w / |x|_w of a probe that a spectrum
       * inside the interval allows. In the lumped-mass norm T_j(X) has norm
       * 1 for m = 0 (the operator is self-adjoint there) and at most about
       * 1/sqrt(a) <= 2.3 with the mass correction (a: the lower bound of
       * M_L^-1 M); an eigenvalue x > 1 of X grows as cosh(j acosh x), and
       * the power iterate holds the top of the spectrum.
       */
      constexpr double max_bounded_growth = 4.;


      /** The norm of each column of @p x `[N, B]` weighted by the lumped mass @p w `[N]`. */
      torch::Tensor
      lumped_norms(const torch::Tensor &x, const torch::Tensor &w)
      {
        return torch::sqrt((w.view({-1, 1}) * x * x).sum(0));
      }


      /**
       * A deterministic vector with every mode in it, brought into the
       * operator's range (constrained rows as the operator leaves them),
       * and the iterate of 40 power iterations from it, as the columns of
       * `[N, 2]` (unit lumped-mass norm each), and the power iteration's
       * estimate |A x| / |x| of the largest eigenvalue (from below in the
       * self-adjoint case; 0 if the operator vanishes).
       */
      std::pair<torch::Tensor, double>
      probes_and_estimate(const SpectrumOperator &op)
      {
        const torch::Tensor &w     = op.geometry.weights;
        const torch::Tensor  index = torch::arange(w.size(0), torch::kFloat64);
        torch::Tensor        rough = op(torch::sin(1. + 12.9898 * index).to(w.scalar_type()).view({-1, 1}));
        rough                      = rough / lumped_norms(rough, w);
        torch::Tensor power        = rough;
        double        estimate     = 0;
        for (unsigned int k = 0; k < 40; ++k)
          {
            const torch::Tensor image = op(power);
            const double        norm  = lumped_norms(image, w).item<double>();
            if (!(norm > 0) || !std::isfinite(norm))
              return {rough, 0.};
            estimate = norm;
            power    = image / norm;
          }
        return {torch::cat({power, rough}, 1), estimate};
      }


      /** max_j max_columns |T_j(X) x|_w / |x|_w for j <= @p degree, X = 2 A / bound - I. */
      double
      chebyshev_growth(const SpectrumOperator &op, const torch::Tensor &x, const double bound,
                       const unsigned int degree)
      {
        const torch::Tensor &w        = op.geometry.weights;
        const torch::Tensor  start    = lumped_norms(x, w);
        const auto           apply    = [&](const torch::Tensor &y) { return op(y) * (2. / bound) - y; };
        torch::Tensor        previous = x, current = apply(x);
        double               growth   = (lumped_norms(current, w) / start).max().item<double>();
        for (unsigned int j = 2; j <= degree && std::isfinite(growth); ++j)
          {
            torch::Tensor next = 2. * apply(current) - previous;
            previous           = std::move(current);
            current            = std::move(next);
            growth             = std::max(growth, (lumped_norms(current, w) / start).max().item<double>());
          }
        return std::isfinite(growth) ? growth : std::numeric_limits<double>::infinity();
      }
    } // namespace


    bool
    spectrum_lies_below(const SpectrumOperator &op, const double bound, const unsigned int degree)
    {
      torch::NoGradGuard no_grad;
      return chebyshev_growth(op, probes_and_estimate(op).first, bound, degree) <= max_bounded_growth;
    }


    double
    checked_eigenvalue_bound(const SpectrumOperator &op, const std::function<unsigned int(double)> &degree_of_bound)
    {
      torch::NoGradGuard no_grad;
      const double       rigorous = op.eigenvalue_bound();
      const auto [probes, estimate] = probes_and_estimate(op);
      const double bound = 1.1 * estimate;
      if (!(bound > 0) || bound >= rigorous)
        return rigorous;
      return chebyshev_growth(op, probes, bound, degree_of_bound(bound)) <= max_bounded_growth ? bound : rigorous;
    }
  } // namespace whole_spectrum
} // namespace ddo
