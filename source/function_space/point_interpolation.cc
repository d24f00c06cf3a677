#include <deal.II/base/mpi.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>

#include <ddo/function_space/function_transfer.h>
#include <ddo/function_space/point_interpolation.h>

#include <map>

namespace ddo
{
  namespace
  {
    using Row = std::vector<std::pair<unsigned int, double>>;

    /** The support points of the locally relevant DoFs of @p target. */
    template <int dim>
    std::map<types::global_dof_index, Point<dim>>
    relevant_support_points(const DoFHandler<dim> &target, const Mapping<dim> &mapping)
    {
      AssertThrow(target.get_fe().n_components() == 1 && target.get_fe().has_support_points(),
                  ExcMessage("PointInterpolation: the target element " + target.get_fe().get_name() +
                             " must be scalar and nodal (have support points)."));
      std::map<types::global_dof_index, Point<dim>> points;
      DoFTools::map_dofs_to_support_points(mapping, target, points);
      return points;
    }


    /**
     * The row of the owned DoF @p dof: its own point's row, or for a
     * hanging DoF the combination of its parents' rows.
     */
    Row
    constrained_row(const types::global_dof_index                      dof,
                    const AffineConstraints<double> &                  hanging,
                    const std::map<types::global_dof_index, unsigned> &index_of,
                    const std::vector<Row> &                           point_rows)
    {
      if (!hanging.is_constrained(dof))
        return point_rows[index_of.at(dof)];
      std::map<unsigned int, double> combined;
      for (const auto &[parent, weight] : *hanging.get_constraint_entries(dof))
        for (const auto &[column, value] : point_rows[index_of.at(parent)])
          combined[column] += weight * value;
      return Row(combined.begin(), combined.end());
    }
  } // namespace


  template <int dim>
  PointInterpolation<dim>::PointInterpolation(const FunctionSpace<dim> &source,
                                              const DoFHandler<dim> &   target,
                                              const Mapping<dim> &      target_mapping)
    : communicator(target.get_triangulation().get_communicator())
    , owned(target.locally_owned_dofs())
    , n_source_dofs(source.n_dofs())
  {
    AssertThrow(!source.is_distributed(),
                ExcMessage("PointInterpolation: the source space must be serial (the same mesh on every rank)."));
    AssertThrow(target.n_dofs() > 0,
                ExcMessage("PointInterpolation: the target DoFHandler has no DoFs; call distribute_dofs() first."));

    // Owned points first, then the other relevant ones (parents of hanging
    // DoFs may be ghosts): two evaluations, so that the owned points'
    // count of extrapolations adds up to each point once over the ranks.
    const auto                                  support = relevant_support_points(target, target_mapping);
    std::vector<Point<dim>>                     owned_points, ghost_points;
    std::map<types::global_dof_index, unsigned> index_of;
    for (const auto &[dof, point] : support)
      if (owned.is_element(dof))
        {
          index_of[dof] = owned_points.size();
          owned_points.push_back(point);
        }
    for (const auto &[dof, point] : support)
      if (!owned.is_element(dof))
        {
          index_of[dof] = owned_points.size() + ghost_points.size();
          ghost_points.push_back(point);
        }
    // A point far outside the source mesh may lie on one rank only: every
    // rank learns of it before the collective calls that follow.
    unsigned int     owned_outside = 0;
    std::vector<Row> point_rows;
    std::string      failure;
    try
      {
        point_rows = point_evaluation_rows(source, owned_points, &owned_outside);
        if (!ghost_points.empty())
          for (auto &row : point_evaluation_rows(source, ghost_points))
            point_rows.push_back(std::move(row));
      }
    catch (const std::exception &error)
      {
        failure = error.what();
      }
    AssertThrow(Utilities::MPI::max(static_cast<int>(!failure.empty()), communicator) == 0,
                ExcMessage("PointInterpolation: a support point of the target lies far outside the source mesh "
                           "(the two meshes must cover the same domain)" +
                           (failure.empty() ? std::string(" on another rank.") : ": " + failure)));
    n_extrapolated = Utilities::MPI::sum(owned_outside, communicator);

    IndexSet relevant;
    DoFTools::extract_locally_relevant_dofs(target, relevant);
    AffineConstraints<double> hanging(relevant);
    DoFTools::make_hanging_node_constraints(target, hanging);
    hanging.close();

    std::vector<Row> rows;
    rows.reserve(owned.n_elements());
    for (const auto dof : owned)
      rows.push_back(constrained_row(dof, hanging, index_of, point_rows));

    DynamicSparsityPattern dsp(rows.size(), n_source_dofs);
    for (unsigned int r = 0; r < rows.size(); ++r)
      for (const auto &entry : rows[r])
        dsp.add(r, entry.first);
    pattern.copy_from(dsp);
    matrix.reinit(pattern);
    for (unsigned int r = 0; r < rows.size(); ++r)
      for (const auto &entry : rows[r])
        matrix.set(r, entry.first, entry.second);
  }


  template <int dim>
  void
  PointInterpolation<dim>::apply(const Vector<double> &in, VectorType &out) const
  {
    AssertThrow(in.size() == n_source_dofs,
                ExcMessage("PointInterpolation: the input has " + std::to_string(in.size()) +
                           " entries, the source space " + std::to_string(n_source_dofs) + " DoFs."));
    Vector<double> local(matrix.m());
    if (matrix.m() > 0) // a rank may own no DoFs
      matrix.vmult(local, in);
    out.reinit(owned, communicator);
    unsigned int r = 0;
    for (const auto dof : owned)
      out[dof] = local[r++];
    out.compress(VectorOperation::insert);
  }


  template <int dim>
  void
  PointInterpolation<dim>::apply_transpose(const VectorType &in, Vector<double> &out) const
  {
    AssertThrow(in.locally_owned_elements() == owned,
                ExcMessage("PointInterpolation: the input vector must hold the target's locally owned DoFs."));
    Vector<double> local(matrix.m());
    unsigned int   r = 0;
    for (const auto dof : owned)
      local[r++] = in[dof];
    Vector<double> contribution(n_source_dofs);
    if (matrix.m() > 0)
      matrix.Tvmult(contribution, local);
    out.reinit(n_source_dofs);
    if (Utilities::MPI::n_mpi_processes(communicator) == 1)
      {
        out = contribution;
        return;
      }
    const int ierr = MPI_Reduce(contribution.begin(), out.begin(), n_source_dofs, MPI_DOUBLE, MPI_SUM, 0, communicator);
    AssertThrowMPI(ierr);
    const int ierr2 = MPI_Bcast(out.begin(), n_source_dofs, MPI_DOUBLE, 0, communicator);
    AssertThrowMPI(ierr2);
  }


  template <int dim>
  unsigned int
  PointInterpolation<dim>::n_extrapolated_points() const
  {
    return n_extrapolated;
  }


  template <int dim>
  MPI_Comm
  PointInterpolation<dim>::get_mpi_communicator() const
  {
    return communicator;
  }


  template class PointInterpolation<2>;
  template class PointInterpolation<3>;
} // namespace ddo
