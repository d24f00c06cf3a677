#ifndef ddo_matern_h
#define ddo_matern_h

/**
 * @file
 * The Matérn family in the user's terms (marginal variance, correlation
 * length, smoothness) and in the SPDE's terms (kappa, tau, alpha).
 *
 * @ingroup covariance
 */

#include <deal.II/base/exceptions.h>

#include <cmath>
#include <string>

namespace ddo
{
  /**
   * Matérn parameters. From the user's \f$(\sigma^2, \rho, \nu)\f$ in
   * dimension d: \f$\alpha = \nu + d/2\f$, \f$\kappa = \sqrt{8\nu}/\rho\f$
   * (the correlation at distance \f$\rho\f$ is about 0.13), and \f$\tau\f$
   * from \f$\sigma^2 = \Gamma(\nu) / (\Gamma(\alpha) (4\pi)^{d/2}
   * \kappa^{2\nu} \tau^2)\f$ (Lindgren, Rue, Lindström 2011).
   */
  struct MaternScales
  {
    double variance;
    double correlation_length;
    double smoothness;
    double alpha;
    double kappa;
    double tau;

    /** Derives alpha, kappa, tau; throws on invalid input. */
    static MaternScales
    from_user_parameters(const unsigned int dim,
                         const double       variance,
                         const double       correlation_length,
                         const double       smoothness)
    {
      AssertThrow(variance > 0 && std::isfinite(variance),
                  dealii::ExcMessage("Matérn: the marginal variance must be positive, got " +
                                     std::to_string(variance) + "."));
      AssertThrow(correlation_length > 0 && std::isfinite(correlation_length),
                  dealii::ExcMessage("Matérn: the correlation length must be positive, got " +
                                     std::to_string(correlation_length) + "."));
      AssertThrow(smoothness > 0 && std::isfinite(smoothness),
                  dealii::ExcMessage("Matérn: the smoothness nu must be positive, got " +
                                     std::to_string(smoothness) + "."));
      MaternScales s;
      s.variance           = variance;
      s.correlation_length = correlation_length;
      s.smoothness         = smoothness;
      s.alpha              = smoothness + dim / 2.;
      s.kappa              = std::sqrt(8. * smoothness) / correlation_length;
      s.tau = std::sqrt(std::tgamma(smoothness) /
                        (std::tgamma(s.alpha) * std::pow(4. * M_PI, dim / 2.) *
                         std::pow(s.kappa, 2. * smoothness) * variance));
      return s;
    }

    /**
     * Spectral density in terms of a Laplacian eigenvalue:
     * \f$c(\lambda) = \tau^{-2} (\kappa^2 + \lambda)^{-\alpha}\f$, the
     * variance of the coefficient of an L2-normalized eigenfunction.
     */
    double
    spectral_density(const double lambda) const
    {
      return std::pow(kappa * kappa + lambda, -alpha) / (tau * tau);
    }

    /**
     * The Matérn correlation at distance @p r:
     * \f$2^{1-\nu}/\Gamma(\nu)\,(\kappa r)^\nu K_\nu(\kappa r)\f$.
     */
    double
    correlation(const double r) const
    {
      if (r <= 0)
        return 1.;
      const double x = kappa * r;
      return std::pow(2., 1. - smoothness) / std::tgamma(smoothness) *
             std::pow(x, smoothness) * std::cyl_bessel_k(smoothness, x);
    }
  };
} // namespace ddo

#endif
