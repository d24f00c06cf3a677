// Distributions of a scalar quantity against a reference: summaries, KS and
// Wasserstein-1 distances with the half-against-half floor (see
// include/ddo/metrics/quantity_comparison.h).

#include <deal.II/base/exceptions.h>

#include <ddo/metrics/quantity_comparison.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>

namespace ddo
{
  using namespace dealii;

  namespace
  {
    /** The empirical quantile of sorted @p values at probability @p p (linear interpolation). */
    double
    quantile(const std::vector<double> &values, const double p)
    {
      const double      position = p * (values.size() - 1);
      const std::size_t below    = static_cast<std::size_t>(std::floor(position));
      const std::size_t above    = std::min(below + 1, values.size() - 1);
      return values[below] + (position - below) * (values[above] - values[below]);
    }


    /**
     * Walks the merged sorted samples: calls @p step(x, next_x, F_a - F_b)
     * on every interval between consecutive distinct values.
     */
    template <typename Step>
    void
    walk_distribution_functions(std::vector<double> a, std::vector<double> b, const Step &step)
    {
      AssertThrow(!a.empty() && !b.empty(), ExcMessage("A two-sample distance needs two non-empty samples."));
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      std::size_t i = 0, j = 0;
      while (i < a.size() || j < b.size())
        {
          const double x = std::min(i < a.size() ? a[i] : HUGE_VAL, j < b.size() ? b[j] : HUGE_VAL);
          while (i < a.size() && a[i] == x)
            ++i;
          while (j < b.size() && b[j] == x)
            ++j;
          const double next = std::min(i < a.size() ? a[i] : HUGE_VAL, j < b.size() ? b[j] : HUGE_VAL);
          step(x, next == HUGE_VAL ? x : next, double(i) / a.size() - double(j) / b.size());
        }
    }


    /** The reference's order for split @p k: in order for k = 0, a random permutation otherwise. */
    std::vector<std::size_t>
    split_order(const std::size_t n, const unsigned int k, const std::uint64_t seed)
    {
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      if (k > 0)
        {
          std::mt19937_64 generator(seed + k);
          std::shuffle(order.begin(), order.end(), generator);
        }
      return order;
    }


    std::vector<double>
    gather(const std::vector<double> &values, const std::vector<std::size_t> &order, const std::size_t begin,
           const std::size_t end)
    {
      std::vector<double> result;
      for (std::size_t i = begin; i < end; ++i)
        result.push_back(values[order[i]]);
      return result;
    }


    /** Adds one split's distance pair and its ratios to the floor to @p row. */
    void
    add_split(QuantityComparisonRow &row, const double ks, const double w1, const double floor_ks,
              const double floor_w1, const bool first)
    {
      row.ks += ks;
      row.wasserstein += w1;
      const double r_ks = ks / std::max(floor_ks, 1e-300), r_w1 = w1 / std::max(floor_w1, 1e-300);
      const auto widen = [first](std::pair<double, double> &range, const double ratio) {
        range = first ? std::make_pair(ratio, ratio) :
                        std::make_pair(std::min(range.first, ratio), std::max(range.second, ratio));
      };
      widen(row.ks_ratio, r_ks);
      widen(row.wasserstein_ratio, r_w1);
    }
  } // namespace


  QuantitySummary
  summarize_quantity(std::vector<double> values)
  {
    AssertThrow(values.size() >= 2, ExcMessage("A quantity's summary needs at least two values."));
    std::sort(values.begin(), values.end());
    QuantitySummary s;
    s.n    = values.size();
    s.mean = std::accumulate(values.begin(), values.end(), 0.) / s.n;
    for (const double v : values)
      s.deviation += (v - s.mean) * (v - s.mean) / (s.n - 1);
    s.deviation = std::sqrt(s.deviation);
    s.q05       = quantile(values, 0.05);
    s.q50       = quantile(values, 0.5);
    s.q95       = quantile(values, 0.95);
    return s;
  }


  double
  ks_statistic(std::vector<double> a, std::vector<double> b)
  {
    double d = 0;
    walk_distribution_functions(std::move(a), std::move(b), [&d](double, double, const double difference) {
      d = std::max(d, std::abs(difference));
    });
    return d;
  }


  double
  wasserstein_distance(std::vector<double> a, std::vector<double> b)
  {
    double w = 0;
    walk_distribution_functions(std::move(a), std::move(b),
                                [&w](const double x, const double next, const double difference) {
                                  w += std::abs(difference) * (next - x);
                                });
    return w;
  }


