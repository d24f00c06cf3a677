#ifndef ddo_mesh_geometry_h
#define ddo_mesh_geometry_h

/**
 * @file
 * The plugin kind "mesh geometry": something that creates a coarse mesh of a
 * domain (a deal.II generator, a Gmsh file, ...). Refinement, conversion to
 * simplices, distortion, periodicity and distribution are applied afterwards
 * by ddo::MeshBuilder, the same way for every geometry.
 *
 * @ingroup mesh
 */

#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/point.h>
#include <deal.II/grid/tria.h>

#include <ddo/base/plugin_registry.h>

#include <string>

namespace ddo
{
  using namespace dealii;

  /** Interface of the plugins that create a coarse mesh. */
  template <int dim>
  class MeshGeometry
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "mesh geometry (" + std::to_string(dim) + "d)";
    }

    virtual ~MeshGeometry() = default;

    /** Declares the parameters of this geometry (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}

    /** Reads the parameters declared by declare_parameters(). */
    virtual void
    parse_parameters(ParameterHandler &)
    {}

    /**
     * Fills the empty triangulation @p tria with the coarse mesh. It may
     * consist of hypercube or simplex cells; @p tria may be a distributed
     * triangulation, so only use functions that accept any Triangulation.
     */
    virtual void
    create_coarse_mesh(Triangulation<dim> &tria) const = 0;
  };

  /**
   * The point given by the comma-separated coordinates @p text (the first
   * dim values are used); @p entry names the parameter in the error message.
   */
  template <int dim>
  Point<dim>
  parse_point(const std::string &text, const std::string &entry);

  /** The registry of mesh geometries in dimension @p dim. */
  template <int dim>
  using MeshGeometryRegistry = PluginRegistry<MeshGeometry<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a mesh geometry for dim = 2 and 3 and
 * instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_MESH_GEOMETRY(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::MeshGeometry, Class, name, description)

#endif
