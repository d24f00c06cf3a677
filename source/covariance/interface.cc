// The single definition of the registries of covariance models (see
// plugin_registry.cc for the other registries).

#include <ddo/covariance/interface.h>
#include <ddo/base/plugin_registry.templates.h>

namespace ddo
{
  template class PluginRegistry<CovarianceOperator<2>>;
  template class PluginRegistry<CovarianceOperator<3>>;
} // namespace ddo
