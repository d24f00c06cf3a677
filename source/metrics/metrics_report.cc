#include <deal.II/base/exceptions.h>

#include <ddo/base/hashing.h>
#include <ddo/base/random.h>
#include <ddo/metrics/metrics_report.h>

#include <boost/random/normal_distribution.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

namespace ddo
{
  namespace
  {
    /** The lowest and the highest per-split ratio of band @p b of @p row. */
    std::pair<double, double>
    band_ratio_range(const MetricsReportRow &row, const std::size_t b)
    {
      double low = std::numeric_limits<double>::max(), high = 0;
      for (const auto &split : row.split_distances)
        {
          low  = std::min(low, split.band_ratios[b]);
          high = std::max(high, split.band_ratios[b]);
        }
      return {low, high};
    }


    /** Standard normal number @p index of stream @p seed (Boost.Random's ziggurat). */
    double
    standard_normal(const std::uint64_t seed, const std::uint64_t index)
    {
      CounterEngine                              engine(hashing::combine(hashing::mix(seed), index));
      boost::random::normal_distribution<double> normal;
      return normal(engine);
    }


    /** The orders of the reference's functions in each A/B split (split 0: as given, the others random). */
    std::vector<std::vector<std::size_t>>
    split_orders(const std::size_t n_reference, const unsigned int n_splits, const unsigned int seed)
    {
      std::vector<std::vector<std::size_t>> orders(n_splits);
      for (unsigned int k = 0; k < n_splits; ++k)
        {
          orders[k].resize(n_reference);
          std::iota(orders[k].begin(), orders[k].end(), std::size_t(0));
          if (k > 0)
            {
              std::mt19937_64 generator(std::uint64_t(seed) * 1000003u + k);
              std::shuffle(orders[k].begin(), orders[k].end(), generator);
            }
        }
      return orders;
    }




    /**
     * The whole-spectrum band energies of a report's sets, each function
     * evaluated once (on large meshes every function costs a Chebyshev
     * series): every reference function's (a split's halves average them)
     * and each candidate's. The Gaussian baseline's are their expectation
     * given its half A: gaussian_like() draws v = m + sum_i a_i (u_i - m) /
     * sqrt(n - 1) with a_i standard normal, and a band energy is a quadratic
     * form E_b, so
     *   E[E_b(v)] = E_b(m) + (sum_i E_b(u_i) - n E_b(m)) / (n - 1),
     * one function (the mean m) per split instead of n. Without bands
     * (nullptr) every energy is empty.
     */
    template <int dim>
    class ReportBandEnergies
    {
    public:
      ReportBandEnergies(const SpectralBands<dim> *bands, const std::vector<double> &reference,
                         const std::size_t n_dofs)
        : bands(bands)
        , n_dofs(n_dofs)
      {
        if (bands != nullptr)
          reference_energies = bands->energies_of_each(reference, reference.size() / n_dofs);
      }

      /** The mean band energies of the reference functions order[first, first + count). */
      std::vector<double>
      mean_of(const std::vector<std::size_t> &order, const std::size_t first, const std::size_t count) const
      {
        if (bands == nullptr)
          return {};
        std::vector<double> mean(reference_energies.front().size(), 0.);
        for (std::size_t i = first; i < first + count; ++i)
          for (std::size_t b = 0; b < mean.size(); ++b)
            mean[b] += reference_energies[order[i]][b] / count;
        return mean;
      }

      /** The expected band energies of gaussian_like(half) for the @p count functions half = order[0, count). */
      std::vector<double>
      gaussian_expectation(const std::vector<double> &half, const std::vector<std::size_t> &order,
                           const std::size_t count) const
      {
        if (bands == nullptr)
          return {};
        std::vector<double> m(n_dofs, 0.);
        for (std::size_t i = 0; i < count; ++i)
          for (std::size_t d = 0; d < n_dofs; ++d)
            m[d] += half[i * n_dofs + d] / count;
        const std::vector<double> of_mean = bands->energies_of_each(m, 1).front();
        std::vector<double>       expected = mean_of(order, 0, count);
        const double              n        = count;
        for (std::size_t b = 0; b < expected.size(); ++b)
          expected[b] = of_mean[b] + (n * expected[b] - n * of_mean[b]) / std::max(n - 1, 1.);
        return expected;
      }

