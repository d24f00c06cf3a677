// The single definition of the score network registries.

#include <ddo/base/plugin_registry.templates.h>
#include <ddo/torch/network/interface.h>

namespace ddo
{
  template class PluginRegistry<ScoreNetwork<2>>;
  template class PluginRegistry<ScoreNetwork<3>>;
} // namespace ddo
