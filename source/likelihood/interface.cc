// The single definition of the likelihood registries.

#include <ddo/base/plugin_registry.templates.h>
#include <ddo/likelihood/interface.h>

namespace ddo
{
  template class PluginRegistry<Likelihood<2>>;
  template class PluginRegistry<Likelihood<3>>;
} // namespace ddo