      /** The mean band energies of the first @p count functions of @p values. */
      std::vector<double>
      mean_of_set(const std::vector<double> &values, const std::size_t count) const
      {
        if (bands == nullptr)
          return {};
        return bands->mean_energies(std::vector<double>(values.begin(), values.begin() + count * n_dofs), count);
      }

    private:
      const SpectralBands<dim> *       bands;
      const std::size_t                n_dofs;
      std::vector<std::vector<double>> reference_energies;
    };


    /** The mean of the distances of every split. */
    MetricComparison
    mean_over_splits(const std::vector<MetricComparison> &splits)
    {
      MetricComparison mean;
      const double     n = splits.size();
      for (const auto &d : splits)
        {
          mean.density_mse += d.density_mse / n;
          mean.spectrum_mse += d.spectrum_mse / n;
          mean.mean_error += d.mean_error / n;
          mean.variance_error += d.variance_error / n;
          mean.correlation_error += d.correlation_error / n;
          mean.gradient_density_mse += d.gradient_density_mse / n;
          mean.band_ratios.resize(d.band_ratios.size(), 0.);
          for (std::size_t b = 0; b < d.band_ratios.size(); ++b)
            mean.band_ratios[b] += d.band_ratios[b] / n;
        }
      return mean;
    }


    /** The file @p name in @p directory, written atomically. */
    std::string
    write_file(const std::string &directory, const std::string &name, const std::string &content)
    {
      const std::string file = (std::filesystem::path(directory) / name).string();
      {
        std::ofstream out(file + ".tmp");
        AssertThrow(out, ExcMessage("Cannot write <" + file + ".tmp>."));
        out << content;
        AssertThrow(out, ExcMessage("Writing <" + file + ".tmp> failed."));
      }
      std::filesystem::rename(file + ".tmp", file);
      return file;
    }
  } // namespace


  const MetricsReportRow &
  MetricsReport::row(const std::string &name) const
  {
    for (const auto &r : rows)
      if (r.name == name)
        return r;
    AssertThrow(false, ExcMessage("The metrics report has no row <" + name + ">."));
    return rows.front();
  }


  std::string
  MetricsReport::table() const
  {
    const MetricComparison &floor = rows.front().distance;
    std::ostringstream      out;
    out << "| set | n | density MSE | spectrum MSE | density / floor | spectrum / floor | |∇u| density / floor | "
           "mean error | variance error | correlation error | skewness | excess kurtosis |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    out << std::setprecision(3);
    const auto &floor_splits = rows.front().split_distances;
    // "mean ratio (min-max over the splits)" with several splits.
    auto ratio = [&](const MetricsReportRow &row, double MetricComparison::*field) {
      std::ostringstream text;
      text << std::setprecision(3) << row.distance.*field / floor.*field;
      if (n_splits > 1 && row.split_distances.size() == floor_splits.size())
        {
          double low = std::numeric_limits<double>::max(), high = 0;
          for (std::size_t k = 0; k < floor_splits.size(); ++k)
            {
              const double r = row.split_distances[k].*field / floor_splits[k].*field;
              low            = std::min(low, r);
              high           = std::max(high, r);
            }
          text << " (" << low << "–" << high << ")";
        }
      return text.str();
    };
    auto line = [&](const std::string &name, const unsigned int n, const MetricsReportRow *row,
                    const SampleStatistics &s) {
      out << "| " << name << " | " << n << " | ";
      if (row != nullptr)
        {
          const MetricComparison *d = &row->distance;
          out << d->density_mse << " | " << d->spectrum_mse << " | "
              << ratio(*row, &MetricComparison::density_mse) << " | "
              << ratio(*row, &MetricComparison::spectrum_mse) << " | "
              << ratio(*row, &MetricComparison::gradient_density_mse) << " | " << d->mean_error << " | "
              << d->variance_error << " | " << d->correlation_error;
        }
      else
        out << "- | - | - | - | - | - | - | -";
      out << " | " << s.skewness << " | " << s.excess_kurtosis << " |\n";
    };
    line("reference (test half B)", reference.n_samples, nullptr, reference);
    for (const auto &r : rows)
      line(r.name, r.n_samples, &r, r.statistics);
    if (n_splits > 1)
      out << "\nDistances: means over " << n_splits
          << " A/B splits of the reference; ratios: mean distance / mean floor, in brackets "
             "the range of the per-split ratios. Statistics (n, skewness, kurtosis): split 0.\n";
    return out.str();
  }


