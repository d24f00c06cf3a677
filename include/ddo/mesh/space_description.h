#ifndef ddo_space_description_h
#define ddo_space_description_h

/**
 * @file
 * A function space described as text: the `Mesh` and `Finite element`
 * subsections of a parameter file. Data sets and checkpoints store this text
 * so that the mesh a function lives on can be rebuilt anywhere.
 *
 * @ingroup mesh
 */

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>

#include <ddo/function_space/function_space.h>

#include <memory>
#include <string>

namespace ddo
{
  using namespace dealii;

  /**
   * Extracts the `Mesh` and `Finite element` subsections of @p prm_text (a
   * parameter file for dimension @p dim, other entries ignored) as a
   * self-contained parameter text. Throws with @p source_name in the message
   * if the text is invalid.
   */
  template <int dim>
  std::string
  extract_space_description(const std::string &prm_text,
                            const std::string &source_name = "parameters");

  /**
   * Builds the mesh and function space described by @p description (the
   * output of extract_space_description(), or any parameter text with
   * `Mesh` and `Finite element` subsections). Collective on @p comm.
   */
  template <int dim>
  std::unique_ptr<FunctionSpace<dim>>
  build_function_space(const std::string &description,
                       const MPI_Comm     comm,
                       const std::string &source_name = "space description");
} // namespace ddo

#endif
