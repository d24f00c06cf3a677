#ifndef ddo_sample_metrics_h
#define ddo_sample_metrics_h

/**
 * @file
 * Statistics of sets of FE functions and distances between two sets: how
 * generated samples are judged against test data (cf. the density and
 * spectrum MSE of functional flow matching). Every statistic is a quadrature or uses the mass matrix, so it
 * means the same on any mesh of the domain.
 *
 * @ingroup metrics
 */

#include <deal.II/base/point.h>

#include <ddo/function_space/function_space.h>
#include <ddo/function_space/function_transfer.h>
#include <ddo/lac/spectral_basis.h>
#include <ddo/metrics/spectral_bands.h>

#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /** How statistics are computed; fixed before comparing sets. */
  struct MetricSettings
  {
    /** Grid of values on which the pointwise density is estimated. */
    double       density_min    = -1;
    double       density_max    = 1;
    unsigned int density_points = 201;
    /** Bandwidth of the Gaussian kernel density estimate (fixed, not data-driven). */
    double       bandwidth      = 0.05;
    /** Number of bands of Laplacian eigenvalues in the spectrum. */
    unsigned int n_bands        = 8;
    /** Distances of the two-point correlation. */
    std::vector<double> correlation_distances = {0.05, 0.1, 0.2, 0.3};
    /** Point pairs per distance. */
    unsigned int n_pairs = 400;
    /** Seed of the point pairs. */
    unsigned int seed = 1;
    /** Grid and bandwidth of the density of the gradient norm |∇u| (see SampleMetrics::fit_gradient_grid()). */
    double gradient_max       = 1;
    double gradient_bandwidth = 0.02;

    /**
     * A density grid that covers @p values (padded by 4 bandwidths) with a
     * bandwidth of @p relative_bandwidth times their standard deviation.
     * Call it once, on the reference set, and reuse the settings.
     */
    void
    fit_density_grid(const std::vector<double> &values, const double relative_bandwidth = 0.05);
  };

  /** The statistics of one set of functions. */
  struct SampleStatistics
  {
    unsigned int n_samples = 0;
    /** Kernel density of the pointwise values u(x), x uniform in the domain. */
    std::vector<double> density;
    /** Mean energy \f$E(\varphi_k^T M u)^2\f$ summed over each eigenvalue band. */
    std::vector<double> band_energy;
    /** Eigenvalue range of each band. */
    std::vector<std::pair<double, double>> band_limits;
    /** Mean and variance fields (coefficient vectors). */
    VectorType mean, variance;
    /** Correlation of u(x), u(y) over pairs with |x - y| = distance. */
    std::vector<double> correlation;
    /** Quadrature-weighted skewness and excess kurtosis of pointwise values. */
    double skewness = 0, excess_kurtosis = 0;
    /**
     * Mean energy per band over the whole spectrum of the mesh
     * (SpectralBands; empty without them).
     */
    std::vector<double> spectrum_band_energy;
    /** Kernel density of |∇u(x)|, x uniform in the domain (quadrature points). */
    std::vector<double> gradient_density;
  };

  /** Distances between two SampleStatistics on the same mesh. */
  struct MetricComparison
  {
    /** Mean over the grid of the squared density difference. */
    double density_mse = 0;
    /** Mean over the bands of the squared difference of log10 band energies (energies below 1e-6 of b's total count as that floor). */
    double spectrum_mse = 0;
    /** \f$\|\bar u_a - \bar u_b\|_{L^2} / |\Omega|^{1/2}\f$. */
    double mean_error = 0;
    /** \f$\|v_a - v_b\|_{L^2} / \|v_b\|_{L^2}\f$ of the variance fields. */
    double variance_error = 0;
    /** Largest difference of the two-point correlations. */
    double correlation_error = 0;
    /** Mean over the grid of the squared difference of the |∇u| densities. */
    double gradient_density_mse = 0;
    /** Energy of a over energy of b in each band of the whole spectrum. */
    std::vector<double> band_ratios;
  };

  /**
   * Computes the statistics of a set of functions on a serial space.
   */
  template <int dim>
  class SampleMetrics
  {
  public:
    /**
     * @p basis gives the eigenvalue bands of the spectrum (bands split the
     * basis' eigenvalue range evenly in \f$\sqrt\lambda\f$); the point
     * pairs of the correlation are drawn in the domain once, here.
     * @p bands (optional, kept by reference) adds the energy spectrum over
     * the whole spectrum of the mesh.
     */
    SampleMetrics(const FunctionSpace<dim> & space,
                  const SpectralBasis<dim> & basis,
                  const MetricSettings &     settings,
                  const SpectralBands<dim> *bands = nullptr);

    /**
     * Fits the grid of the |∇u| density to @p n_samples functions
     * @p values (from 0 to the largest gradient norm plus 4 bandwidths;
     * bandwidth @p relative_bandwidth times the norms' standard deviation).
     * Call it once, on the reference set.
     */
    void
    fit_gradient_grid(const std::vector<double> &values, const unsigned int n_samples,
                      const double relative_bandwidth = 0.05);

    /** The grid of the |∇u| density. */
    std::vector<double>
    gradient_grid() const;

    /** Statistics of @p n_samples row-major coefficient vectors @p values. */
    SampleStatistics
    compute(const std::vector<double> &values, const unsigned int n_samples) const;

    /** Distances of @p a from the reference @p b. */
    MetricComparison
    compare(const SampleStatistics &a, const SampleStatistics &b) const;

    /** The density grid. */
    std::vector<double>
    density_grid() const;

    const MetricSettings &
    get_settings() const;

  private:
    /** compute(): the pointwise density (kernel estimate), skewness and excess kurtosis. */
    void
    add_pointwise_distribution(const std::vector<double> &values,
                               const unsigned int         n_samples,
                               SampleStatistics &         result) const;
    /** compute(): the mean and variance fields. */
    void
    add_mean_and_variance(const std::vector<double> &values,
                          const unsigned int         n_samples,
                          SampleStatistics &         result) const;
    /** compute(): the band limits and the energy per band of eigenvalues. */
    void
    add_band_energy(const std::vector<double> &values,
                    const unsigned int         n_samples,
                    SampleStatistics &         result) const;
    /** compute(): the kernel density of |∇u| at the quadrature points. */
    void
    add_gradient_density(const std::vector<double> &values,
                         const unsigned int         n_samples,
                         SampleStatistics &         result) const;
    /** |∇u| at every quadrature point of every function, and the points' weights (sum 1). */
    std::pair<std::vector<double>, std::vector<double>>
    gradient_norms(const std::vector<double> &values, const unsigned int n_samples) const;
    /** compute(): the two-point correlation at each distance. */
    void
    add_correlations(const std::vector<double> &values,
                     const unsigned int         n_samples,
                     SampleStatistics &         result) const;

    const FunctionSpace<dim> & space;
    const SpectralBasis<dim> & basis;
    MetricSettings             settings;
    const SpectralBands<dim> * bands;
    /**
     * Gradients at the quadrature points: for point q, weight[q] (JxW over
     * the volume) and the dofs_per_point DoFs with their shape gradients.
     */
    std::vector<double>                  gradient_weights;
    std::vector<types::global_dof_index> gradient_dofs;
    std::vector<Tensor<1, dim>>          shape_gradients;
    unsigned int                         dofs_per_point = 0;
    /** For each distance: the interpolation rows of the pair's points. */
    std::vector<std::vector<std::pair<std::vector<std::pair<unsigned int, double>>,
                                      std::vector<std::pair<unsigned int, double>>>>>
      pairs;
  };

} // namespace ddo

#endif
