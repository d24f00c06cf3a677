#ifndef ddo_generator_interface_h
#define ddo_generator_interface_h

/**
 * @file
 * The plugin kind "data generator": what `ddo generate` turns a Gaussian
 * random field into. The driver draws field i of a data set from the
 * covariance model and mean function of subsection `Generate` (a Gaussian
 * random field, independent of the number of MPI ranks) and hands it to the
 * selected generator, whose output is row i of the data set. The generator
 * `grf` returns the field itself; a PDE generator returns the solution it
 * drives (the push-forward experiments of the DDO paper: Navier–Stokes
 * vorticities forced by random fields, Darcy pressures with random
 * coefficients, ...).
 *
 * A generator in a shared library registers itself with
 * DDO_REGISTER_GENERATOR and is loaded with `set Plugin libraries = ...`.
 *
 * @ingroup generator
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/base/plugin_registry.h>
#include <ddo/function_space/function_space.h>

#include <string>

namespace ddo
{
  using namespace dealii;

  /** Interface of the data generators (see the file documentation). */
  template <int dim>
  class Generator
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "data generator (" + std::to_string(dim) + "d)";
    }

    virtual ~Generator() = default;

    /** Declares the parameters of this generator (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Prepares the generator for fields on @p space (assembly, solver set-up).
     * @p space outlives the generator. Throws with a clear message when the
     * generator cannot work on this space (dimension, boundary conditions).
     */
    virtual void
    initialize(const FunctionSpace<dim> &space) = 0;

    /**
     * Row @p field of the data set from the Gaussian random field
     * @p random_field (same space; @p field is sized by the caller). Must be
     * deterministic: equal inputs give equal outputs, so that a data set does
     * not depend on interruptions or on the number of MPI ranks.
     */
    virtual void
    generate(const VectorType &random_field, VectorType &field) = 0;

    /** One line about the set-up, printed by `ddo generate` (may be empty). */
    virtual std::string
    summary() const
    {
      return "";
    }
  };

  /** The registry of data generators in dimension @p dim. */
  template <int dim>
  using GeneratorRegistry = PluginRegistry<Generator<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a data generator for dim = 2 and 3 and
 * instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_GENERATOR(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::Generator, Class, name, description)

#endif
