#ifndef ddo_plugin_registry_templates_h
#define ddo_plugin_registry_templates_h

/**
 * @file
 * @ingroup base
 */

// Definitions of PluginRegistry. Included only by the .cc files of the ddo
// library that explicitly instantiate a registry, so that instance() has a
// single definition shared by every shared library in the process.

#include <ddo/base/plugin_registry.h>

#include <iomanip>
#include <sstream>

namespace ddo
{
  template <typename Interface>
  PluginRegistry<Interface> &
  PluginRegistry<Interface>::instance()
  {
    static PluginRegistry<Interface> registry;
    return registry;
  }


  template <typename Interface>
  bool
  PluginRegistry<Interface>::add(Entry entry)
  {
    if (entries.find(entry.name) != entries.end())
      {
        duplicate_names.push_back(entry.name);
        return false;
      }
    const std::string name = entry.name;
    entries.emplace(name, std::move(entry));
    return true;
  }


  template <typename Interface>
  std::vector<std::string>
  PluginRegistry<Interface>::names() const
  {
    std::vector<std::string> result;
    for (const auto &entry : entries)
      result.push_back(entry.first);
    return result;
  }


  template <typename Interface>
  std::string
  PluginRegistry<Interface>::selection_pattern() const
  {
    std::string pattern;
    for (const auto &entry : entries)
      pattern += (pattern.empty() ? "" : "|") + entry.first;
    return pattern;
  }


  template <typename Interface>
  bool
  PluginRegistry<Interface>::has(const std::string &name) const
  {
    return entries.find(name) != entries.end();
  }


  template <typename Interface>
  const typename PluginRegistry<Interface>::Entry &
  PluginRegistry<Interface>::get(const std::string &name) const
  {
    AssertThrow(duplicate_names.empty(),
                ExcMessage("Two plugins of kind <" + Interface::plugin_kind() +
                           "> were registered under the name <" +
                           duplicate_names.front() +
                           ">; rename one of them."));
    const auto it = entries.find(name);
    AssertThrow(it != entries.end(),
                ExcMessage("There is no plugin of kind <" +
                           Interface::plugin_kind() + "> named <" + name +
                           ">. Valid names are: " + selection_pattern() +
                           ". (Plugins from extra shared libraries need "
                           "'set Plugin libraries = ...'.)"));
    return it->second;
  }


  template <typename Interface>
  std::unique_ptr<Interface>
  PluginRegistry<Interface>::create(const std::string &name) const
  {
    return get(name).create();
  }


  template <typename Interface>
  void
  PluginRegistry<Interface>::declare_parameters(
    ParameterHandler & prm,
    const std::string &selection_entry,
    const std::string &default_name,
    const std::string &documentation) const
  {
    AssertThrow(has(default_name),
                ExcMessage("Default plugin <" + default_name + "> of kind <" +
                           Interface::plugin_kind() + "> is not registered."));
    prm.declare_entry(selection_entry,
                      default_name,
                      Patterns::Selection(selection_pattern()),
                      documentation + " Registered: " + selection_pattern() +
                        ".");
    for (const auto &entry : entries)
      {
        prm.enter_subsection(entry.first);
        entry.second.declare_parameters(prm);
        prm.leave_subsection();
      }
  }


  template <typename Interface>
  std::unique_ptr<Interface>
  PluginRegistry<Interface>::create_and_parse(
    ParameterHandler & prm,
    const std::string &selection_entry) const
  {
    const std::string name   = prm.get(selection_entry);
    auto              plugin = create(name);
    prm.enter_subsection(name);
    plugin->parse_parameters(prm);
    prm.leave_subsection();
    return plugin;
  }


  template <typename Interface>
  std::string
  PluginRegistry<Interface>::describe() const
  {
    std::ostringstream out;
    out << "Plugins of kind <" << Interface::plugin_kind() << ">:\n";
    for (const auto &entry : entries)
      out << "  " << std::left << std::setw(20) << entry.first << " "
          << entry.second.description << '\n';
    return out.str();
  }
} // namespace ddo

#endif
