#include <deal.II/grid/grid_tools.h>

#include <ddo/base/hashing.h>
#include <ddo/metrics/sample_metrics.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ddo
{
  void
  MetricSettings::fit_density_grid(const std::vector<double> &values, const double relative_bandwidth)
  {
    AssertThrow(!values.empty(), ExcMessage("fit_density_grid: no values."));
    const auto   range = std::minmax_element(values.begin(), values.end());
    double       mean = 0, second = 0;
    for (const double v : values)
      mean += v;
    mean /= values.size();
    for (const double v : values)
      second += (v - mean) * (v - mean);
    const double deviation = std::sqrt(second / values.size());
    bandwidth              = std::max(relative_bandwidth * deviation, 1e-12);
    density_min            = *range.first - 4 * bandwidth;
    density_max            = *range.second + 4 * bandwidth;
  }


  template <int dim>
  SampleMetrics<dim>::SampleMetrics(const FunctionSpace<dim> &space, const SpectralBasis<dim> &basis,
                                    const MetricSettings &settings)
    : space(space)
    , basis(basis)
    , settings(settings)
  {
    AssertThrow(!space.is_distributed(), ExcMessage("SampleMetrics works on serial (replicated) meshes."));
    AssertThrow(settings.density_points >= 2 && settings.density_max > settings.density_min &&
                  settings.bandwidth > 0,
                ExcMessage("SampleMetrics: need at least 2 density points on a non-empty range and a positive "
                           "bandwidth."));
    AssertThrow(settings.n_bands >= 1 && settings.n_bands <= basis.n_modes(),
                ExcMessage("SampleMetrics: need between 1 and " + std::to_string(basis.n_modes()) +
                           " (the number of modes) eigenvalue bands."));

    // Point pairs at each distance: first points uniform in the bounding box
    // and inside the mesh, second points at the distance in a random
    // direction, also inside (rejection; deterministic from the seed).
    const auto                   box  = GridTools::compute_bounding_box(space.get_triangulation());
    std::uint64_t                draw = hashing::mix(settings.seed);
    auto                         uniform = [&draw]() {
      draw = hashing::mix(draw);
      return hashing::to_unit_interval(draw);
    };
    const auto                   &support = space.locally_owned_support_points();
    for (const double distance : settings.correlation_distances)
      {
        AssertThrow(distance > 0, ExcMessage("SampleMetrics: correlation distances must be positive."));
        std::vector<Point<dim>> first, second;
        for (unsigned int attempt = 0; first.size() < settings.n_pairs && attempt < 50 * settings.n_pairs;
             ++attempt)
          {
            // Start at a support point (surely inside), shifted a little.
            const Point<dim> &base = support[std::min<std::size_t>(support.size() - 1, uniform() * support.size())];
            Point<dim>        direction;
            double            norm = 0;
            do
              {
                for (unsigned int d = 0; d < dim; ++d)
                  direction[d] = 2 * uniform() - 1;
                norm = direction.norm();
              }
            while (norm > 1 || norm < 1e-3);
            const Point<dim> other = base + (distance / norm) * direction;
            bool             inside = true;
            for (unsigned int d = 0; d < dim; ++d)
              inside = inside && other[d] >= box.lower_bound(d) && other[d] <= box.upper_bound(d);
            if (!inside)
              continue;
            first.push_back(base);
            second.push_back(other);
          }
        unsigned int outside = 0;
        const auto   rows_a  = point_evaluation_rows(space, first);
        const auto   rows_b  = point_evaluation_rows(space, second, &outside);
        std::vector<std::pair<std::vector<std::pair<unsigned int, double>>, std::vector<std::pair<unsigned int, double>>>>
          list;
        for (unsigned int j = 0; j < first.size(); ++j)
          list.emplace_back(rows_a[j], rows_b[j]);
        pairs.push_back(list);
      }
  }


  template <int dim>
  std::vector<double>
  SampleMetrics<dim>::density_grid() const
  {
    std::vector<double> grid(settings.density_points);
    for (unsigned int g = 0; g < grid.size(); ++g)
      grid[g] = settings.density_min + (settings.density_max - settings.density_min) * g / (grid.size() - 1.);
    return grid;
  }


  template <int dim>
  const MetricSettings &
  SampleMetrics<dim>::get_settings() const
  {
    return settings;
  }


  template <int dim>
  SampleStatistics
  SampleMetrics<dim>::compute(const std::vector<double> &values, const unsigned int n_samples) const
  {
    const std::size_t n = space.n_dofs();
    AssertThrow(n_samples > 0 && values.size() == n * n_samples,
                ExcMessage("SampleMetrics: need n_samples full coefficient vectors of the space."));
    SampleStatistics result;
    result.n_samples = n_samples;
    add_pointwise_distribution(values, n_samples, result);
    add_mean_and_variance(values, n_samples, result);
    add_band_energy(values, n_samples, result);
    add_correlations(values, n_samples, result);
    return result;
  }


  template <int dim>
  void
  SampleMetrics<dim>::add_pointwise_distribution(const std::vector<double> &values,
                                                 const unsigned int         n_samples,
                                                 SampleStatistics &         result) const
  {
    const std::size_t n      = space.n_dofs();
    const auto &      w      = space.quadrature_weights();
    const double      volume = space.volume();

    // Pointwise density: every nodal value weighted by its share w_i/|Omega|
    // of the domain, through a fine histogram and then the Gaussian kernel
    // (exact up to the bin width, bandwidth/20).
    const double       bin_width = settings.bandwidth / 20;
    const double       low       = settings.density_min - 6 * settings.bandwidth;
    const std::size_t  n_bins    = std::ceil((settings.density_max - low + 6 * settings.bandwidth) / bin_width) + 1;
    std::vector<double> histogram(n_bins, 0.);
    double              m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t i = 0; i < n; ++i)
        {
          const double u      = values[s * n + i];
          const double weight = w[i] / (volume * n_samples);
          const long   bin    = std::lround((u - low) / bin_width);
          if (bin >= 0 && bin < static_cast<long>(n_bins))
            histogram[bin] += weight;
          m1 += weight * u;
        }
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t i = 0; i < n; ++i)
        {
          const double d      = values[s * n + i] - m1;
          const double weight = w[i] / (volume * n_samples);
          m2 += weight * d * d;
          m3 += weight * d * d * d;
          m4 += weight * d * d * d * d;
        }
    result.skewness        = m3 / std::pow(m2, 1.5);
    result.excess_kurtosis = m4 / (m2 * m2) - 3;
    const auto grid        = density_grid();
    result.density.assign(grid.size(), 0.);
    const double norm = 1. / (std::sqrt(2 * M_PI) * settings.bandwidth);
    for (unsigned int g = 0; g < grid.size(); ++g)
      for (std::size_t b = 0; b < n_bins; ++b)
        if (histogram[b] != 0.)
          {
            const double z = (grid[g] - (low + b * bin_width)) / settings.bandwidth;
            if (std::abs(z) < 8)
              result.density[g] += histogram[b] * norm * std::exp(-0.5 * z * z);
          }
  }


  template <int dim>
  void
  SampleMetrics<dim>::add_mean_and_variance(const std::vector<double> &values,
                                            const unsigned int         n_samples,
                                            SampleStatistics &         result) const
  {
    const std::size_t n = space.n_dofs();
    result.mean         = space.create_vector();
    result.variance     = space.create_vector();
    for (std::size_t i = 0; i < n; ++i)
      {
        double sum = 0, sum2 = 0;
        for (unsigned int s = 0; s < n_samples; ++s)
          {
            sum += values[s * n + i];
            sum2 += values[s * n + i] * values[s * n + i];
          }
        const double mean = sum / n_samples;
        result.mean[i]     = mean;
        result.variance[i] = std::max(0., sum2 / n_samples - mean * mean);
      }
  }


  template <int dim>
  void
  SampleMetrics<dim>::add_band_energy(const std::vector<double> &values,
                                      const unsigned int         n_samples,
                                      SampleStatistics &         result) const
  {
    // Energy per band of eigenvalues: bands of equal width in sqrt(lambda),
    // the analogue of the radial wavenumber of a Fourier spectrum.
    const std::size_t  n      = space.n_dofs();
    const auto &       lambda = basis.eigenvalues();
    const double       omega_max = std::sqrt(std::max(0., lambda.back()));
    std::vector<double> energy(settings.n_bands, 0.);
    result.band_limits.resize(settings.n_bands);
    for (unsigned int b = 0; b < settings.n_bands; ++b)
      result.band_limits[b] = {std::pow(omega_max * b / settings.n_bands, 2),
                               std::pow(omega_max * (b + 1) / settings.n_bands, 2)};
    VectorType u = space.create_vector();
    for (unsigned int s = 0; s < n_samples; ++s)
      {
        for (std::size_t i = 0; i < n; ++i)
          u[i] = values[s * n + i];
        const Vector<double> coefficients = basis.project(u);
        for (unsigned int k = 0; k < coefficients.size(); ++k)
          {
            const double       omega = std::sqrt(std::max(0., lambda[k]));
            const unsigned int band =
              std::min<unsigned int>(settings.n_bands - 1, omega / omega_max * settings.n_bands);
            energy[band] += coefficients[k] * coefficients[k] / n_samples;
          }
      }
    result.band_energy = energy;
  }


  template <int dim>
  void
  SampleMetrics<dim>::add_correlations(const std::vector<double> &values,
                                       const unsigned int         n_samples,
                                       SampleStatistics &         result) const
  {
    // Two-point correlation over the point pairs of each distance.
    const std::size_t n = space.n_dofs();
    for (const auto &list : pairs)
      {
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        std::size_t count = 0;
        for (const auto &pair : list)
          for (unsigned int s = 0; s < n_samples; ++s)
            {
              double a = 0, b = 0;
              for (const auto &e : pair.first)
                a += e.second * values[s * n + e.first];
              for (const auto &e : pair.second)
                b += e.second * values[s * n + e.first];
              sa += a;
              sb += b;
              saa += a * a;
              sbb += b * b;
              sab += a * b;
              ++count;
            }
        if (count == 0)
          {
            result.correlation.push_back(std::nan(""));
            continue;
          }
        const double ma = sa / count, mb = sb / count;
        const double covariance = sab / count - ma * mb;
        const double va = saa / count - ma * ma, vb = sbb / count - mb * mb;
        result.correlation.push_back(covariance / std::sqrt(std::max(va * vb, 1e-300)));
      }
  }


  template <int dim>
  MetricComparison
  SampleMetrics<dim>::compare(const SampleStatistics &a, const SampleStatistics &b) const
  {
    AssertThrow(a.density.size() == b.density.size() && a.band_energy.size() == b.band_energy.size() &&
                  a.correlation.size() == b.correlation.size() && a.mean.size() == b.mean.size(),
                ExcMessage("SampleMetrics::compare: statistics of different settings or meshes."));
    MetricComparison result;
    for (unsigned int g = 0; g < a.density.size(); ++g)
      result.density_mse += std::pow(a.density[g] - b.density[g], 2) / a.density.size();
    // Energies below 1e-6 of the reference's total count as that floor: a
    // band the reference leaves (nearly) empty, e.g. the constants of
    // zero-mean fields, must not turn round-off or interpolation errors of
    // no physical weight into a huge log difference.
    const double total = std::accumulate(b.band_energy.begin(), b.band_energy.end(), 0.);
    const double floor = std::max(1e-6 * total, 1e-300);
    for (unsigned int k = 0; k < a.band_energy.size(); ++k)
      result.spectrum_mse +=
        std::pow(std::log10(std::max(a.band_energy[k], floor)) - std::log10(std::max(b.band_energy[k], floor)), 2) /
        a.band_energy.size();
    VectorType difference = a.mean;
    difference -= b.mean;
    result.mean_error = std::sqrt(space.l2_inner_product(difference, difference) / space.volume());
    difference        = a.variance;
    difference -= b.variance;
    result.variance_error = std::sqrt(space.l2_inner_product(difference, difference) /
                                      std::max(space.l2_inner_product(b.variance, b.variance), 1e-300));
    for (unsigned int d = 0; d < a.correlation.size(); ++d)
      result.correlation_error = std::max(result.correlation_error, std::abs(a.correlation[d] - b.correlation[d]));
    return result;
  }


  template class SampleMetrics<2>;
  template class SampleMetrics<3>;
} // namespace ddo
