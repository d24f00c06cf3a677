// The plugin registry: lookup, errors that list valid names, parameter files,
// plugins from shared libraries.

#include <ddo/covariance/interface.h>
#include <ddo/generator/interface.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/mesh/interface.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  std::string
  message_of(const std::function<void()> &f)
  {
    try
      {
        f();
      }
    catch (const std::exception &e)
      {
        return e.what();
      }
    return "";
  }
} // namespace


TEST(PluginRegistry, ShippedGeometriesAreRegisteredInBothDimensions)
{
  for (const std::string name : {"box", "ball", "L-shape", "gmsh"})
    {
      EXPECT_TRUE(MeshGeometryRegistry<2>::instance().has(name)) << name;
      EXPECT_TRUE(MeshGeometryRegistry<3>::instance().has(name)) << name;
    }
  EXPECT_NE(MeshGeometryRegistry<2>::instance().describe().find("L-shape"), std::string::npos);
}


TEST(PluginRegistry, UnknownNameErrorListsValidNames)
{
  const std::string message =
    message_of([] { MeshGeometryRegistry<2>::instance().create("no_such_geometry"); });
  EXPECT_NE(message.find("no_such_geometry"), std::string::npos) << message;
  EXPECT_NE(message.find("box|"), std::string::npos) << message;
  EXPECT_NE(message.find("mesh geometry"), std::string::npos) << message;
}


TEST(PluginRegistry, ParameterFileSelectsPluginAndRejectsUnknownNames)
{
  const auto builder = test_support::make_mesh_builder<2>("set Geometry = L-shape\n");
  EXPECT_EQ(builder.geometry_name, "L-shape");
  EXPECT_EQ(builder.create(MPI_COMM_SELF)->n_active_cells(), 3u);
  // The selection pattern rejects names that are not registered.
  EXPECT_THROW(test_support::make_mesh_builder<2>("set Geometry = no_such_geometry\n"), std::exception);
}


TEST(PluginRegistry, MissingLibraryErrorNamesTheFile)
{
  const std::string message =
    message_of([] { load_plugin_libraries({"/nonexistent/libmissing_plugin.so"}); });
  EXPECT_NE(message.find("/nonexistent/libmissing_plugin.so"), std::string::npos) << message;
}


TEST(PluginRegistry, SharedLibraryAddsPlugins)
{
  EXPECT_FALSE(MeshGeometryRegistry<2>::instance().has("test_triangle"));
  load_plugin_libraries({DDO_TEST_PLUGIN_LIBRARY});
  ASSERT_TRUE(MeshGeometryRegistry<2>::instance().has("test_triangle"));
  ASSERT_TRUE(MeshGeometryRegistry<3>::instance().has("test_triangle"));
  // Loading twice is harmless.
  load_plugin_libraries({DDO_TEST_PLUGIN_LIBRARY});

  // The plugin's mesh (one reference simplex, refined) works end to end.
  const auto space = test_support::make_space<2>("set Geometry = test_triangle\nset Cell type = simplex\n"
                                            "subsection test_triangle\nset Scale = 2\nend\n"
                                            "set Global refinements = 2\n");
  EXPECT_NEAR(space->volume(), 2., 1e-12); // triangle with legs 2
  const auto space3 = test_support::make_space<3>("set Geometry = test_triangle\nset Cell type = simplex\n");
  EXPECT_NEAR(space3->volume(), 1. / 6., 1e-12);
}


TEST(PluginRegistry, SharedLibraryAddsAGeneratorAndACovarianceModel)
{
  load_plugin_libraries({DDO_TEST_PLUGIN_LIBRARY});
  for (const bool has : {GeneratorRegistry<2>::instance().has("test_square"),
                         GeneratorRegistry<3>::instance().has("test_square"),
                         CovarianceRegistry<2>::instance().has("test_white_noise"),
                         CovarianceRegistry<3>::instance().has("test_white_noise")})
    EXPECT_TRUE(has);
  // The built-in generator is there too.
  EXPECT_TRUE(GeneratorRegistry<2>::instance().has("grf"));

  // Both plugins work through the parameter file the way the driver uses them.
  ParameterHandler prm;
  CovarianceRegistry<2>::instance().declare_parameters(prm, "Model", "matern", "");
  GeneratorRegistry<2>::instance().declare_parameters(prm, "Generator", "grf", "");
  prm.parse_input_from_string("set Model = test_white_noise\nset Generator = test_square\n"
                              "subsection test_white_noise\nset Label = here\nend\n");
  auto model     = CovarianceRegistry<2>::instance().create_and_parse(prm, "Model");
  auto generator = GeneratorRegistry<2>::instance().create_and_parse(prm, "Generator");
  const auto space = test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n");
  model->initialize(*space);
  generator->initialize(*space);
  VectorType random_field = space->create_vector();
  VectorType field        = space->create_vector();
  model->sample(random_field, 7, 0);
  generator->generate(random_field, field);
  ASSERT_GT(random_field.linfty_norm(), 0.);
  for (const auto i : space->locally_owned_dofs())
    EXPECT_EQ(field[i], random_field[i] * random_field[i]);
}