  std::string
  MetricsReport::band_table() const
  {
    if (band_edges.empty())
      return "";
    std::ostringstream out;
    out << std::setprecision(3) << "| √λ band |";
    for (std::size_t b = 0; b + 1 < band_edges.size(); ++b)
      out << ' ' << band_edges[b] << "–" << band_edges[b + 1] << " |";
    out << "\n|---|";
    for (std::size_t b = 0; b + 1 < band_edges.size(); ++b)
      out << "---|";
    out << "\n| reference energy |";
    for (const double e : reference.spectrum_band_energy)
      out << ' ' << e << " |";
    out << '\n';
    for (const auto &r : rows)
      {
        out << "| " << r.name << " / reference |";
        for (std::size_t b = 0; b < r.distance.band_ratios.size(); ++b)
          {
            out << ' ' << r.distance.band_ratios[b];
            if (r.split_distances.size() > 1)
              {
                const auto [low, high] = band_ratio_range(r, b);
                out << " (" << low << "–" << high << ")";
              }
            out << " |";
          }
        out << '\n';
      }
    if (n_splits > 1)
      out << "\nRatios: means over the " << n_splits << " A/B splits, in brackets their range.\n";
    return out.str();
  }


  std::string
  MetricsReport::key_values() const
  {
    std::ostringstream out;
    out << std::setprecision(6);
    auto key = [](std::string name) {
      for (char &c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)))
          c = '_';
      return name;
    };
    out << "n_splits = " << n_splits << '\n'
        << "reference.n_samples = " << reference.n_samples << '\n'
        << "reference.skewness = " << reference.skewness << '\n'
        << "reference.excess_kurtosis = " << reference.excess_kurtosis << '\n';
    for (const auto &r : rows)
      {
        const std::string k = key(r.name);
        out << k << ".n_samples = " << r.n_samples << '\n'
            << k << ".density_mse = " << r.distance.density_mse << '\n'
            << k << ".spectrum_mse = " << r.distance.spectrum_mse << '\n'
            << k << ".mean_error = " << r.distance.mean_error << '\n'
            << k << ".variance_error = " << r.distance.variance_error << '\n'
            << k << ".correlation_error = " << r.distance.correlation_error << '\n'
            << k << ".gradient_density_mse = " << r.distance.gradient_density_mse << '\n'
            << k << ".skewness = " << r.statistics.skewness << '\n'
            << k << ".excess_kurtosis = " << r.statistics.excess_kurtosis << '\n';
        for (std::size_t b = 0; b < r.distance.band_ratios.size(); ++b)
          {
            out << k << ".band_ratio_" << b << " = " << r.distance.band_ratios[b] << '\n';
            if (r.split_distances.size() > 1)
              {
                const auto [low, high] = band_ratio_range(r, b);
                out << k << ".band_ratio_low_" << b << " = " << low << '\n'
                    << k << ".band_ratio_high_" << b << " = " << high << '\n';
              }
          }
      }
    return out.str();
  }


  std::vector<std::string>
  MetricsReport::write_data_files(const std::string &directory) const
  {
    std::filesystem::create_directories(directory);
    std::vector<std::string> files;
    std::ostringstream       header;
    header << " reference";
    for (const auto &r : rows)
      header << " \"" << r.name << '"';
    header << '\n';

    std::ostringstream density;
    density << std::setprecision(8) << "# value" << header.str();
    for (std::size_t i = 0; i < density_grid.size(); ++i)
      {
        density << density_grid[i] << ' ' << reference.density[i];
        for (const auto &r : rows)
          density << ' ' << r.statistics.density[i];
        density << '\n';
      }
    files.push_back(write_file(directory, "density.dat", density.str()));

    std::ostringstream spectrum;
    spectrum << std::setprecision(8) << "# band sqrt_lambda_centre" << header.str();
    for (std::size_t b = 0; b < reference.band_energy.size(); ++b)
      {
        const auto &limits = reference.band_limits[b];
        spectrum << b << ' ' << 0.5 * (std::sqrt(std::max(limits.first, 0.)) + std::sqrt(limits.second)) << ' '
                 << reference.band_energy[b];
        for (const auto &r : rows)
          spectrum << ' ' << r.statistics.band_energy[b];
        spectrum << '\n';
      }
    files.push_back(write_file(directory, "spectrum.dat", spectrum.str()));

    std::ostringstream correlation;
    correlation << std::setprecision(8) << "# distance" << header.str();
    for (std::size_t d = 0; d < settings.correlation_distances.size(); ++d)
      {
        correlation << settings.correlation_distances[d] << ' ' << reference.correlation[d];
        for (const auto &r : rows)
          correlation << ' ' << r.statistics.correlation[d];
        correlation << '\n';
      }
    files.push_back(write_file(directory, "correlation.dat", correlation.str()));

    std::ostringstream gradient;
    gradient << std::setprecision(8) << "# |grad u|" << header.str();
    for (std::size_t i = 0; i < gradient_grid.size(); ++i)
      {
        gradient << gradient_grid[i] << ' ' << reference.gradient_density[i];
        for (const auto &r : rows)
          gradient << ' ' << r.statistics.gradient_density[i];
        gradient << '\n';
      }
    files.push_back(write_file(directory, "gradient_density.dat", gradient.str()));

    if (!band_edges.empty())
      {
        std::ostringstream bands;
        bands << std::setprecision(8) << "# band lower_sqrt_lambda upper_sqrt_lambda centre" << header.str();
        for (std::size_t b = 0; b + 1 < band_edges.size(); ++b)
          {
            bands << b << ' ' << band_edges[b] << ' ' << band_edges[b + 1] << ' '
                  << std::sqrt(band_edges[b] * band_edges[b + 1]) << ' ' << reference.spectrum_band_energy[b];
            for (const auto &r : rows)
              bands << ' ' << r.statistics.spectrum_band_energy[b];
            bands << '\n';
          }
        files.push_back(write_file(directory, "bands.dat", bands.str()));
      }
    return files;
  }


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
                         const unsigned int                                              n_splits,
                         const SpectralBands<dim> *                                      bands)
  {
    const std::size_t n_dofs = space.n_dofs();
    AssertThrow(reference.size() % n_dofs == 0 && reference.size() / n_dofs >= 4,
                ExcMessage("compare_with_reference: the reference needs at least 4 functions of " +
                           std::to_string(n_dofs) + " coefficients."));
    AssertThrow(n_splits >= 1, ExcMessage("compare_with_reference: n_splits must be at least 1."));
    const std::size_t n_reference = reference.size() / n_dofs;
    const std::size_t n_a         = n_reference / 2, n_b = n_reference - n_a;
    for (const auto &candidate : candidates)
      AssertThrow(candidate.second.size() % n_dofs == 0 && candidate.second.size() >= n_dofs,
                  ExcMessage("compare_with_reference: the set <" + candidate.first +
                             "> is not a whole number (≥ 1) of functions of " +
                             std::to_string(n_dofs) + " coefficients."));

    const std::vector<std::vector<std::size_t>> orders = split_orders(n_reference, n_splits, seed);
    const auto gather = [&](const std::vector<std::size_t> &order, const std::size_t first,
                            const std::size_t count) {
      std::vector<double> out(count * n_dofs);
      for (std::size_t i = 0; i < count; ++i)
        std::copy(reference.begin() + order[first + i] * n_dofs,
                  reference.begin() + (order[first + i] + 1) * n_dofs, out.begin() + i * n_dofs);
      return out;
    };

    MetricsReport report;
    report.n_splits = n_splits;
    settings.fit_density_grid(gather(orders[0], n_a, n_b), relative_bandwidth);
    report.settings = settings;
    SampleMetrics<dim> metrics(space, basis, settings);
    metrics.fit_gradient_grid(gather(orders[0], n_a, n_b), n_b, relative_bandwidth);
    report.settings      = metrics.get_settings();
    report.density_grid  = metrics.density_grid();
    report.gradient_grid = metrics.gradient_grid();
    if (bands != nullptr)
      report.band_edges = bands->edges();

    // Rows: the floor, the candidates, the baseline; their statistics are
    // those of split 0 (only the floor's and the baseline's depend on it).
    std::vector<std::string> names{"floor (test half A)"};
    for (const auto &candidate : candidates)
      names.push_back(candidate.first);
    if (gaussian_baseline)
      names.push_back("Gaussian baseline");
    report.rows.resize(names.size());
    for (std::size_t r = 0; r < names.size(); ++r)
      report.rows[r].name = names[r];

    const ReportBandEnergies<dim> band_energies(bands, reference, n_dofs);

    // Statistics of a set, truncated to the size of half A; @p spectrum:
    // its whole-spectrum band energies (computed apart, see above).
    const auto statistics_of = [&](const std::vector<double> &values, std::vector<double> spectrum) {
      const std::size_t         n = std::min(values.size() / n_dofs, n_a);
      const std::vector<double> used(values.begin(), values.begin() + n * n_dofs);
      SampleStatistics          statistics = metrics.compute(used, n);
      statistics.spectrum_band_energy      = std::move(spectrum);
      return statistics;
    };
    for (std::size_t c = 0; c < candidates.size(); ++c)
      {
        const auto &values = candidates[c].second;
        report.rows[1 + c].statistics =
          statistics_of(values, band_energies.mean_of_set(values, std::min(values.size() / n_dofs, n_a)));
        report.rows[1 + c].n_samples = report.rows[1 + c].statistics.n_samples;
      }

    for (unsigned int k = 0; k < n_splits; ++k)
      {
        const std::vector<double> half_a = gather(orders[k], 0, n_a);
        SampleStatistics          half_b = metrics.compute(gather(orders[k], n_a, n_b), n_b);
        half_b.spectrum_band_energy      = band_energies.mean_of(orders[k], n_a, n_b);
        if (k == 0)
          report.reference = half_b;
        // The floor and the baseline depend on the split; the candidates'
        // statistics were computed once, above.
        auto add_split = [&](MetricsReportRow &row, const std::vector<double> &values, std::vector<double> spectrum) {
          const SampleStatistics statistics = statistics_of(values, std::move(spectrum));
          row.split_distances.push_back(metrics.compare(statistics, half_b));
          if (k == 0)
            {
              row.n_samples  = statistics.n_samples;
              row.statistics = statistics;
            }
        };
        add_split(report.rows.front(), half_a, band_energies.mean_of(orders[k], 0, n_a));
        for (std::size_t c = 0; c < candidates.size(); ++c)
          report.rows[1 + c].split_distances.push_back(
            metrics.compare(report.rows[1 + c].statistics, half_b));
        if (gaussian_baseline)
          add_split(report.rows.back(), gaussian_draws_like(half_a, n_a, n_dofs, n_a, seed + k),
                    band_energies.gaussian_expectation(half_a, orders[k], n_a));
      }

    for (auto &row : report.rows)
      row.distance = mean_over_splits(row.split_distances);
    return report;
  }


  std::vector<double>
  gaussian_draws_like(const std::vector<double> &functions,
                      const std::size_t          n,
                      const std::size_t          n_dofs,
                      const std::size_t          n_draws,
                      const std::uint64_t        seed)
  {
    AssertThrow(n >= 2 && functions.size() >= n * n_dofs,
                ExcMessage("A Gaussian like a set of functions needs at least two of them."));
    std::vector<double> mean(n_dofs, 0.);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t d = 0; d < n_dofs; ++d)
        mean[d] += functions[i * n_dofs + d] / n;
    std::vector<double> gaussian(n_draws * n_dofs);
    const double        factor = 1. / std::sqrt(double(n - 1));
    for (std::size_t j = 0; j < n_draws; ++j)
      {
        double *out = gaussian.data() + j * n_dofs;
        std::copy(mean.begin(), mean.end(), out);
        for (std::size_t i = 0; i < n; ++i)
          {
            const double a = factor * standard_normal(seed, j * n + i);
            for (std::size_t d = 0; d < n_dofs; ++d)
              out[d] += a * (functions[i * n_dofs + d] - mean[d]);
          }
      }
    return gaussian;
  }


  template MetricsReport
  compare_with_reference<2>(const FunctionSpace<2> &, const SpectralBasis<2> &, MetricSettings, const double,
                            const std::vector<std::pair<std::string, std::vector<double>>> &,
                            const std::vector<double> &, const bool, const unsigned int,
                            const unsigned int, const SpectralBands<2> *);
  template MetricsReport
  compare_with_reference<3>(const FunctionSpace<3> &, const SpectralBasis<3> &, MetricSettings, const double,
                            const std::vector<std::pair<std::string, std::vector<double>>> &,
                            const std::vector<double> &, const bool, const unsigned int,
                            const unsigned int, const SpectralBands<3> *);
} // namespace ddo
