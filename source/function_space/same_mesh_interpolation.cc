#include <deal.II/distributed/tria_base.h>
#include <deal.II/fe/fe_tools.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/full_matrix.h>

#include <ddo/function_space/same_mesh_interpolation.h>

#include <cmath>
#include <vector>

namespace ddo
{
  namespace
  {
    /**
     * Calls @p visit(target_dof, source_dofs, local_row) once for every
     * target DoF, on the first cell that has it: the row of the
     * interpolation is the same on every cell that shares the DoF, because
     * the source function is continuous.
     */
    template <int dim, typename Visitor>
    void
    for_each_target_dof(const DoFHandler<dim> &source, const DoFHandler<dim> &target, const Visitor &visit)
    {
      std::vector<types::global_dof_index> source_dofs(source.get_fe().n_dofs_per_cell());
      std::vector<types::global_dof_index> target_dofs(target.get_fe().n_dofs_per_cell());
      std::vector<bool>                    done(target.n_dofs(), false);
      for (const auto &cell : target.active_cell_iterators())
        {
          const typename DoFHandler<dim>::active_cell_iterator source_cell(&target.get_triangulation(),
                                                                           cell->level(), cell->index(),
                                                                           &source);
          cell->get_dof_indices(target_dofs);
          source_cell->get_dof_indices(source_dofs);
          for (unsigned int i = 0; i < target_dofs.size(); ++i)
            if (!done[target_dofs[i]])
              {
                done[target_dofs[i]] = true;
                visit(target_dofs[i], source_dofs, i);
              }
        }
    }
  } // namespace


  template <int dim>
  SameMeshInterpolation<dim>::SameMeshInterpolation(const DoFHandler<dim> &source, const DoFHandler<dim> &target)
  {
    AssertThrow(&source.get_triangulation() == &target.get_triangulation(),
                ExcMessage("SameMeshInterpolation: both DoFHandlers must live on the same triangulation."));
    AssertThrow(dynamic_cast<const parallel::TriangulationBase<dim> *>(&target.get_triangulation()) == nullptr,
                ExcMessage("SameMeshInterpolation: distributed triangulations are not supported yet; use a "
                           "serial triangulation (replicated on every rank)."));
    AssertThrow(source.get_fe().n_components() == 1 && target.get_fe().n_components() == 1,
                ExcMessage("SameMeshInterpolation: both elements must be scalar."));
    AssertThrow(!source.has_hp_capabilities() && !target.has_hp_capabilities(),
                ExcMessage("SameMeshInterpolation: hp DoFHandlers are not supported."));
    AssertThrow(target.get_fe().has_support_points(),
                ExcMessage("SameMeshInterpolation: the target element " + target.get_fe().get_name() +
                           " has no support points (interpolation needs a nodal element)."));

    FullMatrix<double> local(target.get_fe().n_dofs_per_cell(), source.get_fe().n_dofs_per_cell());
    FETools::get_interpolation_matrix(source.get_fe(), target.get_fe(), local);
    const double threshold = 1e-13 * local.linfty_norm();

    DynamicSparsityPattern dsp(target.n_dofs(), source.n_dofs());
    for_each_target_dof(source, target,
                        [&](const types::global_dof_index row, const auto &columns, const unsigned int i) {
                          for (unsigned int j = 0; j < columns.size(); ++j)
                            if (std::abs(local(i, j)) > threshold)
                              dsp.add(row, columns[j]);
                        });
    pattern.copy_from(dsp);
    matrix.reinit(pattern);
    for_each_target_dof(source, target,
                        [&](const types::global_dof_index row, const auto &columns, const unsigned int i) {
                          for (unsigned int j = 0; j < columns.size(); ++j)
                            if (std::abs(local(i, j)) > threshold)
                              matrix.set(row, columns[j], local(i, j));
                        });
  }


  template <int dim>
  void
  SameMeshInterpolation<dim>::apply(const Vector<double> &in, Vector<double> &out) const
  {
    AssertThrow(in.size() == matrix.n(),
                ExcMessage("SameMeshInterpolation: the input has " + std::to_string(in.size()) +
                           " entries, the source space " + std::to_string(matrix.n()) + " DoFs."));
    out.reinit(matrix.m());
    matrix.vmult(out, in);
  }


  template <int dim>
  void
  SameMeshInterpolation<dim>::apply_transpose(const Vector<double> &in, Vector<double> &out) const
  {
    AssertThrow(in.size() == matrix.m(),
                ExcMessage("SameMeshInterpolation: the input has " + std::to_string(in.size()) +
                           " entries, the target space " + std::to_string(matrix.m()) + " DoFs."));
    out.reinit(matrix.n());
    matrix.Tvmult(out, in);
  }


  template class SameMeshInterpolation<2>;
  template class SameMeshInterpolation<3>;
} // namespace ddo
