// A minimal program outside the ddo source tree: builds an unstructured
// triangle mesh, a ddo::FunctionSpace on it, and checks 1^T M 1 = |Omega|.

#include <deal.II/base/mpi.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/tria.h>

#include <ddo/function_space/function_space.h>

#include <iostream>

int
main(int argc, char **argv)
{
  using namespace dealii;
  Utilities::MPI::MPI_InitFinalize mpi(argc, argv, 1);

  // The application owns its mesh; ddo only needs a shared pointer to it.
  Triangulation<2> quads;
  GridGenerator::hyper_rectangle(quads, Point<2>(0, 0), Point<2>(3, 1));
  auto triangles = std::make_shared<Triangulation<2>>();
  GridGenerator::convert_hypercube_to_simplex_mesh(quads, *triangles);
  triangles->refine_global(3);

  const ddo::FunctionSpace<2> space(triangles, 2);
  std::cout << space.summary();
  const bool ok = std::abs(space.volume() - 3.) < 1e-12;
  std::cout << (ok ? "volume ok" : "volume WRONG") << std::endl;
  return ok ? 0 : 1;
}
