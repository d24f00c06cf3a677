// A plugin library for the tests: registers the mesh geometry "test_triangle",
// the reference simplex scaled by a parameter, in 2d and 3d.

#include <deal.II/grid/grid_generator.h>

#include <ddo/mesh_geometry.h>

namespace
{
  template <int dim>
  class TestTriangle : public ddo::MeshGeometry<dim>
  {
  public:
    static void
    declare_parameters(dealii::ParameterHandler &prm)
    {
      prm.declare_entry("Scale", "1", dealii::Patterns::Double(0), "Leg length.");
    }

    void
    parse_parameters(dealii::ParameterHandler &prm) override
    {
      scale = prm.get_double("Scale");
    }

    void
    create_coarse_mesh(dealii::Triangulation<dim> &tria) const override
    {
      std::vector<dealii::Point<dim>> vertices(dim + 1);
      for (unsigned int d = 0; d < dim; ++d)
        vertices[d + 1][d] = scale;
      dealii::GridGenerator::simplex(tria, vertices);
    }

  private:
    double scale = 1;
  };
} // namespace

DDO_REGISTER_MESH_GEOMETRY(TestTriangle, "test_triangle", "reference simplex (test plugin)")
