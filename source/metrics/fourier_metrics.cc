// FFM's Navier-Stokes metrics (spectrum and density MSE) on a uniform grid
// of the mesh's bounding box; see ddo/metrics/fourier_metrics.h.

#include <deal.II/grid/grid_tools.h>

#include <ddo/function_space/function_transfer.h>
#include <ddo/metrics/fourier_metrics.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>

namespace ddo
{
  namespace
  {
    /** Mean and standard deviation (with n - 1, as numpy's cov in scipy's KDE) of @p values. */
    std::pair<double, double>
    mean_and_deviation(const std::vector<double> &values)
    {
      const double n    = values.size();
      const double mean = std::accumulate(values.begin(), values.end(), 0.) / n;
      double       sum  = 0;
      for (const double v : values)
        sum += (v - mean) * (v - mean);
      return {mean, std::sqrt(sum / (n - 1))};
    }


    /** The Gaussian kernel density estimate of @p values (bandwidth @p h) at @p grid. */
    std::vector<double>
    kernel_density(const std::vector<double> &values, const double h, const std::vector<double> &grid)
    {
      std::vector<double> density(grid.size(), 0.);
      const double        factor = 1. / (values.size() * h * std::sqrt(2. * M_PI));
      for (std::size_t g = 0; g < grid.size(); ++g)
        {
          double sum = 0;
          for (const double v : values)
            {
              const double z = (grid[g] - v) / h;
              sum += std::exp(-0.5 * z * z);
            }
          density[g] = factor * sum;
        }
      return density;
    }
  } // namespace


  template <int dim>
  FourierMetrics<dim>::FourierMetrics(const FunctionSpace<dim> &space, const unsigned int grid_size)
    : s(grid_size)
  {
    AssertThrow(dim == 2, ExcMessage("FourierMetrics: FFM's spectrum and density metrics are two-dimensional."));
    AssertThrow(s >= 4 && s % 2 == 0, ExcMessage("FourierMetrics: the grid size must be even and at least 4."));
    const auto              box = GridTools::compute_bounding_box(space.get_triangulation());
    std::vector<Point<dim>> points;
    points.reserve(s * s);
    for (unsigned int i = 0; i < s; ++i)
      for (unsigned int j = 0; j < s; ++j)
        {
          Point<dim> p = box.get_boundary_points().first;
          p[0] += (box.side_length(0) * i) / s;
          p[1] += (box.side_length(1) * j) / s;
          points.push_back(p);
        }
    rows = point_evaluation_rows(space, points);
  }


  template <int dim>
  std::vector<double>
  FourierMetrics<dim>::grid_values(const std::vector<double> &coefficients, const unsigned int n_fields) const
  {
    AssertThrow(n_fields > 0 && coefficients.size() % n_fields == 0,
                ExcMessage("FourierMetrics: the coefficients are not a whole number of fields."));
    const std::size_t   n_dofs = coefficients.size() / n_fields;
    std::vector<double> values(std::size_t(n_fields) * rows.size());
    for (unsigned int f = 0; f < n_fields; ++f)
      for (std::size_t p = 0; p < rows.size(); ++p)
        {
          double value = 0;
          for (const auto &entry : rows[p])
            value += entry.second * coefficients[f * n_dofs + entry.first];
          values[f * rows.size() + p] = value;
        }
    return values;
  }


  template <int dim>
  std::vector<double>
  FourierMetrics<dim>::spectrum(const std::vector<double> &values) const
  {
    const std::size_t n_points = std::size_t(s) * s;
    AssertThrow(!values.empty() && values.size() % n_points == 0,
                ExcMessage("FourierMetrics: the grid values are not a whole number of s x s fields."));
    const std::size_t    n_fields = values.size() / n_points;
    const unsigned int   k_max    = s / 2;
    std::vector<std::complex<double>> phase(s);
    for (unsigned int q = 0; q < s; ++q)
      phase[q] = std::polar(1., -2. * M_PI * q / s);
    std::vector<double> result(k_max, 0.);
    // The DFT on the quadrant 0 <= k_x, k_y <= s/2 only, one direction at a time.
    std::vector<std::complex<double>> along_j(std::size_t(s) * (k_max + 1));
    for (std::size_t f = 0; f < n_fields; ++f)
      {
        const double *u = values.data() + f * n_points;
        for (unsigned int i = 0; i < s; ++i)
          for (unsigned int ky = 0; ky <= k_max; ++ky)
            {
              std::complex<double> sum = 0;
              for (unsigned int j = 0; j < s; ++j)
                sum += u[i * s + j] * phase[(ky * j) % s];
              along_j[i * (k_max + 1) + ky] = sum;
            }
        std::vector<std::complex<double>> shell(2 * k_max + 1, 0.);
        for (unsigned int kx = 0; kx <= k_max; ++kx)
          for (unsigned int ky = 0; ky <= k_max; ++ky)
            {
              std::complex<double> sum = 0;
              for (unsigned int i = 0; i < s; ++i)
                sum += along_j[i * (k_max + 1) + ky] * phase[(kx * i) % s];
              shell[kx + ky] += sum;
            }
        for (unsigned int m = 1; m <= k_max; ++m)
          result[m - 1] += std::abs(shell[m]) / n_fields;
      }
    return result;
  }


  template <int dim>
  double
  FourierMetrics<dim>::spectra_mse(const std::vector<double> &a, const std::vector<double> &b)
  {
    AssertThrow(a.size() == b.size() && !a.empty(), ExcMessage("FourierMetrics: spectra of different lengths."));
    double sum = 0;
    for (std::size_t m = 0; m < a.size(); ++m)
      sum += (a[m] - b[m]) * (a[m] - b[m]);
    return sum / a.size();
  }


  template <int dim>
  double
  FourierMetrics<dim>::density_mse(const std::vector<double> &a, const std::vector<double> &b)
  {
    AssertThrow(a.size() > 1 && b.size() > 1, ExcMessage("FourierMetrics: too few values for a density."));
    const double bw_factor = 0.5, cutoff = 3;
    const auto [min_a, max_a] = std::minmax_element(a.begin(), a.end());
    const auto [min_b, max_b] = std::minmax_element(b.begin(), b.end());
    const double lowest = std::min(*min_a, *min_b), highest = std::max(*max_a, *max_b);
    const double lower  = lowest - cutoff * bw_factor * std::abs(lowest);
    const double upper  = highest + cutoff * bw_factor * std::abs(highest);
    const unsigned int  n_grid = 200;
    std::vector<double> grid(n_grid);
    for (unsigned int g = 0; g < n_grid; ++g)
      grid[g] = lower + (upper - lower) * g / (n_grid - 1);
    const std::vector<double> density_a = kernel_density(a, bw_factor * mean_and_deviation(a).second, grid);
    const std::vector<double> density_b = kernel_density(b, bw_factor * mean_and_deviation(b).second, grid);
    double sum = 0;
    for (unsigned int g = 0; g < n_grid; ++g)
      sum += (density_a[g] - density_b[g]) * (density_a[g] - density_b[g]);
    return sum / n_grid;
  }


  template <int dim>
  unsigned int
  FourierMetrics<dim>::grid_size() const
  {
    return s;
  }


  template class FourierMetrics<2>;
  template class FourierMetrics<3>;
} // namespace ddo
