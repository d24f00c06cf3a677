#ifndef ddo_plugin_registry_h
#define ddo_plugin_registry_h

/**
 * @file
 * Run-time plugin registries, one per interface, in the style of ASPECT.
 *
 * A plugin is a class derived from an interface (a covariance model, a score
 * network, a sampler, a mesh geometry, ...). It registers itself at load time
 * with a `DDO_REGISTER_*` macro: name, one-line description, a static
 * `declare_parameters(ParameterHandler &)` and a default constructor. A
 * parameter file then selects it by name:
 *
 * @code
 * subsection Mesh
 *   set Geometry = box          # one of the registered names
 *   subsection box              # the parameters of the selected plugin
 *     set Subdivisions = 8
 *   end
 * end
 * @endcode
 *
 * Shared libraries with more plugins are loaded by name, see
 * ddo::load_plugin_libraries().
 *
 * @ingroup base
 */

#include <deal.II/base/exceptions.h>
#include <deal.II/base/parameter_handler.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * Registry of all plugins that implement @p Interface. @p Interface must
   * provide `static std::string plugin_kind()` (a human-readable name of the
   * kind, used in messages) and `virtual void parse_parameters(ParameterHandler &)`.
   *
   * There is exactly one registry per interface in a process: instance() is
   * defined in the ddo library, so plugins in other shared libraries register
   * into the same object.
   */
  template <typename Interface>
  class PluginRegistry
  {
  public:
    /** Everything the registry knows of one plugin. */
    struct Entry
    {
      std::string                              name;
      std::string                              description;
      std::function<void(ParameterHandler &)>  declare_parameters;
      std::function<std::unique_ptr<Interface>()> create;
    };

    /** The registry of @p Interface. */
    static PluginRegistry &
    instance();

    /**
     * Adds a plugin. Called from static initializers, so it never throws:
     * a name registered twice is remembered and reported by every later
     * lookup.
     */
    bool
    add(Entry entry);

    /** Names of all registered plugins, sorted. */
    std::vector<std::string>
    names() const;

    /** `name1|name2|...`, usable as a Patterns::Selection. */
    std::string
    selection_pattern() const;

    /** True if a plugin of this name is registered. */
    bool
    has(const std::string &name) const;

    /**
     * The entry of @p name. Throws an exception that lists the registered
     * names if there is none.
     */
    const Entry &
    get(const std::string &name) const;

    /** A new default-constructed plugin @p name (parameters not parsed). */
    std::unique_ptr<Interface>
    create(const std::string &name) const;

    /**
     * Declares, in the current subsection of @p prm, the entry
     * @p selection_entry (a selection among all registered names, default
     * @p default_name) and one subsection per plugin holding its parameters.
     */
    void
    declare_parameters(ParameterHandler & prm,
                       const std::string &selection_entry,
                       const std::string &default_name,
                       const std::string &documentation) const;

    /**
     * Creates the plugin selected in the current subsection of @p prm and
     * lets it parse its own subsection.
     */
    std::unique_ptr<Interface>
    create_and_parse(ParameterHandler &prm, const std::string &selection_entry) const;

    /** A table of names and descriptions, for `ddo list` and error messages. */
    std::string
    describe() const;

  private:
    PluginRegistry() = default;

    std::map<std::string, Entry> entries;
    std::vector<std::string>     duplicate_names;
  };


  /**
   * Loads shared libraries (ASPECT-style "Additional shared libraries") whose
   * static initializers register more plugins. A library that cannot be
   * opened raises an exception that names the file and the loader's reason.
   * A library already loaded is not loaded twice.
   */
  void
  load_plugin_libraries(const std::vector<std::string> &file_names);
} // namespace ddo

#define DDO_PLUGIN_CONCAT_IMPL(a, b) a##b
#define DDO_PLUGIN_CONCAT(a, b) DDO_PLUGIN_CONCAT_IMPL(a, b)

/**
 * Registers plugin class @p Class (derived from @p Interface, default
 * constructible, with a static `declare_parameters(ParameterHandler &)`)
 * under @p name. Use at namespace scope in a .cc file.
 */
#define DDO_REGISTER_PLUGIN(Interface, Class, name, description)             \
  namespace                                                                  \
  {                                                                          \
    const bool DDO_PLUGIN_CONCAT(ddo_plugin_registered_, __COUNTER__) =         \
      ::ddo::PluginRegistry<Interface>::instance().add(                      \
        {name,                                                               \
         description,                                                        \
         [](::dealii::ParameterHandler &prm) {                               \
           Class::declare_parameters(prm);                                   \
         },                                                                  \
         []() -> std::unique_ptr<Interface> {                                \
           return std::make_unique<Class>();                                 \
         }});                                                                \
  }

/**
 * Explicitly instantiates the class template @p Class (derived from
 * @p Interface) for dim = 2 and 3 and registers both under @p name: what
 * every `DDO_REGISTER_*` macro of a plugin kind does. @p Class must name a
 * template of a named namespace (not an anonymous one). Use at global scope
 * in a .cc file.
 */
#define DDO_REGISTER_PLUGIN_FOR_EACH_DIM(Interface, Class, name, description) \
  template class Class<2>;                                                   \
  template class Class<3>;                                                   \
  DDO_REGISTER_PLUGIN(Interface<2>, Class<2>, name, description)             \
  DDO_REGISTER_PLUGIN(Interface<3>, Class<3>, name, description)

#endif
