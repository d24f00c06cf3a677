// The mesh geometries shipped with ddo: box, ball, L-shape and Gmsh files.

#include <deal.II/base/utilities.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/grid_in.h>

#include <ddo/mesh_geometry.h>

#include <fstream>

namespace ddo
{
  namespace
  {
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


    /** A ball with a spherical boundary description. */
    template <int dim>
    class Ball : public MeshGeometry<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        prm.declare_entry("Center", "0, 0, 0", Patterns::List(Patterns::Double(), 2, 3),
                          "Center of the ball.");
        prm.declare_entry("Radius", "1", Patterns::Double(0), "Radius of the ball.");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        center = parse_point<dim>(prm.get("Center"), "Center");
        radius = prm.get_double("Radius");
        AssertThrow(radius > 0, ExcMessage("Ball: the radius must be positive."));
      }

      void
      create_coarse_mesh(Triangulation<dim> &tria) const override
      {
        GridGenerator::hyper_ball_balanced(tria, center, radius);
      }

    private:
      Point<dim> center;
      double     radius = 1;
    };


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
  } // namespace
} // namespace ddo

DDO_REGISTER_MESH_GEOMETRY(ddo::Box, "box",
                           "axis-parallel box, subdivided into a grid of cells")
DDO_REGISTER_MESH_GEOMETRY(ddo::Ball, "ball", "ball with a curved boundary")
DDO_REGISTER_MESH_GEOMETRY(ddo::LShape, "L-shape",
                           "[-1,1]^d without the positive quadrant (octant)")
DDO_REGISTER_MESH_GEOMETRY(ddo::GmshFile, "gmsh", "mesh read from a Gmsh .msh file")
