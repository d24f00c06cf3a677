// The mesh geometry `L-shape`: [-1,1]^d without the positive quadrant (octant).

#include <deal.II/grid/grid_generator.h>

#include <ddo/mesh/interface.h>

namespace ddo
{
  namespace mesh_geometries
  {
    /** [-1,1]^d without the positive quadrant/octant. */
    template <int dim>
    class LShape : public MeshGeometry<dim>
    {
    public:
      void
      create_coarse_mesh(Triangulation<dim> &tria) const override
      {
        GridGenerator::hyper_L(tria, -1., 1.);
      }
    };
  } // namespace mesh_geometries
} // namespace ddo

DDO_REGISTER_MESH_GEOMETRY(ddo::mesh_geometries::LShape, "L-shape",
                           "[-1,1]^d without the positive quadrant (octant)")
