#ifndef ddo_function_transfer_h
#define ddo_function_transfer_h

/**
 * @file
 * Transfer of FE functions between two unrelated meshes of the same domain
 * by FE interpolation: the value of the target function at each target
 * support point is the source function evaluated there.
 *
 * @ingroup function_space
 */

#include <deal.II/base/point.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>

#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_space.h>

#include <string>
#include <utility>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * The interpolation rows of @p points on @p space (serial): row j holds
   * (DoF, weight) with \f$u_h(x_j) = \sum w\,u_\text{DoF}\f$. Points outside
   * the mesh are evaluated in the nearest cell; @p n_outside counts them.
   */
  template <int dim>
  std::vector<std::vector<std::pair<unsigned int, double>>>
  point_evaluation_rows(const FunctionSpace<dim> &     space,
                        const std::vector<Point<dim>> &points,
                        unsigned int *                 n_outside = nullptr);

  /**
   * The interpolation operator \f$T\f$ from a source space to a target space
   * (both serial) as a sparse matrix: \f$(Tu)_i = u_h(x_i)\f$ for the
   * support points \f$x_i\f$ of the target, followed by the target's
   * constraints. Built once (one point location per target DoF through
   * GridTools::compute_point_locations), then applied to many functions at
   * the cost of a sparse matrix-vector product.
   *
   * Target points outside the source mesh (a polygonal approximation of a
   * curved boundary differs between meshes) are evaluated in the nearest
   * source cell at the closest point of its reference cell; their number
   * is reported by n_extrapolated_points().
   */
  template <int dim>
  class FunctionTransfer
  {
  public:
    FunctionTransfer(const FunctionSpace<dim> &source, const FunctionSpace<dim> &target);

    /** @p out = T @p in (full coefficient vectors of the serial spaces). */
    void
    apply(const VectorType &in, VectorType &out) const;

    /** The same for @p n_functions row-major vectors. */
    std::vector<double>
    apply(const std::vector<double> &in, const unsigned int n_functions) const;

    /** Target points that were not inside any source cell. */
    unsigned int
    n_extrapolated_points() const;

  private:
    const FunctionSpace<dim> &source;
    const FunctionSpace<dim> &target;
    SparsityPattern           pattern;
    SparseMatrix<double>      matrix;
    unsigned int              n_extrapolated = 0;
  };


  /**
   * Writes the data set @p source_file, whose functions live on
   * @p source_space, interpolated onto @p target_space (described by
   * @p target_description, see extract_space_description()) as the data set
   * @p target_file. Rows are transferred in blocks, so memory stays bounded.
   * Returns the number of target points evaluated by extrapolation.
   */
  template <int dim>
  unsigned int
  transfer_dataset(const std::string &       source_file,
                   const FunctionSpace<dim> &source_space,
                   const std::string &       target_file,
                   const FunctionSpace<dim> &target_space,
                   const std::string &       target_description);
} // namespace ddo

#endif
