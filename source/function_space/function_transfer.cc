#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/grid_tools_cache.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>

#include <ddo/function_space/function_transfer.h>

#include <limits>

namespace ddo
{
  namespace
  {
    /** The point of the reference cell closest to @p p (simplex: approximately). */
    template <int dim>
    Point<dim>
    clamp_to_reference_cell(const ReferenceCell &reference_cell, Point<dim> p)
    {
      for (unsigned int d = 0; d < dim; ++d)
        p[d] = std::max(p[d], 0.);
      if (reference_cell.is_hyper_cube())
        for (unsigned int d = 0; d < dim; ++d)
          p[d] = std::min(p[d], 1.);
      else
        {
          double sum = 0;
          for (unsigned int d = 0; d < dim; ++d)
            sum += p[d];
          if (sum > 1)
            p /= sum;
        }
      return p;
    }
  } // namespace


  template <int dim>
  std::vector<std::vector<std::pair<unsigned int, double>>>
  point_evaluation_rows(const FunctionSpace<dim> &space, const std::vector<Point<dim>> &points,
                        unsigned int *n_outside)
  {
    AssertThrow(!space.is_distributed(), ExcMessage("Point evaluation works on serial (replicated) meshes."));
    GridTools::Cache<dim> cache(space.get_triangulation(), space.get_mapping());
    const auto  located        = GridTools::compute_point_locations_try_all(cache, points);
    const auto &cells          = std::get<0>(located);
    const auto &reference      = std::get<1>(located);
    const auto &point_indices  = std::get<2>(located);
    const auto &missing_points = std::get<3>(located);

    // Each point as (cell, reference point).
    std::vector<typename Triangulation<dim>::active_cell_iterator> point_cell(points.size());
    std::vector<Point<dim>>                                         point_reference(points.size());
    for (unsigned int c = 0; c < cells.size(); ++c)
      for (unsigned int q = 0; q < point_indices[c].size(); ++q)
        {
          point_cell[point_indices[c][q]]      = cells[c];
          point_reference[point_indices[c][q]] = reference[c][q];
        }
    if (n_outside != nullptr)
      *n_outside = missing_points.size();
    const auto &vertex_to_cells = cache.get_vertex_to_cell_map();
    for (const unsigned int i : missing_points)
      {
        const unsigned int vertex =
          GridTools::find_closest_vertex(space.get_mapping(), space.get_triangulation(), points[i]);
        double best = std::numeric_limits<double>::max();
        for (const auto &cell : vertex_to_cells[vertex])
          {
            Point<dim> unit;
            try
              {
                unit = space.get_mapping().transform_real_to_unit_cell(cell, points[i]);
              }
            catch (const typename Mapping<dim>::ExcTransformationFailed &)
              {
                continue;
              }
            const Point<dim> clamped  = clamp_to_reference_cell(cell->reference_cell(), unit);
            const double     distance = clamped.distance(unit);
            if (distance < best)
              {
                best               = distance;
                point_cell[i]      = cell;
                point_reference[i] = clamped;
              }
          }
        AssertThrow(best < std::numeric_limits<double>::max(),
                    ExcMessage("Point evaluation: the point " + Utilities::to_string(points[i][0]) +
                               ", ... lies far outside the mesh."));
      }

    const auto &                         fe = space.get_fe();
    std::vector<types::global_dof_index> dofs(fe.n_dofs_per_cell());
    std::vector<std::vector<std::pair<unsigned int, double>>> rows(points.size());
    for (unsigned int i = 0; i < points.size(); ++i)
      {
        const typename DoFHandler<dim>::active_cell_iterator cell(&space.get_triangulation(),
                                                                  point_cell[i]->level(),
                                                                  point_cell[i]->index(),
                                                                  &space.get_dof_handler());
        cell->get_dof_indices(dofs);
        for (unsigned int j = 0; j < dofs.size(); ++j)
          {
            const double value = fe.shape_value(j, point_reference[i]);
            if (value != 0.)
              rows[i].emplace_back(dofs[j], value);
          }
      }
    return rows;
  }


