// A plugin library for the tests, as an application would write one: it
// registers, in 2d and 3d, the mesh geometry "test_triangle" (the reference
// simplex scaled by a parameter), the data generator "test_square" (the
// pointwise square of the random field, a non-Gaussian push-forward) and the
// covariance model "test_white_noise" (L2 white noise under another name, with
// a variance parameter of its own).

#include <deal.II/grid/grid_generator.h>

#include <ddo/covariance/l2_white_noise_covariance.h>
#include <ddo/generator/interface.h>
#include <ddo/mesh/interface.h>

namespace ddo_test_plugin
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
} // namespace ddo_test_plugin

DDO_REGISTER_MESH_GEOMETRY(ddo_test_plugin::TestTriangle, "test_triangle", "reference simplex (test plugin)")


namespace ddo_test_plugin
{
  template <int dim>
  class TestSquare : public ddo::Generator<dim>
  {
  public:
    void
    initialize(const ddo::FunctionSpace<dim> &) override
    {}

    void
    generate(const ddo::VectorType &random_field, ddo::VectorType &field) override
    {
      field = random_field;
      field.scale(random_field);
    }
  };


  template <int dim>
  class TestWhiteNoise : public ddo::L2WhiteNoiseCovariance<dim>
  {
  public:
    static void
    declare_parameters(dealii::ParameterHandler &prm)
    {
      prm.declare_entry("Label", "outside", dealii::Patterns::Anything(), "Unused; shows the subsection.");
    }

    void
    parse_parameters(dealii::ParameterHandler &prm) override
    {
      label = prm.get("Label");
    }

  private:
    std::string label;
  };
} // namespace ddo_test_plugin

DDO_REGISTER_GENERATOR(ddo_test_plugin::TestSquare, "test_square", "pointwise square of the random field (test plugin)")
DDO_REGISTER_COVARIANCE_MODEL(ddo_test_plugin::TestWhiteNoise, "test_white_noise", "L2 white noise (test plugin)")
