// The single definition of the quantity-of-interest registries.

#include <ddo/base/plugin_registry.templates.h>
#include <ddo/quantity/interface.h>

namespace ddo
{
  template class PluginRegistry<QuantityOfInterest<2>>;
  template class PluginRegistry<QuantityOfInterest<3>>;
} // namespace ddo
