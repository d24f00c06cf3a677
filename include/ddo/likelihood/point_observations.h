#ifndef ddo_point_observations_h
#define ddo_point_observations_h

/**
 * @file
 * Point observations of FE functions with Gaussian noise: the observation
 * operator, synthetic data and the Gaussian log-likelihood shared by the
 * point-observation likelihoods.
 *
 * @ingroup likelihood
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/point.h>
#include <deal.II/lac/vector.h>

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /** Where the observations are and how noisy they are (parameters of a point likelihood). */
  struct PointObservationSettings
  {
    /** Points drawn uniformly in the domain when no points file is given. */
    unsigned int n_points = 40;
    /** The stream of the random points. */
    std::uint64_t point_seed = 1;
    /** A text file with one point per line (coordinates separated by blanks); "" for random points. */
    std::string points_file;
    /** Standard deviation of the noise added to the data, relative to the root mean square of the observed values (0: noiseless data). */
    double noise_level = 0.01;
    /** Standard deviation assumed by the likelihood, relative as above (0: the noise level). */
    double likelihood_noise_level = 0;

    /** Declares the entries above in the current subsection. */
    static void
    declare_parameters(ParameterHandler &prm);

    /** Reads them (and checks that the likelihood's noise is positive). */
    void
    parse_parameters(ParameterHandler &prm);
  };


  /**
   * Point values \f$y_j = v_h(x_j)\f$ of FE functions of one space (serial
   * or replicated mesh), the data \f$d_j = y_j(\text{truth}) + \eta\,
   * \varepsilon_j\f$ of a truth, and the Gaussian log-likelihood
   * \f$-\frac12\sum_j (y_j - d_j)^2/\eta_L^2\f$ with its gradient with
   * respect to the observed values. The operator is sparse: point j touches
   * the DoFs of the one cell that holds \f$x_j\f$.
   */
  template <int dim>
  class PointObservations
  {
  public:
    /** Locates the points of @p settings on @p space (throws for a point outside the mesh). */
    PointObservations(const FunctionSpace<dim> &space, const PointObservationSettings &settings);

    /** The number of points. */
    unsigned int
    size() const;

    /** The points. */
    const std::vector<Point<dim>> &
    points() const;

    /** The values of the FE function @p v at the points. */
    std::vector<double>
    values(const Vector<double> &v) const;

    /** @p out += \f$\sum_j w_j \varphi(x_j)\f$: the transpose of values() applied to @p weights. */
    void
    add_transpose(const std::vector<double> &weights, Vector<double> &out) const;

    /**
     * Sets the data to the values of @p truth at the points plus noise of
     * the relative level of the settings, drawn from the stream @p seed.
     */
    void
    observe(const Vector<double> &truth, const std::uint64_t seed);

    /** The data. */
    const std::vector<double> &
    data() const;

    /** The likelihood's standard deviation \f$\eta_L\f$ (set by observe()). */
    double
    likelihood_sigma() const;

    /** The noise standard deviation \f$\eta\f$ of the data (set by observe()). */
    double
    noise_sigma() const;

    /**
     * The widening of the likelihood's variance: observation j has variance
     * \f$\eta_L^2 + w(\sigma) v_j\f$ in log_likelihood(), with
     * \f$w = \sigma^2\f$ for @p field_scale = 0 and
     * \f$w = \sigma^2 s^2/(s^2+\sigma^2)\f$ for @p field_scale = s > 0
     * (see Likelihood::set_state_noise()). Empty @p v: none.
     */
    void
    set_widening(const std::vector<double> &v, const double field_scale);

    /**
     * \f$v = g^T C g\f$ for the Euclidean gradient @p g of an observation
     * with respect to the coefficients of @p space and the covariance
     * @p covariance: the variance the noise \f$\xi \sim N(0, C)\f$ gives
     * to the linearized observation (g condensed onto the free DoFs first).
     */
    static double
    observation_variance(const FunctionSpace<dim> &     space,
                         const CovarianceOperator<dim> &covariance,
                         const Vector<double> &         g);

    /**
     * \f$\log L\f$ for the predicted values @p y of a state of noise
     * level @p sigma, and in @p dlogl_dy its derivative
     * \f$(d_j - y_j)/(\eta_L^2 + \sigma^2 v_j)\f$ (see set_widening()).
     */
    double
    log_likelihood(const std::vector<double> &y, std::vector<double> &dlogl_dy, const double sigma = 0) const;

    /** The root mean square of \f$(y_j - d_j)/\eta_L\f$. */
    double
    normalized_misfit(const std::vector<double> &y) const;

    /** "40 random points, noise 1% (likelihood 1%)". */
    std::string
    summary() const;

  private:
    PointObservationSettings                          settings;
    std::vector<Point<dim>>                           locations;
    std::vector<std::vector<types::global_dof_index>> point_dofs;
    std::vector<std::vector<double>>                  point_weights;
    std::vector<double>                               observed;
    double                                            eta   = 0;
    double                                            eta_l = 0;
    std::vector<double>                               widening;
    double                                            widening_scale = 0;

    void
    add_point(const FunctionSpace<dim> &space, const Point<dim> &p);
  };
} // namespace ddo

#endif
