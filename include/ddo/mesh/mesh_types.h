#ifndef ddo_mesh_types_h
#define ddo_mesh_types_h

/**
 * @file
 * The small vocabulary types of meshes (cell kind, periodic face pairs), apart
 * from ddo::MeshBuilder so that a function space can name them without the
 * parameter machinery of the mesh plugins.
 *
 * @ingroup mesh
 */

#include <deal.II/base/types.h>

namespace ddo
{
  using namespace dealii;

  /** Kind of cells of a mesh. */
  enum class CellType
  {
    hypercube, ///< quadrilaterals / hexahedra, element FE_Q
    simplex    ///< triangles / tetrahedra, element FE_SimplexP
  };

  /**
   * A pair of boundary ids whose faces are identified periodically along
   * coordinate @p direction.
   */
  struct PeriodicBoundary
  {
    types::boundary_id first;
    types::boundary_id second;
    unsigned int       direction;
  };

  /**
   * The boundary ids given to the faces on the lower and upper side of the
   * bounding box along a periodic @p direction: 100 + 2 direction and
   * 100 + 2 direction + 1 (kept away from the ids generators use).
   */
  PeriodicBoundary
  periodic_boundary_of_direction(const unsigned int direction);
} // namespace ddo

#endif
