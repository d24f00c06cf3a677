#ifndef ddo_metrics_report_h
#define ddo_metrics_report_h

/**
 * @file
 * Judging a set of generated functions against a reference set (test data)
 * with the statistics of SampleMetrics, together with the two yardsticks
 * that make the numbers meaningful:
 *
 * - the **floor**: the reference split into halves A and B, A against B —
 *   the distance two independent draws of the true distribution of this size
 *   have (sampling noise of the metrics themselves);
 * - a **Gaussian baseline**: functions drawn from the Gaussian with the mean
 *   and covariance of half A (exactly, as mean + (X_A - mean)^T a/√(n-1)
 *   with standard normal a), i.e. what a perfect Gaussian model would score.
 *   Its energies per band over the whole spectrum (SpectralBands) are
 *   their expectation, exactly (a band energy is a quadratic form):
 *   \f$E_b(\bar u) + (\sum_i E_b(u_i) - n E_b(\bar u))/(n-1)\f$ over
 *   half A, so that on large meshes every reference function's band
 *   energies are computed once and each split adds one function, its mean.
 *
 * Every candidate set is truncated to the size of half A and compared with
 * half B, so all rows have the same number of functions on both sides.
 *
 * With 100 functions per half the floor is itself a noisy number (a
 * factor ~2 between draws), so ratios to it are noisy too. With
 * `n_splits` > 1 the reference is split into halves A and B that many
 * times (split 0 in file order, the others random permutations), every
 * row is compared with every half B, and the report gives the mean of each
 * distance over the splits and, for the ratios to the floor, their range
 * over the splits.
 *
 * @ingroup metrics
 */

#include <ddo/metrics/sample_metrics.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddo
{
  /** One compared set: its statistics and its distance from half B. */
  struct MetricsReportRow
  {
    std::string      name;
    unsigned int     n_samples = 0;
    SampleStatistics statistics;
    /** Mean over the splits of the distance from half B. */
    MetricComparison distance;
    /** The distance for every split (one entry without splits). */
    std::vector<MetricComparison> split_distances;
  };

  /** The result of compare_with_reference(). */
  struct MetricsReport
  {
    /** The settings used (density grid fitted to half B). */
    MetricSettings settings;
    /** The density grid. */
    std::vector<double> density_grid;
    /** The grid of the |∇u| density. */
    std::vector<double> gradient_grid;
    /** Edges in \f$\sqrt\lambda\f$ of the bands over the whole spectrum (empty without them). */
    std::vector<double> band_edges;
    /** Statistics of the reference half B (of split 0). */
    SampleStatistics reference;
    /** Number of A/B splits of the reference the distances are averaged over. */
    unsigned int n_splits = 1;
    /** Rows: "floor (test half A)", the candidates, "Gaussian baseline". */
    std::vector<MetricsReportRow> rows;

    /** The row named @p name (throws if there is none). */
    const MetricsReportRow &
    row(const std::string &name) const;

    /**
     * A Markdown table: density MSE, spectrum MSE, mean, variance and
     * correlation errors, skewness and excess kurtosis, and each row's
     * density and spectrum MSE relative to the floor (means over the splits
     * divided; with several splits followed by the range of the per-split
     * ratios).
     */
    std::string
    table() const;

    /**
     * A Markdown table of the energy per band over the whole spectrum of
     * the mesh, each row over the reference (means over the splits), with
     * the reference's energies and the band edges; empty without bands.
     */
    std::string
    band_table() const;

    /**
     * The same numbers as `key = value` lines (for scripts); with several
     * splits also the range of each row's per-split band ratios,
     * `<row>.band_ratio_low_<b>` and `<row>.band_ratio_high_<b>`.
     */
    std::string
    key_values() const;

    /**
     * Writes `density.dat` (grid, reference, rows), `spectrum.dat` (band,
     * band centre √λ, reference, rows), `correlation.dat`,
     * `gradient_density.dat` and (with bands) `bands.dat` (band, edges,
     * centre, reference, rows) into @p directory; returns the file names.
     */
    std::vector<std::string>
    write_data_files(const std::string &directory) const;
  };

  /**
   * Compares each of @p candidates (name, row-major coefficient vectors of
   * @p space) with the @p reference set (at least 4 functions), adding the
   * floor and (if @p gaussian_baseline) a Gaussian baseline drawn with
   * @p seed. @p settings gives the number of bands, the correlation
   * distances and the pairs; its density grid is refitted to half B with
   * the bandwidth @p relative_bandwidth times the pointwise standard
   * deviation (half B of split 0; the grid is the same for all splits).
   * @p n_splits: see the file description; the baseline of split k is
   * drawn from its half A with seed @p seed + k. @p bands (optional) adds
   * the energy per band over the whole spectrum of the mesh, computed once
   * per function of the reference and of each candidate. The grid of
   * the |∇u| density is fitted to half B of split 0 like the density's.
   */
  template <int dim>
  MetricsReport
  compare_with_reference(const FunctionSpace<dim> &                                      space,
                         const SpectralBasis<dim> &                                      basis,
                         MetricSettings                                                  settings,
                         const double                                                    relative_bandwidth,
                         const std::vector<std::pair<std::string, std::vector<double>>> &candidates,
                         const std::vector<double> &                                     reference,
                         const bool                                                      gaussian_baseline,
                         const unsigned int                                              seed,
                         const unsigned int                                              n_splits = 1,
                         const SpectralBands<dim> *                                      bands    = nullptr);
  /**
   * @p n_draws exact draws from the Gaussian with the mean and covariance of
   * the first @p n (at least 2) of @p functions (row-major, @p n_dofs
   * each): \f$\bar u + \sum_i a_i (u_i - \bar u)/\sqrt{n-1}\f$ with
   * standard normal \f$a_i\f$ from stream @p seed. The Gaussian baseline
   * of compare_with_reference() and of `ddo propagate`.
   */
  std::vector<double>
  gaussian_draws_like(const std::vector<double> &functions,
                      const std::size_t          n,
                      const std::size_t          n_dofs,
                      const std::size_t          n_draws,
                      const std::uint64_t        seed);
} // namespace ddo

#endif
