// The single definition of the data generator registries.

#include <ddo/base/plugin_registry.templates.h>
#include <ddo/generator/interface.h>

namespace ddo
{
  template class PluginRegistry<Generator<2>>;
  template class PluginRegistry<Generator<3>>;
} // namespace ddo
