// The single definition of the score network registries.

#include <ddo/plugin_registry.templates.h>
#include <ddo/score_network.h>

namespace ddo
{
  template class PluginRegistry<ScoreNetwork<2>>;
  template class PluginRegistry<ScoreNetwork<3>>;
} // namespace ddo
