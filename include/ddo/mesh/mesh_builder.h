#ifndef ddo_mesh_builder_h
#define ddo_mesh_builder_h

/**
 * @file
 * Creation of the triangulations ddo works on, from a parameter file.
 *
 * @ingroup mesh
 */

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/point.h>
#include <deal.II/grid/tria.h>

#include <ddo/mesh/interface.h>
#include <ddo/mesh/mesh_types.h>

#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;


  /**
   * Builds a triangulation from the parameters of subsection `Mesh`:
   * a coarse mesh from a MeshGeometry plugin; conversion to simplices;
   * deterministic distortion of interior vertices (an unstructured mesh
   * from a structured one); periodic faces; global and local refinement;
   * serial or distributed storage (parallel::distributed::Triangulation for
   * hypercubes, parallel::fullydistributed::Triangulation for simplices).
   *
   * The mesh built is independent of the number of MPI ranks.
   */
  template <int dim>
  class MeshBuilder
  {
  public:
    /** Declares the entries of subsection `Mesh` in the current subsection. */
    static void
    declare_parameters(ParameterHandler &prm);

    /** Reads subsection `Mesh` of the current subsection. */
    void
    parse_parameters(ParameterHandler &prm);

    /** Builds the mesh. Collective on @p comm if it is distributed. */
    std::shared_ptr<Triangulation<dim>>
    create(const MPI_Comm comm) const;

    /** The periodic boundary pairs requested (empty if none). */
    std::vector<PeriodicBoundary>
    periodic_boundaries() const;

    /** The cell type of the meshes this builder makes. */
    CellType
    cell_type() const
    {
      return cells;
    }

    /** Name of the geometry plugin. */
    std::string geometry_name = "box";
    /** The geometry plugin itself, created by parse_parameters(). */
    std::shared_ptr<MeshGeometry<dim>> geometry;
    /** Hypercube or simplex cells. */
    CellType cells = CellType::hypercube;
    /** Whether to distribute the mesh over the ranks of the communicator. */
    bool distributed = false;
    /** Number of global refinements. */
    unsigned int global_refinements = 0;
    /** Local refinement: cycles, each refining the cells whose center is
     * within @p local_refinement_radius of @p local_refinement_center. */
    unsigned int local_refinement_cycles = 0;
    Point<dim>   local_refinement_center;
    double       local_refinement_radius = 0.25;
    /** Interior vertices move by up to this fraction of their shortest
     * adjacent edge (0 = no distortion), applied to the coarse mesh. */
    double distortion = 0.;
    /** Seed of the distortion. */
    unsigned int distortion_seed = 1;
    /** Coordinate directions in which the domain is periodic. */
    std::vector<unsigned int> periodic_directions;
  };
} // namespace ddo

#endif
