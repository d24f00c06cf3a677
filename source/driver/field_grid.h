// Fields drawn as images: FE functions of a space interpolated onto a
// uniform grid of the mesh's bounding box (in 3D its mid-plane across the
// shortest side), NaN outside the mesh, for gnuplot's `with image`. Used by
// `ddo metrics` (fields.png) and `ddo posterior` (truth_*.png).

#ifndef ddo_driver_field_grid_h
#define ddo_driver_field_grid_h

#include <ddo/function_space/function_space.h>

#include <string>
#include <utility>
#include <vector>

namespace ddo
{
  namespace driver
  {
    template <int dim>
    class FieldGrid
    {
    public:
      /** About @p resolution points along the longer side of the plotted plane. */
      explicit FieldGrid(const FunctionSpace<dim> &space, const unsigned int resolution = 160);

      /**
       * Writes the grid to @p file: the two plane coordinates, then one
       * column per function (coefficients of the space; null: NaN), a blank
       * line after each grid row; a comment line names the columns.
       */
      void
      write(const std::string &file, const std::vector<std::pair<std::string, const double *>> &functions) const;

      /** " (slice z = 0.5)" in 3D, "" in 2D. */
      std::string
      slice_title() const;

    private:
      std::size_t                                             n_dofs;
      unsigned int                                            a = 0, b = 1, across = 2, nx = 0, ny = 0;
      double                                                  slice_position = 0;
      std::vector<std::pair<double, double>>                  coordinates;
      std::vector<unsigned int>                               inside_index;
      std::vector<std::vector<std::pair<unsigned int, double>>> rows;
    };
  } // namespace driver
} // namespace ddo

#endif
