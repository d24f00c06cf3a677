// The mesh geometry `ball`: a ball with a spherical boundary description.

#include <deal.II/grid/grid_generator.h>

#include <ddo/mesh/interface.h>

namespace ddo
{
  namespace mesh_geometries
  {
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
  } // namespace mesh_geometries
} // namespace ddo

DDO_REGISTER_MESH_GEOMETRY(ddo::mesh_geometries::Ball, "ball", "ball with a curved boundary")
