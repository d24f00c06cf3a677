#ifndef ddo_likelihood_interface_h
#define ddo_likelihood_interface_h

/**
 * @file
 * The plugin kind "likelihood": the observation model of an inverse problem
 * whose prior is a trained DDO. `ddo posterior` draws a truth from a data
 * set, lets the selected likelihood observe it (synthetic data with the
 * plugin's noise), and samples the posterior with the prior's score plus the
 * gradient of the likelihood (ddo::GenerativePrior::sample_posterior).
 *
 * A likelihood works on the coefficient vectors of the parameter file's
 * function space (serial or replicated meshes), in the units of the data:
 * for a PDE-constrained likelihood it assembles and solves its forward
 * problem with the field as a coefficient and returns the gradient from one
 * adjoint solve. An application with its own observation model registers a
 * likelihood from a shared library with DDO_REGISTER_LIKELIHOOD and loads it
 * with `set Plugin libraries = ...`.
 *
 * @ingroup likelihood
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/lac/vector.h>

#include <ddo/base/plugin_registry.h>
#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>

#include <cstdint>
#include <string>

namespace ddo
{
  using namespace dealii;

  /** Interface of the likelihoods (see the file documentation). */
  template <int dim>
  class Likelihood
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "likelihood (" + std::to_string(dim) + "d)";
    }

    virtual ~Likelihood() = default;

    /** Declares the parameters of this likelihood (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Prepares the likelihood for fields on @p space (observation operator,
     * sparsity, solver set-up). @p space outlives the likelihood. Throws with
     * a clear message when it cannot work on this space (distributed mesh,
     * observation points outside the domain, no Dirichlet boundary).
     */
    virtual void
    initialize(const FunctionSpace<dim> &space) = 0;

    /**
     * Observes the field @p truth (coefficients of the space, data units):
     * the data of the following log_likelihood() calls, with observation
     * noise drawn from the stream @p seed. Deterministic in (@p truth,
     * @p seed).
     */
    virtual void
    observe(const Vector<double> &truth, const std::uint64_t seed) = 0;

    /**
     * \f$\log L(u)\f$ up to a constant for the field @p u, and in
     * @p gradient (sized by the caller) its Euclidean gradient with respect
     * to the coefficients of @p u. @p sigma is the noise level of the
     * sampler's state (data units; 0 for a clean field): a likelihood may
     * widen its observation noise with it (see ddo::LikelihoodGradient), or
     * ignore it when used at the denoised estimate.
     *
     * A field outside the likelihood's domain (e.g. a permeability for which
     * the PDE has no solution in floating point) gets -infinity and a zero
     * gradient, never an exception: the line searches of the DPS and
     * proximal samplers then shorten their steps, and the guided samplers
     * stop with a message that names the noise level.
     */
    virtual double
    log_likelihood(const Vector<double> &u, const double sigma, Vector<double> &gradient) = 0;

    /**
     * What noise the sampler's states carry, so that the likelihood can
     * widen its observation noise with their level σ (see
     * ddo::LikelihoodGradient): at level σ (data units) a state is a field
     * plus \f$\sigma\xi\f$, \f$\xi \sim N(0, C)\f$ with C = @p covariance
     * (initialized on the likelihood's space), and the fields are like
     * @p reference (e.g. the data's mean). The likelihoods built on
     * PointObservations widen the variance of observation j to
     * \f$\eta_L^2 + w(\sigma)\, g_j^T C g_j\f$, with \f$g_j\f$ the
     * gradient of observation j at @p reference, and
     * - @p field_scale = 0 (the likelihood at the noisy state):
     *   \f$w = \sigma^2\f$, the state's own noise; exact for linear
     *   observations;
     * - @p field_scale = s > 0 (the likelihood at the denoised estimate,
     *   for fields that vary about @p reference like \f$s\xi\f$):
     *   \f$w = \sigma^2 s^2/(s^2+\sigma^2)\f$, the error of the estimate,
     *   exact for a Gaussian prior \f$N(\text{reference}, s^2C)\f$ and
     *   linear observations: at most the state's noise \f$\sigma^2\f$ and
     *   at most the prior's \f$s^2\f$.
     *
     * Without this call (the default) the likelihood ignores σ.
     */
    virtual void
    set_state_noise(const CovarianceOperator<dim> & /*covariance*/,
                    const Vector<double> & /*reference*/,
                    const double /*field_scale*/)
    {}

    /**
     * The root mean square of (prediction(@p u) - data) / (noise standard
     * deviation): about 1 for a field that explains the data to the noise;
     * +infinity for a field outside the likelihood's domain.
     */
    virtual double
    normalized_misfit(const Vector<double> &u) = 0;

    /** The number of observations. */
    virtual unsigned int
    n_observations() const = 0;

    /** Forward or adjoint PDE solves so far (0 for a likelihood without a PDE). */
    virtual unsigned int
    n_solves() const
    {
      return 0;
    }

    /** One line about the observation model, printed by `ddo posterior`. */
    virtual std::string
    summary() const
    {
      return "";
    }
  };

  /** The registry of likelihoods in dimension @p dim. */
  template <int dim>
  using LikelihoodRegistry = PluginRegistry<Likelihood<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a likelihood for dim = 2 and 3
 * and instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_LIKELIHOOD(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::Likelihood, Class, name, description)

#endif
