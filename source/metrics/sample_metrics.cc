#include <deal.II/fe/fe_values.h>
#include <deal.II/grid/grid_tools.h>

#include <ddo/base/hashing.h>
#include <ddo/metrics/sample_metrics.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ddo
{
  namespace
  {
    /**
     * Gaussian kernel density on @p grid of @p values with @p weights
     * (summing to one): through a fine histogram (bin width bandwidth/20),
     * exact up to the bin width.
     */
    std::vector<double>
    kernel_density(const std::vector<double> &values, const std::vector<double> &weights,
                   const std::vector<double> &grid, const double bandwidth)
    {
      const double        bin_width = bandwidth / 20;
      const double        low       = grid.front() - 6 * bandwidth;
      const std::size_t   n_bins    = std::ceil((grid.back() - low + 6 * bandwidth) / bin_width) + 1;
      std::vector<double> histogram(n_bins, 0.);
      for (std::size_t i = 0; i < values.size(); ++i)
        {
          const long bin = std::lround((values[i] - low) / bin_width);
          if (bin >= 0 && bin < static_cast<long>(n_bins))
            histogram[bin] += weights[i];
        }
      std::vector<double> density(grid.size(), 0.);
      const double        norm = 1. / (std::sqrt(2 * M_PI) * bandwidth);
      for (unsigned int g = 0; g < grid.size(); ++g)
        for (std::size_t b = 0; b < n_bins; ++b)
          if (histogram[b] != 0.)
            {
              const double z = (grid[g] - (low + b * bin_width)) / bandwidth;
              if (std::abs(z) < 8)
                density[g] += histogram[b] * norm * std::exp(-0.5 * z * z);
            }
      return density;
    }
  } // namespace


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
                                    const MetricSettings &settings, const SpectralBands<dim> *bands)
    : space(space)
    , basis(basis)
    , settings(settings)
    , bands(bands)
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

    // Shape gradients at the quadrature points, for the |grad u| density.
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_gradients | update_JxW_values);
    dofs_per_point = space.get_fe().n_dofs_per_cell();
    std::vector<types::global_dof_index> cell_dofs(dofs_per_point);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        cell->get_dof_indices(cell_dofs);
        for (const unsigned int q : fe_values.quadrature_point_indices())
          {
            gradient_weights.push_back(fe_values.JxW(q) / space.volume());
            for (unsigned int i = 0; i < dofs_per_point; ++i)
              {
                gradient_dofs.push_back(cell_dofs[i]);
                shape_gradients.push_back(fe_values.shape_grad(i, q));
              }
          }
      }
  }


  template <int dim>
  std::pair<std::vector<double>, std::vector<double>>
  SampleMetrics<dim>::gradient_norms(const std::vector<double> &values, const unsigned int n_samples) const
  {
    const std::size_t   n = space.n_dofs(), n_points = gradient_weights.size();
    std::vector<double> norms(n_samples * n_points), weights(n_samples * n_points);
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t q = 0; q < n_points; ++q)
        {
          Tensor<1, dim> gradient;
          for (unsigned int i = 0; i < dofs_per_point; ++i)
            gradient += values[s * n + gradient_dofs[q * dofs_per_point + i]] * shape_gradients[q * dofs_per_point + i];
          norms[s * n_points + q]   = gradient.norm();
          weights[s * n_points + q] = gradient_weights[q] / n_samples;
        }
    return {norms, weights};
  }


  template <int dim>
  void
  SampleMetrics<dim>::fit_gradient_grid(const std::vector<double> &values, const unsigned int n_samples,
                                        const double relative_bandwidth)
  {
    AssertThrow(n_samples > 0 && values.size() == n_samples * space.n_dofs(),
                ExcMessage("fit_gradient_grid: need n_samples full coefficient vectors of the space."));
    const auto norms = gradient_norms(values, n_samples);
    double     mean = 0, second = 0, largest = 0;
    for (std::size_t i = 0; i < norms.first.size(); ++i)
      {
        mean += norms.second[i] * norms.first[i];
        second += norms.second[i] * norms.first[i] * norms.first[i];
        largest = std::max(largest, norms.first[i]);
      }
    settings.gradient_bandwidth = std::max(relative_bandwidth * std::sqrt(std::max(second - mean * mean, 0.)), 1e-12);
    settings.gradient_max       = largest + 4 * settings.gradient_bandwidth;
  }


  template <int dim>
  std::vector<double>
  SampleMetrics<dim>::gradient_grid() const
  {
    std::vector<double> grid(settings.density_points);
    for (unsigned int g = 0; g < grid.size(); ++g)
      grid[g] = settings.gradient_max * g / (grid.size() - 1.);
    return grid;
  }


  template <int dim>
  void
  SampleMetrics<dim>::add_gradient_density(const std::vector<double> &values, const unsigned int n_samples,
                                           SampleStatistics &result) const
  {
    const auto norms        = gradient_norms(values, n_samples);
    result.gradient_density = kernel_density(norms.first, norms.second, gradient_grid(), settings.gradient_bandwidth);
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
    add_gradient_density(values, n_samples, result);
    if (bands != nullptr)
      result.spectrum_band_energy = bands->mean_energies(values, n_samples);
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
    // of the domain.
    std::vector<double> weights(n * n_samples);
    double              m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t i = 0; i < n; ++i)
        {
          weights[s * n + i] = w[i] / (volume * n_samples);
          m1 += weights[s * n + i] * values[s * n + i];
        }
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t i = 0; i < n; ++i)
        {
          const double d      = values[s * n + i] - m1;
          const double weight = weights[s * n + i];
          m2 += weight * d * d;
          m3 += weight * d * d * d;
          m4 += weight * d * d * d * d;
        }
    result.skewness        = m3 / std::pow(m2, 1.5);
    result.excess_kurtosis = m4 / (m2 * m2) - 3;
    result.density         = kernel_density(values, weights, density_grid(), settings.bandwidth);
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
    AssertThrow(a.gradient_density.size() == b.gradient_density.size() &&
                  a.spectrum_band_energy.size() == b.spectrum_band_energy.size(),
                ExcMessage("SampleMetrics::compare: statistics of different settings or meshes."));
    for (unsigned int g = 0; g < a.gradient_density.size(); ++g)
      result.gradient_density_mse += std::pow(a.gradient_density[g] - b.gradient_density[g], 2) / a.gradient_density.size();
    for (unsigned int k = 0; k < a.spectrum_band_energy.size(); ++k)
      result.band_ratios.push_back(a.spectrum_band_energy[k] / std::max(b.spectrum_band_energy[k], 1e-300));
    return result;
  }


  template class SampleMetrics<2>;
  template class SampleMetrics<3>;
} // namespace ddo
