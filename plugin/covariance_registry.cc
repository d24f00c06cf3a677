// The single definition of the registries of covariance models (see
// plugin_registry.cc for the other registries).

#include <ddo/covariance_operator.h>
#include <ddo/plugin_registry.templates.h>

namespace ddo
{
  template class PluginRegistry<CovarianceOperator<2>>;
  template class PluginRegistry<CovarianceOperator<3>>;
} // namespace ddo
