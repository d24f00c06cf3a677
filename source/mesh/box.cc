// The mesh geometry `box`: an axis-parallel box subdivided into a grid of cells.

#include <deal.II/base/utilities.h>
#include <deal.II/grid/grid_generator.h>

#include <ddo/mesh/interface.h>

namespace ddo
{
  namespace mesh_geometries
  {
    /** An axis-parallel box subdivided into a grid of cells. */
    template <int dim>
    class Box : public MeshGeometry<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        prm.declare_entry("Lower corner", "0, 0, 0",
                          Patterns::List(Patterns::Double(), 2, 3),
                          "Lower corner (first dim values used).");
        prm.declare_entry("Upper corner", "1, 1, 1",
                          Patterns::List(Patterns::Double(), 2, 3),
                          "Upper corner (first dim values used).");
        prm.declare_entry("Subdivisions", "1, 1, 1",
                          Patterns::List(Patterns::Integer(1), 1, 3),
                          "Cells per direction of the coarse mesh; one value "
                          "applies to all directions.");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        lower = parse_point<dim>(prm.get("Lower corner"), "Lower corner");
        upper = parse_point<dim>(prm.get("Upper corner"), "Upper corner");
        for (unsigned int d = 0; d < dim; ++d)
          AssertThrow(upper[d] > lower[d],
                      ExcMessage("Box: the upper corner must exceed the lower "
                                 "corner in every direction."));
        const auto n = Utilities::string_to_int(
          Utilities::split_string_list(prm.get("Subdivisions")));
        subdivisions.assign(dim, n[0]);
        if (n.size() > 1)
          {
            AssertThrow(n.size() >= dim,
                        ExcMessage("Box: 'Subdivisions' needs 1 or " +
                                   std::to_string(dim) + " values."));
            for (unsigned int d = 0; d < dim; ++d)
              subdivisions[d] = n[d];
          }
      }

      void
      create_coarse_mesh(Triangulation<dim> &tria) const override
      {
        GridGenerator::subdivided_hyper_rectangle(tria, subdivisions, lower, upper);
      }

    private:
      Point<dim>                lower, upper;
      std::vector<unsigned int> subdivisions;
    };
  } // namespace mesh_geometries
} // namespace ddo

DDO_REGISTER_MESH_GEOMETRY(ddo::mesh_geometries::Box, "box",
                           "axis-parallel box, subdivided into a grid of cells")
