#ifndef ddo_whole_spectrum_skip_h
#define ddo_whole_spectrum_skip_h

/**
 * @file
 * The Gaussian (Wiener) denoiser on every mode of a mesh, as a polynomial of
 * the lumped operator \f$M_L^{-1}K\f$: what the Gaussian skip connection of
 * a spectral network applies above its K eigenmodes, at the cost of one
 * sparse product per degree, with no eigenvectors.
 *
 * @ingroup network
 */

#include <ddo/torch/network/network_geometry.h>

#include <torch/torch.h>

#include <functional>

namespace ddo
{
  namespace whole_spectrum
  {
    /**
     * log of @p values (at @p omega = \f$\sqrt\mu\f$, float64) smoothed
     * onto the uniform grid \f$\omega_t = t\,\omega_{\max}/(T-1)\f$, t = 0..T-1:
     * Nadaraya–Watson with a Gaussian kernel of one grid spacing; a grid
     * point with no value near it takes the nearest value's log.
     */
    torch::Tensor
    smooth_log_table(const torch::Tensor &omega, const torch::Tensor &values, const std::int64_t n_points,
                     const double omega_max);

    /**
     * The table (from smooth_log_table()) at @p omega: linear interpolation
     * on the grid; below 0 the first value; beyond \f$\omega_{\max}\f$ a
     * straight line in \f$\log\omega\f$ through the table's last eighth (the
     * power law of the finest scales the training mesh resolved, continued
     * to finer meshes).
     */
    torch::Tensor
    lookup(const torch::Tensor &table, const double omega_max, const torch::Tensor &omega);

    /**
     * The operator the polynomials act on: the lumped operator
     * \f$A = M_L^{-1}K\f$ of @p geometry (@p mass_iterations = 0), or, with
     * m > 0, \f$q_m(B)\,A\f$ where B is the geometry's lumped-mass operator
     * \f$M_L^{-1}M\f$ and \f$q_m(B)\f$ is m steps of the Chebyshev
     * iteration for \f$B z = y\f$ from z = 0 on B's eigenvalue interval:
     * \f$q_m(B) \approx B^{-1}\f$ to \f$\epsilon_m = 1/T_m((1+a)/(1-a))\f$
     * (a: B's lower bound; 0.025 for m = 4 on linear triangles), so the
     * operator is the consistent \f$M^{-1}K\f$ to that accuracy, its
     * eigenvectors the consistent modes, at m + 1 sparse products.
     */
    struct SpectrumOperator
    {
      SpectrumOperator(const NetworkGeometry &geometry, const unsigned int mass_iterations);

      /** The operator applied to each column of @p x `[N, B]`. */
      torch::Tensor
      operator()(const torch::Tensor &x) const;

      /** An upper bound of its eigenvalues: that of A; with the correction
       * \f$(1+\epsilon_m)\f$ times the smaller of A's bound / a and the cells' bound of \f$M^{-1}K\f$. */
      double
      eigenvalue_bound() const;

      const NetworkGeometry &geometry;
      const unsigned int     mass_iterations;
    };

    /**
     * \f$\sum_{j=0}^{J} c_{bj}\,T_j(2A/\text{bound} - I)\f$ applied to column b
     * of @p rest `[N, B]`, with A the SpectrumOperator of @p geometry with
     * @p mass_iterations and @p coefficients `[B, J+1]` (constants, no
     * gradient). Computed in fused loops over the operators in compressed
     * rows (ddo::CompressedRows): a few times faster than
     * chebyshev_series_through_torch(), equal to it to rounding.
     * Differentiable in @p rest: the backward pass is the same series of
     * the adjoint \f$A^T = L^T q_m(B^T)\f$.
     */
    torch::Tensor
    chebyshev_series(const NetworkGeometry &geometry,
                     const unsigned int     mass_iterations,
                     const torch::Tensor &  rest,
                     const torch::Tensor &  coefficients,
                     const double           bound);

    /**
     * The same series operator by operator through torch's sparse products
     * and autograd: the reference for chebyshev_series() in tests and
     * benchmarks.
     */
    torch::Tensor
    chebyshev_series_through_torch(const SpectrumOperator &op,
                                   const torch::Tensor &   rest,
                                   const torch::Tensor &   coefficients,
                                   const double            bound);

    /**
     * \f$p_\sigma(A)\,r\f$ for the SpectrumOperator A of @p geometry with
     * @p mass_iterations and each column of @p rest `[N, B]`: the
     * Jackson-damped Chebyshev interpolant of degree @p degree on
     * \f$[0, \mu_{\max}]\f$ (@p eigenvalue_bound, or if 0 the operator's
     * SpectrumOperator::eigenvalue_bound()) of the
     * Wiener ratio
     * \f[
     *   r(\mu, \sigma_b) = \frac{s(\mu)}{s(\mu) + \sigma_b^2\,c(\mu)},
     * \f]
     * with log s and log c from the tables @p log_data and @p log_noise
     * (grid up to @p omega_max), and \f$\sqrt\mu\f$ raised to at least
     * @p omega_floor (the modes below it are handled elsewhere; this keeps
     * the polynomial smooth there). @p sigma `[B]`. Differentiable in
     * @p rest.
     */
    torch::Tensor
    apply_wiener_polynomial(const NetworkGeometry &geometry,
                            const torch::Tensor &  rest,
                            const torch::Tensor &  sigma,
                            const torch::Tensor &  log_data,
                            const torch::Tensor &  log_noise,
                            const double           omega_max,
                            const double           omega_floor,
                            const unsigned int     degree,
                            const unsigned int     mass_iterations  = 0,
                            const double           eigenvalue_bound = 0);

    /**
     * An upper bound of the eigenvalues of @p op for its polynomials, tight
     * where SpectrumOperator::eigenvalue_bound() is not (that bound holds
     * for the worst cell of the mesh; on unstructured meshes it lies well
     * above the spectrum, and the automatic degree grows with its root):
     * 1.1 times the largest eigenvalue as 40 power iterations estimate it
     * (from below), accepted only if the Chebyshev polynomials on
     * [0, bound] up to the degree @p degree_of_bound gives for it stay
     * bounded on two probes, the last power iterate (dominated by the top
     * of the spectrum) and a deterministic rough vector: an eigenvalue
     * above the bound makes \f$T_j\f$ grow exponentially there. Otherwise,
     * and never above it, the rigorous bound.
     */
    double
    checked_eigenvalue_bound(const SpectrumOperator &op,
                             const std::function<unsigned int(double)> &degree_of_bound);

    /**
     * The check of checked_eigenvalue_bound(): whether the Chebyshev
     * polynomials \f$T_j(2A/\text{bound} - I)\f$, j <= @p degree, stay
     * bounded (lumped-mass norm at most 4 times the start's) on its two
     * probes. False when an eigenvalue of @p op lies far enough above
     * @p bound to grow within that degree.
     */
    bool
    spectrum_lies_below(const SpectrumOperator &op, const double bound, const unsigned int degree);
    /**
     * The degree that resolves \f$\Delta\sqrt\mu = \omega_{\text{floor}}/12\f$
     * near the bottom of the spectrum: \f$\lceil 6\pi\sqrt{\mu_{\max}}/\omega_{\text{floor}}\rceil\f$,
     * in [16, 2000].
     */
    unsigned int
    automatic_degree(const double eigenvalue_bound, const double omega_floor);
  } // namespace whole_spectrum
} // namespace ddo

#endif
