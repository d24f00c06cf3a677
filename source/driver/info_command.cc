#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/timer.h>

#include <ddo/function_space/function_space.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/base/output.h>
#include <ddo/base/plugin_registry.h>

#include "commands.h"

#include <iostream>

namespace ddo
{
  namespace driver
  {


    Preamble
    read_preamble(const std::string &prm_text, const std::string &source_name)
    {
      ParameterHandler prm;
      declare_common(prm);
      parse(prm, prm_text, source_name, true);
      load_plugin_libraries(Utilities::split_string_list(prm.get("Plugin libraries")));
      Preamble preamble;
      preamble.dimension = prm.get_integer("Dimension");
      return preamble;
    }


    template <int dim>
    void
    run_info(const std::string &prm_text, const std::string &source_name)
    {
      const MPI_Comm     comm = MPI_COMM_WORLD;
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;

      MeshBuilder<dim> builder;
      builder.parse_parameters(prm);
      prm.enter_subsection("Finite element");
      const unsigned int degree = prm.get_integer("Degree");
      prm.leave_subsection();
      prm.enter_subsection("Output");
      const std::string directory = prm.get("Directory");
      const bool        write     = prm.get_bool("Write VTU");
      prm.leave_subsection();

      std::shared_ptr<Triangulation<dim>> tria;
      {
        TimerOutput::Scope scope(timer, "build mesh");
        tria = builder.create(comm);
      }
      std::unique_ptr<FunctionSpace<dim>> space;
      {
        TimerOutput::Scope scope(timer, "set up function space");
        space = std::make_unique<FunctionSpace<dim>>(tria, degree, builder.periodic_boundaries());
      }
      pcout << "Function space of <" << source_name << ">\n"
            << "geometry:         " << builder.geometry_name << '\n'
            << space->summary();

      if (write)
        {
          TimerOutput::Scope scope(timer, "write VTU");
          // Coordinates of the support points as fields: checks the node order.
          std::vector<VectorType> coordinates(dim, space->create_vector());
          const auto &points = space->locally_owned_support_points();
          const auto &owned  = space->locally_owned_dofs();
          for (unsigned int d = 0; d < dim; ++d)
            {
              for (unsigned int i = 0; i < points.size(); ++i)
                coordinates[d][owned.nth_index_in_set(i)] = points[i][d];
              coordinates[d].compress(VectorOperation::insert);
            }
          std::vector<std::pair<std::string, const VectorType *>> fields = {
            {"quadrature_weight", &space->quadrature_weights()}};
          const char *axis[] = {"x", "y", "z"};
          for (unsigned int d = 0; d < dim; ++d)
            fields.emplace_back(std::string("support_point_") + axis[d], &coordinates[d]);
          const std::string file =
            write_vtu(*space, fields, directory + "/function_space.vtu");
          pcout << "wrote:            " << file << '\n';
        }
    }

    template void run_info<2>(const std::string &, const std::string &);
    template void run_info<3>(const std::string &, const std::string &);


    std::string
    default_parameters()
    {
      // An unstructured, periodic triangle mesh of the unit square: the
      // domain of the Navier-Stokes experiment.
      return R"(
set Dimension = 2
subsection Mesh
  set Geometry = box
  subsection box
    set Subdivisions = 16
  end
  set Cell type = simplex
  set Distortion = 0.25
  set Periodic directions = 0, 1
  set Global refinements = 1
end
subsection Finite element
  set Degree = 1
end
subsection Output
  set Directory = output
end
)";
    }
  } // namespace driver
} // namespace ddo
