#ifndef ddo_covariance_operator_h
#define ddo_covariance_operator_h

/**
 * @file
 * The plugin kind "covariance model": a centered Gaussian measure on a
 * finite element space, used as the noise of denoising diffusion operators
 * (see DESIGN.md, section 1).
 *
 * @ingroup covariance
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/function_space/function_space.h>
#include <ddo/base/plugin_registry.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * Interface of the covariance models: a centered Gaussian random field
   * \f$\xi_h = \sum_i \xi_i \phi_i\f$ on a FunctionSpace, described by the
   * covariance of its coefficient vector \f$\xi\f$.
   *
   * <h3>Coefficient vectors and constraints</h3>
   * All vectors are coefficient vectors of FE functions, in the layout of
   * FunctionSpace::create_vector(). Let \f$P\f$ be the \f$N \times n\f$
   * matrix that extends the values of the \f$n\f$ unconstrained (free) DoFs
   * to all \f$N\f$ DoFs by the space's constraints (hanging nodes,
   * periodicity), and \f$R\f$ the restriction to the free DoFs, so that
   * \f$RP = I\f$ and \f$u = PRu\f$ for every constraint-satisfying \f$u\f$.
   * A model is defined by a symmetric positive definite \f$n \times n\f$
   * matrix \f$\tilde C\f$, the covariance of the free coefficients. Then
   * - samples \f$\xi = P\tilde\xi\f$, \f$\tilde\xi \sim N(0, \tilde C)\f$,
   *   satisfy the constraints, and \f$\mathrm{Cov}(\xi) = P \tilde C P^T\f$;
   * - apply(v) returns \f$P \tilde C R v\f$: for v that vanish on the
   *   constrained DoFs (e.g. a unit vector of a free DoF) this is
   *   \f$\mathrm{Cov}(\xi) v\f$;
   * - apply_inverse(v) returns \f$P \tilde C^{-1} R v\f$, so that
   *   apply(apply_inverse(v)) = v for every constraint-satisfying v;
   * - cameron_martin_norm_squared(v) is \f$(Rv)^T \tilde C^{-1} (Rv)\f$;
   *   for a sample it is \f$\chi^2_n\f$ distributed (mean n);
   * - pointwise_variance() is the diagonal of \f$P\tilde C P^T\f$, the
   *   variance of the field at each support point (constrained DoFs
   *   included).
   * Without constraints P = R = I and all of this reduces to plain
   * \f$C\f$, \f$C^{-1}\f$.
   *
   * <h3>Random numbers</h3>
   * Sample i of a batch drawn with sample(out, seed, first) is a
   * deterministic function of (seed, first + i) and of the mesh only: not
   * of the batch size, of the DoF numbering or of the MPI partition.
   *
   * Usage: create (e.g. through CovarianceRegistry), parse_parameters(),
   * initialize(space), then any of the other functions. The space must
   * outlive the operator.
   */
  template <int dim>
  class CovarianceOperator
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "covariance model";
    }

    virtual ~CovarianceOperator() = default;

    /** Declares the parameters of this model (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Binds the model to @p space: assembles its matrices and sets up the
     * solvers (factorizations, preconditioners) once, so that sampling and
     * applying are cheap afterwards. Collective. May be called again with
     * another space.
     */
    virtual void
    initialize(const FunctionSpace<dim> &space) = 0;

    /**
     * Draws out.size() independent samples; sample i uses the random stream
     * (@p seed, @p first_sample_index + i). Vectors of @p out that do not
     * have the space's layout are re-initialized. Collective.
     */
    virtual void
    sample(std::vector<VectorType> &out,
           const std::uint64_t      seed,
           const unsigned int       first_sample_index) const = 0;

    /** One sample, the same as sample() with a batch of one. */
    void
    sample(VectorType &out, const std::uint64_t seed, const unsigned int sample_index) const
    {
      std::vector<VectorType> batch(1);
      batch[0].swap(out);
      sample(batch, seed, sample_index);
      out.swap(batch[0]);
    }

    /** @p out = \f$P \tilde C R\f$ @p in (see the class documentation). */
    virtual void
    apply(const VectorType &in, VectorType &out) const = 0;

    /** @p out = \f$P \tilde C^{-1} R\f$ @p in (see the class documentation). */
    virtual void
    apply_inverse(const VectorType &in, VectorType &out) const = 0;

    /** \f$(Rv)^T \tilde C^{-1} (Rv)\f$, the squared Cameron–Martin norm. */
    virtual double
    cameron_martin_norm_squared(const VectorType &v) const = 0;

    /**
     * The variance of the field at every support point: the diagonal of
     * \f$\mathrm{Cov}(\xi) = P\tilde C P^T\f$. Implementations say whether
     * it is exact (costly: solves per DoF, for small problems) or estimated.
     */
    virtual VectorType
    pointwise_variance() const = 0;
  };

  /** The registry of covariance models in dimension @p dim. */
  template <int dim>
  using CovarianceRegistry = PluginRegistry<CovarianceOperator<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a covariance model for dim = 2 and 3 and
 * instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_COVARIANCE_MODEL(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::CovarianceOperator, Class, name, description)

#endif
