#ifndef ddo_spectral_covariance_h
#define ddo_spectral_covariance_h

/**
 * @file
 * The covariance model "matern_spectral": a Matérn field by its truncated
 * Karhunen–Loève expansion in the Laplacian eigenbasis of the mesh.
 *
 * @ingroup covariance
 */

#include <ddo/covariance/interface.h>
#include <ddo/covariance/matern.h>
#include <ddo/lac/spectral_basis.h>

#include <memory>

namespace ddo
{
  /**
   * \f$\mathrm{Cov}(\xi) = \sum_{k<K} c(\lambda_k)\varphi_k\varphi_k^T\f$
   * with the M-orthonormal eigenpairs of SpectralBasis (Neumann or periodic,
   * like the space) and the Matérn density \f$c(\lambda) = \tau^{-2}
   * (\kappa^2+\lambda)^{-\alpha}\f$ (MaternScales). With all N modes this is
   * exactly the SPDE covariance \f$\tau^{-2}(A^{-1}M)^{\alpha-1}A^{-1}\f$,
   * \f$A = \kappa^2M + K\f$, of MaternSPDE with Neumann conditions; any real
   * \f$\alpha > d/2\f$ is allowed here (no integer restriction).
   *
   * Sampling costs K axpys per sample after a one-time eigensolve (cached on
   * disk): \f$\xi = \sum_k \sqrt{c_k} z_k \varphi_k\f$, \f$z \sim N(0, I_K)\f$
   * from the stream (seed, sample index). Since eigenvectors are defined up
   * to sign, samples are reproducible for a given mesh and partition only.
   *
   * On the span of the modes: apply_inverse(v) = \f$M\Phi c^{-1}\Phi^TMv\f$,
   * cameron_martin_norm_squared(v) = \f$\sum_k (\varphi_k^TMv)^2/c_k\f$ (a
   * \f$\chi^2_K\f$ variable for samples), apply(apply_inverse(v)) is the
   * M-orthogonal projection of v onto the span.
   * captured_variance_fraction() = \f$\sum_k c_k / (\sigma^2|\Omega|)\f$
   * reports the truncation: the share of the continuum field's total
   * variance the K modes carry (boundary effects make it differ slightly
   * from the discrete total even for K = N).
   */
  template <int dim>
  class SpectralMaternCovariance : public CovarianceOperator<dim>
  {
  public:
    /** Declares Marginal variance, Correlation length, Smoothness, Number of modes, Cache directory. */
    static void
    declare_parameters(ParameterHandler &prm);
    void
    parse_parameters(ParameterHandler &prm) override;

    /** Sets the parameters directly (instead of parse_parameters()). */
    void
    set_parameters(const MaternScales &scales,
                   const unsigned int  n_modes,
                   const std::string & cache_directory = "");

    void
    initialize(const FunctionSpace<dim> &space) override;

    using CovarianceOperator<dim>::sample;
    void
    sample(std::vector<VectorType> &out,
           const std::uint64_t      seed,
           const unsigned int       first_sample_index) const override;
    void
    apply(const VectorType &in, VectorType &out) const override;
    void
    apply_inverse(const VectorType &in, VectorType &out) const override;
    double
    cameron_martin_norm_squared(const VectorType &v) const override;
    /** Exact: \f$\sum_k c_k \varphi_k(x_i)^2\f$. */
    VectorType
    pointwise_variance() const override;

    /** The variances \f$c_k\f$ of the mode coefficients. */
    const std::vector<double> &
    mode_variances() const;
    /** \f$\sum_k c_k / (\sigma^2 |\Omega|)\f$, see the class documentation. */
    double
    captured_variance_fraction() const;
    /** The eigenbasis used. */
    const SpectralBasis<dim> &
    get_basis() const;

  private:
    MaternScales                        scales = MaternScales::from_user_parameters(dim, 1., 0.1, 1.);
    unsigned int                        n_modes = 64;
    std::string                         cache_directory;
    const FunctionSpace<dim> *          space = nullptr;
    std::unique_ptr<SpectralBasis<dim>> basis;
    std::vector<double>                 variances;
  };
} // namespace ddo

#endif
