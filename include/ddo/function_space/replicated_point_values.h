#ifndef ddo_replicated_point_values_h
#define ddo_replicated_point_values_h

/**
 * @file
 * The values of a field of a (possibly distributed) DoFHandler at a list of
 * points, on every rank: the way back of PointInterpolation.
 *
 * @ingroup function_space
 */

#include <deal.II/base/mpi_remote_point_evaluation.h>
#include <deal.II/base/point.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/fe/mapping.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

#include <memory>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * Evaluates a finite element field of a scalar DoFHandler D (serial or
   * distributed) at given points (the same list on every rank, e.g. the
   * support points of a serial model mesh) and gives every rank all values.
   *
   * Each rank locates its share of the points in the distributed mesh with
   * deal.II's Utilities::MPI::RemotePointEvaluation (the ranks that own the
   * cells evaluate), and the shares are gathered on every rank in the order
   * of the points, so all ranks hold bitwise the same values. A point that
   * no cell contains (the polygonal boundary of D cuts off a point of a
   * curved boundary) is evaluated in a cell that contains it within a
   * quarter of the reference cell; n_extrapolated_points() counts them, and
   * a point farther out is an error.
   */
  template <int dim>
  class ReplicatedPointValues
  {
  public:
    /**
     * Locates @p points (the same on every rank) in the mesh of
     * @p dof_handler with @p mapping (copied). @p dof_handler must outlive
     * the object. Collective over its communicator.
     */
    ReplicatedPointValues(const DoFHandler<dim> &        dof_handler,
                          const Mapping<dim> &           mapping,
                          const std::vector<Point<dim>> &points);

    ~ReplicatedPointValues();

    /**
     * @p values[i] = u(points[i]) on every rank, for @p u the locally owned
     * DoFs of the DoFHandler (a conforming field: hanging-node constraints
     * distributed). Collective.
     */
    void
    evaluate(const VectorType &u, Vector<double> &values) const;

    /** Points (over all ranks) that no cell contains and were evaluated just outside one. */
    unsigned int
    n_extrapolated_points() const;

  private:
    const DoFHandler<dim> &dof_handler;
    /** A copy of the mapping (the point evaluations refer to it; declared before them, destroyed after). */
    const std::unique_ptr<const Mapping<dim>> mapping;
    MPI_Comm               communicator;
    IndexSet               relevant;
    unsigned int           n_points;
    /** This rank's share of the points: [first, first + n_local). */
    unsigned int first;
    unsigned int n_local;
    /** The share, located with a tight tolerance, and the points of the share it missed, located loosely. */
    std::unique_ptr<Utilities::MPI::RemotePointEvaluation<dim>> inside;
    std::unique_ptr<Utilities::MPI::RemotePointEvaluation<dim>> outside;
    std::vector<unsigned int>                                   outside_indices;
    unsigned int                                                n_extrapolated = 0;
  };
} // namespace ddo

#endif