  template <int dim>
  FunctionTransfer<dim>::FunctionTransfer(const FunctionSpace<dim> &source, const FunctionSpace<dim> &target)
    : source(source)
    , target(target)
  {
    AssertThrow(!source.is_distributed() && !target.is_distributed(),
                ExcMessage("FunctionTransfer works between serial (replicated) meshes."));
    const auto &points = target.locally_owned_support_points();
    AssertThrow(points.size() == target.n_dofs(), ExcInternalError());
    const auto rows = point_evaluation_rows(source, points, &n_extrapolated);

    DynamicSparsityPattern dsp(target.n_dofs(), source.n_dofs());
    for (unsigned int i = 0; i < rows.size(); ++i)
      for (const auto &entry : rows[i])
        dsp.add(i, entry.first);
    pattern.copy_from(dsp);
    matrix.reinit(pattern);
    for (unsigned int i = 0; i < rows.size(); ++i)
      for (const auto &entry : rows[i])
        matrix.add(i, entry.first, entry.second);
  }


  template <int dim>
  void
  FunctionTransfer<dim>::apply(const VectorType &in, VectorType &out) const
  {
    AssertThrow(in.size() == source.n_dofs(), ExcMessage("FunctionTransfer: input of the wrong size."));
    Vector<double> in_values(in.begin(), in.end()), out_values(target.n_dofs());
    matrix.vmult(out_values, in_values);
    target.get_constraints().distribute(out_values);
    out = target.create_vector();
    std::copy(out_values.begin(), out_values.end(), out.begin());
  }


  template <int dim>
  std::vector<double>
  FunctionTransfer<dim>::apply(const std::vector<double> &in, const unsigned int n_functions) const
  {
    const std::size_t n_in = source.n_dofs(), n_out = target.n_dofs();
    AssertThrow(in.size() == n_in * n_functions, ExcMessage("FunctionTransfer: input of the wrong size."));
    std::vector<double> out(n_out * n_functions);
    Vector<double>      in_values(n_in), out_values(n_out);
    for (unsigned int f = 0; f < n_functions; ++f)
      {
        std::copy(in.begin() + f * n_in, in.begin() + (f + 1) * n_in, in_values.begin());
        matrix.vmult(out_values, in_values);
        target.get_constraints().distribute(out_values);
        std::copy(out_values.begin(), out_values.end(), out.begin() + f * n_out);
      }
    return out;
  }


  template <int dim>
  unsigned int
  FunctionTransfer<dim>::n_extrapolated_points() const
  {
    return n_extrapolated;
  }


  template <int dim>
  unsigned int
  transfer_dataset(const std::string &       source_file,
                   const FunctionSpace<dim> &source_space,
                   const std::string &       target_file,
                   const FunctionSpace<dim> &target_space,
                   const std::string &       target_description)
  {
    FunctionDatasetReader reader(source_file);
    reader.check_compatible(source_space);
    const FunctionTransfer<dim> transfer(source_space, target_space);
    FunctionDatasetWriter       writer(target_file, target_space, target_description, reader.info().n_samples,
                                 reader.info().description + " (interpolated from <" + source_file + ">)",
                                 /*resume=*/false, /*overwrite=*/true);
    const unsigned int  block = 64;
    std::vector<double> values;
    for (unsigned int first = 0; first < reader.info().n_samples; first += block)
      {
        const unsigned int count = std::min(block, reader.info().n_samples - first);
        reader.read(first, count, values);
        const auto out = transfer.apply(values, count);
        for (unsigned int s = 0; s < count; ++s)
          writer.write(first + s, out.data() + std::size_t(s) * target_space.n_dofs());
      }
    writer.finalize();
    return transfer.n_extrapolated_points();
  }


  template std::vector<std::vector<std::pair<unsigned int, double>>>
  point_evaluation_rows(const FunctionSpace<2> &, const std::vector<Point<2>> &, unsigned int *);
  template std::vector<std::vector<std::pair<unsigned int, double>>>
  point_evaluation_rows(const FunctionSpace<3> &, const std::vector<Point<3>> &, unsigned int *);
  template class FunctionTransfer<2>;
  template class FunctionTransfer<3>;
} // namespace ddo


namespace ddo
{
  template unsigned int transfer_dataset<2>(const std::string &, const FunctionSpace<2> &, const std::string &,
                                            const FunctionSpace<2> &, const std::string &);
  template unsigned int transfer_dataset<3>(const std::string &, const FunctionSpace<3> &, const std::string &,
                                            const FunctionSpace<3> &, const std::string &);
} // namespace ddo
