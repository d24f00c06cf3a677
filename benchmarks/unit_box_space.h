// The unit square / cube of the benchmarks as a Q1 FunctionSpace.

#ifndef ddo_benchmarks_unit_box_space_h
#define ddo_benchmarks_unit_box_space_h

#include <deal.II/base/parameter_handler.h>

#include <ddo/function_space/function_space.h>
#include <ddo/mesh/mesh_builder.h>

#include <memory>
#include <string>

namespace ddo
{
  namespace benchmark_support
  {
    /** Q1 on the unit box with @p subdivisions cells per direction, serial. */
    template <int dim>
    std::unique_ptr<FunctionSpace<dim>>
    make_unit_box_space(const unsigned int subdivisions)
    {
      ParameterHandler prm;
      MeshBuilder<dim>::declare_parameters(prm);
      prm.parse_input_from_string("subsection Mesh\nset Geometry = box\nsubsection box\n"
                                  "set Subdivisions = " +
                                  std::to_string(subdivisions) + "\nend\nend\n");
      MeshBuilder<dim> builder;
      builder.parse_parameters(prm);
      return std::make_unique<FunctionSpace<dim>>(builder.create(MPI_COMM_SELF), 1);
    }
  } // namespace benchmark_support
} // namespace ddo

#endif
