#ifndef ddo_quantity_interface_h
#define ddo_quantity_interface_h

/**
 * @file
 * The plugin kind "quantity": a scalar quantity of interest of a field, for
 * forward uncertainty propagation. `ddo propagate` evaluates the selected
 * quantity on every field of a set of prior samples, of the test data and
 * of a Gaussian baseline, and compares the three distributions of the
 * quantity (ddo::compare_quantity_distributions): is a simulation fed with
 * the model's fields as uncertain as one fed with the data?
 *
 * A quantity works on the coefficient vectors of the parameter file's
 * function space (serial or replicated meshes), in the units of the data;
 * a PDE-based quantity assembles and solves its problem with the field as
 * a coefficient. An application registers its own with
 * DDO_REGISTER_QUANTITY from a shared library and loads it with
 * `set Plugin libraries = ...`.
 *
 * @ingroup likelihood
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/lac/vector.h>

#include <ddo/base/plugin_registry.h>
#include <ddo/function_space/function_space.h>

#include <string>

namespace ddo
{
  using namespace dealii;

  /** Interface of the quantities of interest (see the file documentation). */
  template <int dim>
  class QuantityOfInterest
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "quantity (" + std::to_string(dim) + "d)";
    }

    virtual ~QuantityOfInterest() = default;

    /** Declares the parameters of this quantity (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Prepares the quantity for fields on @p space, which outlives it.
     * Throws with a clear message when it cannot work on this space.
     */
    virtual void
    initialize(const FunctionSpace<dim> &space) = 0;

    /** The quantity of the field @p u (coefficients of the space, data units). */
    virtual double
    evaluate(const Vector<double> &u) = 0;

    /** PDE solves so far (0 for a quantity without a PDE). */
    virtual unsigned int
    n_solves() const
    {
      return 0;
    }

    /** One line about the quantity (what it measures), printed by `ddo propagate`. */
    virtual std::string
    summary() const
    {
      return "";
    }
  };

  /** The registry of quantities of interest in dimension @p dim. */
  template <int dim>
  using QuantityRegistry = PluginRegistry<QuantityOfInterest<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a quantity of interest for
 * dim = 2 and 3 and instantiates it for both. Use at global scope in a .cc
 * file.
 */
#define DDO_REGISTER_QUANTITY(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::QuantityOfInterest, Class, name, description)

#endif
