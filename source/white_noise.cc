#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/vector.h>

#include <ddo/hashing.h>
#include <ddo/white_noise.h>

#include <algorithm>
#include <cmath>

namespace ddo
{
  template <int dim>
  WhiteNoise<dim>::WhiteNoise(const FunctionSpace<dim> &space)
    : WhiteNoise(space,
                 [&space,
                  fe_values = std::make_shared<FEValues<dim>>(space.get_mapping(),
                                                              space.get_fe(),
                                                              space.get_quadrature(),
                                                              update_values |
                                                                update_JxW_values)](
                   const typename DoFHandler<dim>::active_cell_iterator &cell,
                   FullMatrix<double> &                                   matrix) {
                   local_mass_matrix(*fe_values, cell, matrix);
                 })
  {}


  template <int dim>
  WhiteNoise<dim>::WhiteNoise(const FunctionSpace<dim> &space_in,
                              const CellMatrixFunction &cell_matrix)
    : space(space_in)
  {
    const unsigned int n = space.get_fe().n_dofs_per_cell();
    FullMatrix<double> matrix(n, n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      if (cell->is_locally_owned())
        {
          CellData data;
          data.id_hash = cell_hash(cell);
          data.dof_indices.resize(n);
          cell->get_dof_indices(data.dof_indices);
          matrix = 0;
          cell_matrix(cell, matrix);
          AssertThrow(matrix.m() == n && matrix.n() == n,
                      ExcMessage("WhiteNoise: the cell matrix function must fill an " +
                                 std::to_string(n) + " x " + std::to_string(n) +
                                 " matrix."));
          try
            {
              data.cholesky_factor.cholesky(matrix);
            }
          catch (const std::exception &)
            {
              AssertThrow(false,
                          ExcMessage("WhiteNoise: a cell matrix is not positive "
                                     "definite (degenerate cell, or a quadrature "
                                     "too weak for the element?). Cell " +
                                     cell->id().to_string() + "."));
            }
          // The fast path of sample(): direct writes into the owned storage.
          const auto &owned       = space.locally_owned_dofs();
          bool        plain       = true;
          for (const auto i : data.dof_indices)
            plain = plain && owned.is_element(i) && !space.get_constraints().is_constrained(i);
          if (plain)
            for (const auto i : data.dof_indices)
              data.local_positions.push_back(owned.index_within_set(i));
          cells.push_back(std::move(data));
        }
  }


  template <int dim>
  void
  WhiteNoise<dim>::local_mass_matrix(FEValues<dim> &                                       fe_values,
                                     const typename DoFHandler<dim>::active_cell_iterator &cell,
                                     FullMatrix<double> &cell_matrix)
  {
    const unsigned int n = fe_values.get_fe().n_dofs_per_cell();
    fe_values.reinit(cell);
    cell_matrix.reinit(n, n);
    for (const unsigned int q : fe_values.quadrature_point_indices())
      for (unsigned int i = 0; i < n; ++i)
        for (unsigned int j = 0; j <= i; ++j)
          cell_matrix(i, j) +=
            fe_values.shape_value(i, q) * fe_values.shape_value(j, q) * fe_values.JxW(q);
    for (unsigned int i = 0; i < n; ++i)
      for (unsigned int j = i + 1; j < n; ++j)
        cell_matrix(i, j) = cell_matrix(j, i);
  }


  template <int dim>
  std::uint64_t
  WhiteNoise<dim>::cell_hash(const typename DoFHandler<dim>::active_cell_iterator &cell)
  {
    // Not cell->id(): a parallel::distributed::Triangulation numbers its
    // coarse cells in p4est's tree order, so its CellIds differ from those
    // of the same mesh stored serially. The center of an active cell is
    // unique, computed bit-identically from the same vertices in every kind
    // of triangulation, and rounded to a tiny fraction of the cell size.
    double size = 0; // the longest edge from vertex 0 (any cell type)
    for (unsigned int v = 1; v < cell->n_vertices(); ++v)
      size = std::max(size, cell->vertex(0).distance(cell->vertex(v)));
    return hashing::combine(hashing::mix(cell->level()),
                            hashing::of_point(cell->center(), 1e-6 * size));
  }


  template <int dim>
  void
  WhiteNoise<dim>::standard_normal(const std::uint64_t stream_seed, Vector<double> &z)
  {
    // splitmix64: output k is mix(seed + k * golden ratio); Box–Muller pairs.
    constexpr double two_pi = 6.283185307179586476925286766559;
    std::uint64_t    state  = stream_seed;
    for (unsigned int i = 0; i < z.size(); i += 2)
      {
        const double u1 = 1. - hashing::to_unit_interval(hashing::mix(state)); // (0, 1]
        state += 0x9e3779b97f4a7c15ULL;
        const double u2 = hashing::to_unit_interval(hashing::mix(state));
        state += 0x9e3779b97f4a7c15ULL;
        const double r = std::sqrt(-2. * std::log(u1));
        z(i)           = r * std::cos(two_pi * u2);
        if (i + 1 < z.size())
          z(i + 1) = r * std::sin(two_pi * u2);
      }
  }


  template <int dim>
  void
  WhiteNoise<dim>::sample(VectorType &        b,
                          const std::uint64_t seed,
                          const std::uint64_t sample_index) const
  {
    if (b.size() != space.n_dofs() || b.locally_owned_elements() != space.locally_owned_dofs() ||
        b.has_ghost_elements())
      b = space.create_vector();
    else
      b = 0.;

    const unsigned int        n = space.get_fe().n_dofs_per_cell();
    Vector<double>            z(n), local(n);
    const std::uint64_t       sample_seed = hashing::combine(hashing::mix(seed), sample_index);
    const auto &              constraints = space.get_constraints();
    // Cells with only owned, unconstrained DoFs (almost all) add straight
    // into the owned storage; the rest go through the constraints (owned
    // entries land in the same storage, others are sent by compress()).
    double *const owned_values = b.begin();
    for (const CellData &cell : cells)
      {
        standard_normal(hashing::combine(sample_seed, cell.id_hash), z);
        cell.cholesky_factor.vmult(local, z);
        if (!cell.local_positions.empty())
          for (unsigned int i = 0; i < n; ++i)
            owned_values[cell.local_positions[i]] += local[i];
        else
          constraints.distribute_local_to_global(local, cell.dof_indices, b);
      }
    b.compress(VectorOperation::add);
  }


  template class WhiteNoise<2>;
  template class WhiteNoise<3>;
} // namespace ddo
