#ifndef ddo_fourier_metrics_h
#define ddo_fourier_metrics_h

/**
 * @file
 * The Navier–Stokes metrics of Functional Flow Matching's evaluation
 * (Kerrigan et al., `util/eval.py` of their code), computed the same way for
 * fields on a mesh of a periodic box, so that ddo's numbers sit beside the
 * published tables.
 *
 * @ingroup metrics
 */

#include <ddo/function_space/function_space.h>

#include <utility>
#include <vector>

namespace ddo
{
  /**
   * FFM's spectrum and density metrics on a uniform grid of a box (2D).
   *
   * The fields are interpolated onto the s × s grid \f$x_{ij} = a + (i, j)\,
   * (b - a)/s\f$, \f$0 \le i, j < s\f$, of the mesh's bounding box [a, b]
   * (the grid FFM's data live on). Then, exactly as FFM:
   * - spectrum: \f$S_m = \frac1n\sum_\text{fields} |\sum_{k_x + k_y = m,\,
   *   0 \le k_x, k_y \le s/2} \hat u_k|\f$ for m = 1, …, s/2, with
   *   \f$\hat u\f$ the unnormalized discrete Fourier transform (the absolute
   *   value of the sum of the complex coefficients on an L1 "shell" of the
   *   first quadrant); spectra MSE = \f$\frac2s\sum_m (S^a_m - S^b_m)^2\f$;
   * - density: a Gaussian kernel density estimate of all grid values of a
   *   set, bandwidth 0.5 times the values' standard deviation (scipy's
   *   `gaussian_kde(bw_method=0.5)`), on 200 points from
   *   \f$\min - 1.5|\min|\f$ to \f$\max + 1.5|\max|\f$ over both sets;
   *   density MSE = mean squared difference of the two estimates.
   * Both are absolute numbers (they depend on s and on the units of the
   * fields), as in FFM's tables.
   */
  template <int dim>
  class FourierMetrics
  {
  public:
    /** Locates the grid points on the serial @p space once. Throws in 3D. */
    FourierMetrics(const FunctionSpace<dim> &space, const unsigned int grid_size = 64);

    /** The grid values, row-major `[n_fields][s * s]`, of row-major coefficient vectors. */
    std::vector<double>
    grid_values(const std::vector<double> &coefficients, const unsigned int n_fields) const;

    /** FFM's spectrum \f$S_1, \dots, S_{s/2}\f$ of grid values (see the class documentation). */
    std::vector<double>
    spectrum(const std::vector<double> &grid_values) const;

    /** Mean squared difference of two spectra. */
    static double
    spectra_mse(const std::vector<double> &a, const std::vector<double> &b);

    /** FFM's density MSE of two sets of pointwise values (see the class documentation). */
    static double
    density_mse(const std::vector<double> &a, const std::vector<double> &b);

    /** The grid size s. */
    unsigned int
    grid_size() const;

  private:
    unsigned int                                              s;
    std::vector<std::vector<std::pair<unsigned int, double>>> rows;
  };
} // namespace ddo

#endif
