#include <deal.II/base/mpi.h>
#include <deal.II/distributed/tria_base.h>
#include <deal.II/grid/grid_tools.h>

#include <ddo/function_space/function_space.h>
#include <ddo/base/hashing.h>

#include <iomanip>
#include <sstream>

namespace ddo
{
  template <int dim>
  std::string
  compute_fingerprint(const Triangulation<dim> &triangulation,
                      const FiniteElement<dim> &fe)
  {
    const MPI_Comm comm = triangulation.get_communicator();
    const bool     shared_over_ranks =
      dynamic_cast<const parallel::TriangulationBase<dim> *>(&triangulation) != nullptr;

    // Resolution of the vertex rounding: relative to the global bounding box.
    Point<dim> lower, upper;
    for (unsigned int d = 0; d < dim; ++d)
      {
        lower[d] = std::numeric_limits<double>::max();
        upper[d] = -std::numeric_limits<double>::max();
      }
    for (const auto &cell : triangulation.active_cell_iterators())
      if (cell->is_locally_owned())
        for (const unsigned int v : cell->vertex_indices())
          for (unsigned int d = 0; d < dim; ++d)
            {
              lower[d] = std::min(lower[d], cell->vertex(v)[d]);
              upper[d] = std::max(upper[d], cell->vertex(v)[d]);
            }
    if (shared_over_ranks)
      for (unsigned int d = 0; d < dim; ++d)
        {
          lower[d] = Utilities::MPI::min(lower[d], comm);
          upper[d] = Utilities::MPI::max(upper[d], comm);
        }
    const double resolution = 1e-9 * std::max(lower.distance(upper), 1e-300);

    // Sum (mod 2^64) of per-cell hashes: independent of the cell order and
    // so of the partition.
    unsigned long long sum = 0;
    for (const auto &cell : triangulation.active_cell_iterators())
      if (cell->is_locally_owned())
        {
          std::uint64_t h = hashing::mix(cell->reference_cell().n_vertices());
          h               = hashing::combine(h, cell->level());
          for (const unsigned int v : cell->vertex_indices())
            h = hashing::combine(h, hashing::of_point(cell->vertex(v), resolution));
          sum += h;
        }
    if (shared_over_ranks)
      sum = Utilities::MPI::sum(sum, comm);

    std::uint64_t h = hashing::combine(hashing::mix(dim), sum);
    h = hashing::combine(h, triangulation.n_global_active_cells());
    h = hashing::combine(h, hashing::of_string(fe.get_name()));

    std::ostringstream out;
    out << std::hex << std::setw(16) << std::setfill('0') << h;
    return out.str();
  }

  template std::string
  compute_fingerprint(const Triangulation<2> &, const FiniteElement<2> &);
  template std::string
  compute_fingerprint(const Triangulation<3> &, const FiniteElement<3> &);
} // namespace ddo
