// The single definition of the mesh geometry registries, and what the
// geometries share.

#include <deal.II/base/utilities.h>

#include <ddo/base/plugin_registry.templates.h>
#include <ddo/mesh/interface.h>

namespace ddo
{
  template class PluginRegistry<MeshGeometry<2>>;
  template class PluginRegistry<MeshGeometry<3>>;


  template <int dim>
  Point<dim>
  parse_point(const std::string &text, const std::string &entry)
  {
    const auto values =
      Utilities::string_to_double(Utilities::split_string_list(text));
    AssertThrow(values.size() >= dim,
                ExcMessage("'" + entry + "' needs " + std::to_string(dim) +
                           " coordinates, got '" + text + "'."));
    Point<dim> p;
    for (unsigned int d = 0; d < dim; ++d)
      p[d] = values[d];
    return p;
  }


  template Point<2>
  parse_point<2>(const std::string &, const std::string &);
  template Point<3>
  parse_point<3>(const std::string &, const std::string &);
} // namespace ddo
