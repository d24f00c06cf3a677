// The mesh geometry `gmsh`: a coarse mesh read from a Gmsh .msh file.

#include <deal.II/grid/grid_in.h>

#include <ddo/mesh/interface.h>

#include <fstream>

namespace ddo
{
  namespace mesh_geometries
  {
    /** A mesh read from a Gmsh .msh file (format 2 or 4). */
    template <int dim>
    class GmshFile : public MeshGeometry<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        prm.declare_entry("File name", "", Patterns::Anything(),
                          "Path of the .msh file (relative to the working directory).");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        file_name = prm.get("File name");
        AssertThrow(!file_name.empty(),
                    ExcMessage("Geometry gmsh: set 'File name' to a .msh file."));
      }

      void
      create_coarse_mesh(Triangulation<dim> &tria) const override
      {
        std::ifstream in(file_name);
        AssertThrow(in.good(),
                    ExcMessage("Cannot open the Gmsh file <" + file_name + ">."));
        GridIn<dim> grid_in(tria);
        try
          {
            grid_in.read_msh(in);
          }
        catch (const std::exception &e)
          {
            AssertThrow(false,
                        ExcMessage("Cannot read the Gmsh file <" + file_name +
                                   "> as a " + std::to_string(dim) +
                                   "d mesh: " + e.what()));
          }
      }

    private:
      std::string file_name;
    };
  } // namespace mesh_geometries
} // namespace ddo

DDO_REGISTER_MESH_GEOMETRY(ddo::mesh_geometries::GmshFile, "gmsh", "mesh read from a Gmsh .msh file")
