#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/grid_tools_cache.h>

#include <ddo/function_space/function_transfer.h>

#include "field_grid.h"

#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

namespace ddo
{
  namespace driver
  {
    template <int dim>
    FieldGrid<dim>::FieldGrid(const FunctionSpace<dim> &space, const unsigned int resolution)
      : n_dofs(space.n_dofs())
    {
      const auto box = GridTools::compute_bounding_box(space.get_triangulation());
      if (dim == 3)
        {
          for (unsigned int d = 0; d < dim; ++d)
            if (box.side_length(d) < box.side_length(across))
              across = d;
          a = across == 0 ? 1 : 0;
          b = across == 2 ? 1 : 2;
          slice_position = box.center()[across];
        }
      const double width = box.side_length(a), height = box.side_length(b);
      nx = width >= height ? resolution : std::max(8., resolution * width / height);
      ny = height >= width ? resolution : std::max(8., resolution * height / width);
      std::vector<Point<dim>> grid;
      for (unsigned int j = 0; j < ny; ++j)
        for (unsigned int i = 0; i < nx; ++i)
          {
            Point<dim> p = box.center();
            p[a]         = box.lower_bound(a) + width * (i + 0.5) / nx;
            p[b]         = box.lower_bound(b) + height * (j + 0.5) / ny;
            grid.push_back(p);
            coordinates.emplace_back(p[a], p[b]);
          }
      GridTools::Cache<dim> cache(space.get_triangulation(), space.get_mapping());
      const auto            missing = std::get<3>(GridTools::compute_point_locations_try_all(cache, grid));
      std::vector<bool>     inside(grid.size(), true);
      for (const unsigned int m : missing)
        inside[m] = false;
      std::vector<Point<dim>> inside_points;
      inside_index.assign(grid.size(), numbers::invalid_unsigned_int);
      for (unsigned int g = 0; g < grid.size(); ++g)
        if (inside[g])
          {
            inside_index[g] = inside_points.size();
            inside_points.push_back(grid[g]);
          }
      rows = point_evaluation_rows(space, inside_points);
    }


    template <int dim>
    void
    FieldGrid<dim>::write(const std::string &                                       file,
                          const std::vector<std::pair<std::string, const double *>> &functions) const
    {
      std::ofstream out(file);
      out.precision(5);
      out << "# " << "xyz"[a] << ' ' << "xyz"[b] << " on a " << nx << " x " << ny
          << " grid (NaN outside the mesh), then:";
      for (const auto &f : functions)
        out << " \"" << f.first << '"';
      out << '\n';
      for (unsigned int g = 0; g < coordinates.size(); ++g)
        {
          out << coordinates[g].first << ' ' << coordinates[g].second;
          for (const auto &f : functions)
            {
              if (inside_index[g] == numbers::invalid_unsigned_int || f.second == nullptr)
                {
                  out << " NaN";
                  continue;
                }
              double value = 0;
              for (const auto &entry : rows[inside_index[g]])
                value += entry.second * f.second[entry.first];
              out << ' ' << value;
            }
          out << '\n';
          if ((g + 1) % nx == 0)
            out << '\n';
        }
    }


    template <int dim>
    std::string
    FieldGrid<dim>::slice_title() const
    {
      if (dim != 3)
        return "";
      std::ostringstream title;
      title << " (slice " << "xyz"[across] << " = " << std::setprecision(3) << slice_position << ')';
      return title.str();
    }


    template class FieldGrid<2>;
    template class FieldGrid<3>;
  } // namespace driver
} // namespace ddo
