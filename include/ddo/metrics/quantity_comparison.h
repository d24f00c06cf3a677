#ifndef ddo_metrics_quantity_comparison_h
#define ddo_metrics_quantity_comparison_h

/**
 * @file
 * Distributions of a scalar quantity of interest compared with a
 * reference (forward uncertainty propagation, `ddo propagate`): summary
 * statistics, two-sample distances and the floor that makes them
 * meaningful, as ddo::compare_with_reference does for fields.
 *
 * - Distances: the Kolmogorov–Smirnov statistic \f$\sup|F_a - F_b|\f$ and
 *   the Wasserstein-1 distance \f$\int|F_a - F_b|\,dx\f$ of the empirical
 *   distribution functions (in the quantity's units).
 * - The **floor**: the reference split into halves A and B, A against B;
 *   every candidate (its first |A| values) is compared with B, so all rows
 *   compare sets of the same sizes. Averaged over `n_splits` splits (split 0
 *   in order, the others random permutations).
 * - The p-value of the whole candidate set against the whole reference
 *   under the two-sample KS test, from Kolmogorov's asymptotic law with
 *   Stephens' small-sample correction (Boost 1.74, Debian's, has no
 *   Kolmogorov–Smirnov distribution; it came in 1.75).
 *
 * @ingroup metrics
 */

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ddo
{
  /** Summary statistics of one set of values. */
  struct QuantitySummary
  {
    std::size_t n = 0;
    double      mean = 0, deviation = 0;
    /** 5%, 50% and 95% empirical quantiles. */
    double q05 = 0, q50 = 0, q95 = 0;
  };

  /** One compared set. */
  struct QuantityComparisonRow
  {
    std::string     name;
    QuantitySummary summary;
    /** Means over the splits of the distances from half B. */
    double ks = 0, wasserstein = 0;
    /** Range over the splits of ks and wasserstein divided by the split's floor. */
    std::pair<double, double> ks_ratio{0, 0}, wasserstein_ratio{0, 0};
    /** The two-sample KS p-value of the whole set against the whole reference (the floor: of A against B of split 0). */
    double p_value = 1;
  };

  /** The result of compare_quantity_distributions(): the floor first, then the candidates. */
  struct QuantityComparison
  {
    QuantitySummary                    reference;
    std::vector<QuantityComparisonRow> rows;
    unsigned int                       n_splits = 1;
    std::size_t                        half_size = 0;

    /** The table: one line per row (n, mean, std, quantiles, KS, W1, ratios to the floor, p-value). */
    std::string
    table() const;
  };

  /** Summary statistics of @p values (at least two). */
  QuantitySummary
  summarize_quantity(std::vector<double> values);

  /** The Kolmogorov–Smirnov statistic of two samples (non-empty). */
  double
  ks_statistic(std::vector<double> a, std::vector<double> b);

  /** The Wasserstein-1 distance of the empirical distributions of two samples (non-empty). */
  double
  wasserstein_distance(std::vector<double> a, std::vector<double> b);

  /** The asymptotic p-value of KS statistic @p d between samples of sizes @p n and @p m. */
  double
  ks_p_value(const double d, const std::size_t n, const std::size_t m);

  /**
   * Compares each of @p candidates (name, values) with @p reference (at
   * least 4 values) as the file documentation describes.
   */
  QuantityComparison
  compare_quantity_distributions(const std::vector<double> &                                     reference,
                                 const std::vector<std::pair<std::string, std::vector<double>>> &candidates,
                                 const unsigned int                                              n_splits,
                                 const std::uint64_t                                             seed);
} // namespace ddo

#endif
