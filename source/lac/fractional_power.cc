#include <deal.II/base/exceptions.h>
#include <deal.II/base/numbers.h>

#include <ddo/lac/fractional_power.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace ddo
{
  using namespace dealii;

  namespace
  {
    void
    check_exponent(const double s)
    {
      AssertThrow(s > 0 && s < 1,
                  ExcMessage("FractionalPowerQuadrature: the exponent must lie in (0, 1), got " +
                             std::to_string(s) + "."));
    }
  } // namespace


  FractionalPowerQuadrature::FractionalPowerQuadrature(const std::vector<double> &exponents,
                                                       const double spectrum_ratio,
                                                       const double tolerance)
    : lambda(spectrum_ratio)
  {
    AssertThrow(!exponents.empty(),
                ExcMessage("FractionalPowerQuadrature: no exponent given."));
    for (const double s : exponents)
      check_exponent(s);
    AssertThrow(spectrum_ratio >= 1 && std::isfinite(spectrum_ratio),
                ExcMessage("FractionalPowerQuadrature: the spectrum ratio must be a finite "
                           "number >= 1, got " + std::to_string(spectrum_ratio) + "."));
    AssertThrow(tolerance >= 1e-12 && tolerance <= 1e-1,
                ExcMessage("FractionalPowerQuadrature: the tolerance must lie in [1e-12, 0.1], "
                           "got " + std::to_string(tolerance) + "."));

    // Scan the step from coarse to fine; keep the feasible one with the
    // fewest shifts (the error falls like exp(-2 pi^2 / h), so the scan
    // covers tolerances down to 1e-12 by h = 0.5).
    double       best_step  = 0;
    unsigned int best_count = std::numeric_limits<unsigned int>::max();
    for (double step = 3.; step > 0.49; step -= 0.05)
      {
        const unsigned int count = set_nodes(exponents, step, tolerance);
        if (count >= best_count)
          continue;
        bool feasible = true;
        for (const double s : exponents)
          feasible = feasible && max_relative_error(s) <= tolerance;
        if (feasible)
          {
            best_step  = step;
            best_count = count;
          }
      }
    AssertThrow(best_step > 0,
                ExcMessage("FractionalPowerQuadrature: no quadrature meets the tolerance " +
                           std::to_string(tolerance) + " on [1, " + std::to_string(spectrum_ratio) +
                           "] for the exponents given."));
    set_nodes(exponents, best_step, tolerance);
  }


  unsigned int
  FractionalPowerQuadrature::set_nodes(const std::vector<double> &exponents,
                                       const double               step,
                                       const double               tolerance)
  {
    // Tails: below y_min, (e^y + x)^{-1} = x^{-1} (1 - e^y/x + ...), whose
    // dropped part integrates to a relative error e^{(2-s) y_min}/(2-s) at
    // x = 1; above y_max, (e^y + x)^{-1} = e^{-y} (1 - x e^{-y} + ...), a
    // relative error Lambda^{1+s} e^{-(1+s) y_max}/(1+s) at x = Lambda. A
    // quarter of the tolerance each.
    h             = step;
    double y_min = 0, y_max = 0;
    for (const double s : exponents)
      {
        y_min = std::min(y_min, std::log(0.25 * tolerance * (2 - s)) / (2 - s));
        y_max = std::max(y_max, std::log(lambda) -
                                  std::log(0.25 * tolerance * (1 + s)) / (1 + s));
      }
    first_node = static_cast<int>(std::floor(y_min / h));
    last_node  = static_cast<int>(std::ceil(y_max / h));
    shift_values.clear();
    for (int l = first_node; l <= last_node; ++l)
      shift_values.push_back(std::exp(l * h));
    return shift_values.size();
  }


  FractionalPowerQuadrature::Weights
  FractionalPowerQuadrature::weights(const double s) const
  {
    check_exponent(s);
    // sin(pi s) = sin(pi (1 - s)); expm1 keeps the tails accurate for s
    // near 0 or 1.
    const double c = std::sin(numbers::PI * std::min(s, 1 - s)) / numbers::PI;
    Weights      w;
    for (int l = first_node; l <= last_node; ++l)
      w.resolvent.push_back(c * h * std::exp((1 - s) * l * h));
    // Nodes l < first_node with (e^y + x)^{-1} ~ 1/x: a geometric series.
    w.inverse = c * h * std::exp((1 - s) * (first_node - 1) * h) / (-std::expm1(-(1 - s) * h));
    // Nodes l > last_node with (e^y + x)^{-1} ~ e^{-y}: a geometric series.
    w.identity = c * h * std::exp(-s * (last_node + 1) * h) / (-std::expm1(-s * h));
    return w;
  }


  double
  FractionalPowerQuadrature::evaluate(const double s, const double x) const
  {
    const Weights w     = weights(s);
    double        value = w.identity + w.inverse / x;
    for (unsigned int j = 0; j < shift_values.size(); ++j)
      value += w.resolvent[j] / (x + shift_values[j]);
    return value;
  }


  double
  FractionalPowerQuadrature::max_relative_error(const double s) const
  {
    const Weights      w        = weights(s);
    const unsigned int n_points = 4000;
    double             error    = 0;
    for (unsigned int p = 0; p < n_points; ++p)
      {
        const double x     = std::exp(std::log(lambda) * p / (n_points - 1));
        double       value = w.identity + w.inverse / x;
        for (unsigned int j = 0; j < shift_values.size(); ++j)
          value += w.resolvent[j] / (x + shift_values[j]);
        error = std::max(error, std::abs(value * std::pow(x, s) - 1));
      }
    return error;
  }
} // namespace ddo