  double
  ks_p_value(const double d, const std::size_t n, const std::size_t m)
  {
    const double root   = std::sqrt(double(n) * m / (n + m));
    const double lambda = (root + 0.12 + 0.11 / root) * d;
    if (lambda < 1e-3)
      return 1.;
    double sum = 0;
    if (lambda < 1.18) // the theta-function form converges fast for small lambda
      {
        for (int k = 1; k < 40; k += 2)
          sum += std::exp(-k * k * M_PI * M_PI / (8 * lambda * lambda));
        return std::clamp(1. - std::sqrt(2 * M_PI) / lambda * sum, 0., 1.);
      }
    for (int k = 1; k < 100; ++k)
      sum += (k % 2 == 1 ? 2. : -2.) * std::exp(-2. * k * k * lambda * lambda);
    return std::clamp(sum, 0., 1.);
  }


  QuantityComparison
  compare_quantity_distributions(const std::vector<double> &                                     reference,
                                 const std::vector<std::pair<std::string, std::vector<double>>> &candidates,
                                 const unsigned int                                              n_splits,
                                 const std::uint64_t                                             seed)
  {
    AssertThrow(reference.size() >= 4, ExcMessage("The reference of a quantity comparison needs at least 4 values."));
    AssertThrow(n_splits >= 1, ExcMessage("A quantity comparison needs at least one split."));
    QuantityComparison result;
    result.reference = summarize_quantity(reference);
    result.n_splits  = n_splits;
    const std::size_t n_a = reference.size() / 2;
    result.half_size      = n_a;
    result.rows.resize(1 + candidates.size());
    result.rows[0].name = "floor (test half A)";
    for (std::size_t c = 0; c < candidates.size(); ++c)
      {
        AssertThrow(candidates[c].second.size() >= 2,
                    ExcMessage("Quantity comparison: the set <" + candidates[c].first + "> has fewer than 2 values."));
        result.rows[1 + c].name    = candidates[c].first;
        result.rows[1 + c].summary = summarize_quantity(candidates[c].second);
        result.rows[1 + c].p_value = ks_p_value(ks_statistic(candidates[c].second, reference),
                                                candidates[c].second.size(), reference.size());
      }
    for (unsigned int k = 0; k < n_splits; ++k)
      {
        const std::vector<std::size_t> order  = split_order(reference.size(), k, seed);
        const std::vector<double>      half_a = gather(reference, order, 0, n_a);
        const std::vector<double>      half_b = gather(reference, order, n_a, reference.size());
        const double floor_ks = ks_statistic(half_a, half_b), floor_w1 = wasserstein_distance(half_a, half_b);
        if (k == 0)
          {
            result.rows[0].summary = summarize_quantity(half_a);
            result.rows[0].p_value = ks_p_value(floor_ks, half_a.size(), half_b.size());
          }
        add_split(result.rows[0], floor_ks, floor_w1, floor_ks, floor_w1, k == 0);
        for (std::size_t c = 0; c < candidates.size(); ++c)
          {
            const auto &              values = candidates[c].second;
            const std::vector<double> first(values.begin(), values.begin() + std::min(values.size(), n_a));
            add_split(result.rows[1 + c], ks_statistic(first, half_b), wasserstein_distance(first, half_b), floor_ks,
                      floor_w1, k == 0);
          }
      }
    for (auto &row : result.rows)
      {
        row.ks /= n_splits;
        row.wasserstein /= n_splits;
      }
    return result;
  }


  std::string
  QuantityComparison::table() const
  {
    std::ostringstream out;
    out << std::left << std::setw(26) << "set" << std::right << std::setw(6) << "n" << std::setw(12) << "mean"
        << std::setw(12) << "std" << std::setw(12) << "q05" << std::setw(12) << "q50" << std::setw(12) << "q95"
        << std::setw(10) << "KS" << std::setw(16) << "KS/floor" << std::setw(12) << "W1" << std::setw(16)
        << "W1/floor" << std::setw(11) << "p(KS)" << '\n';
    const auto range = [](const std::pair<double, double> &r) {
      std::ostringstream text;
      text << std::fixed << std::setprecision(2) << r.first << '-' << r.second;
      return text.str();
    };
    const auto line = [&](const std::string &name, const QuantitySummary &s, const QuantityComparisonRow *row) {
      out << std::left << std::setw(26) << name << std::right << std::setw(6) << s.n << std::setprecision(5)
          << std::setw(12) << s.mean << std::setw(12) << s.deviation << std::setw(12) << s.q05 << std::setw(12)
          << s.q50 << std::setw(12) << s.q95;
      if (row)
        out << std::setw(10) << std::setprecision(3) << row->ks << std::setw(16) << range(row->ks_ratio)
            << std::setw(12) << std::setprecision(4) << row->wasserstein << std::setw(16)
            << range(row->wasserstein_ratio) << std::setw(11) << std::setprecision(3) << row->p_value;
      out << '\n';
    };
    line("reference (all)", reference, nullptr);
    for (const auto &row : rows)
      line(row.name, row.summary, &row);
    return out.str();
  }
} // namespace ddo
