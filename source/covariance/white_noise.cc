#include <deal.II/base/multithread_info.h>
#include <deal.II/base/thread_management.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/vector.h>

#include <ddo/base/hashing.h>
#include <ddo/base/random.h>
#include <ddo/covariance/white_noise.h>

#include <boost/random/normal_distribution.hpp>

#include <algorithm>
#include <cmath>

namespace ddo
{
  namespace
  {
    /**
     * The standard normal numbers of one stream: Boost.Random's
     * normal_distribution (a ziggurat) driven by the counter-based engine
     * ddo::CounterEngine. Measured side by side with a hand-written
     * 256-layer ziggurat and std::normal_distribution on the same engine in
     * streams of 3 and 6 numbers (benchmarks/normal_numbers_benchmark.cc):
     * 0.81-0.96x the time of the hand-written ziggurat (4.4-5.0 ns per
     * number), std::normal_distribution 2.7-4.0x.
     */
    class NormalStream
    {
    public:
      explicit NormalStream(const std::uint64_t seed)
        : engine(seed)
      {}

      double
      next()
      {
        return normal(engine);
      }

    private:
      CounterEngine                              engine;
      boost::random::normal_distribution<double> normal;
    };
  } // namespace


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
    , n_dofs_per_cell(space_in.get_fe().n_dofs_per_cell())
  {
    const unsigned int n           = n_dofs_per_cell;
    const auto &       owned       = space.locally_owned_dofs();
    const auto &       constraints = space.get_constraints();
    FullMatrix<double> matrix(n, n), factor(n, n);
    std::vector<types::global_dof_index> dof_indices(n);
    const auto n_cells = space.get_triangulation().n_active_cells(); // an upper bound
    cell_hashes.reserve(n_cells);
    packed_factors.reserve(std::size_t(n_cells) * n * (n + 1) / 2);
    positions.reserve(std::size_t(n_cells) * n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      if (cell->is_locally_owned())
        {
          cell->get_dof_indices(dof_indices);
          matrix = 0;
          cell_matrix(cell, matrix);
          AssertThrow(matrix.m() == n && matrix.n() == n,
                      ExcMessage("WhiteNoise: the cell matrix function must fill an " +
                                 std::to_string(n) + " x " + std::to_string(n) +
                                 " matrix."));
          try
            {
              factor.cholesky(matrix);
            }
          catch (const std::exception &)
            {
              AssertThrow(false,
                          ExcMessage("WhiteNoise: a cell matrix is not positive "
                                     "definite (degenerate cell, or a quadrature "
                                     "too weak for the element?). Cell " +
                                     cell->id().to_string() + "."));
            }
          cell_hashes.push_back(cell_hash(cell));
          for (unsigned int i = 0; i < n; ++i)
            for (unsigned int j = 0; j <= i; ++j)
              packed_factors.push_back(factor(i, j));

          bool plain = true;
          for (const auto i : dof_indices)
            plain = plain && owned.is_element(i) && !constraints.is_constrained(i);
          if (plain)
            {
              for (const auto i : dof_indices)
                positions.push_back(owned.index_within_set(i));
              continue;
            }
          // A cell with constraints or foreign DoFs: resolve where its
          // entries go, in the order of distribute_local_to_global().
          ConstrainedCell data;
          data.dof_indices = dof_indices;
          data.target_start.push_back(0);
          const auto add_target = [&](const types::global_dof_index i, const double weight) {
            if (owned.is_element(i))
              data.targets.emplace_back(owned.index_within_set(i), weight);
            else
              data.all_owned = false;
          };
          for (const auto i : dof_indices)
            {
              if (const auto *entries = constraints.get_constraint_entries(i))
                for (const auto &[target, weight] : *entries)
                  add_target(target, weight);
              else if (!constraints.is_constrained(i))
                add_target(i, 1.);
              data.target_start.push_back(data.targets.size());
            }
          only_owned_contributions = only_owned_contributions && data.all_owned;
          constrained_cell_index.resize(cell_hashes.size(), numbers::invalid_unsigned_int);
          constrained_cell_index.back() = constrained_cells.size();
          positions.push_back(numbers::invalid_unsigned_int);
          positions.resize(positions.size() + n - 1, 0);
          constrained_cells.push_back(std::move(data));
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
    NormalStream stream(stream_seed);
    for (double &value : z)
      value = stream.next();
  }


  template <int dim>
  inline void
  WhiteNoise<dim>::local_contribution(const std::uint64_t sample_seed,
                                      const unsigned int  c,
                                      double *            z,
                                      double *            local) const
  {
    // As standard_normal() (the same numbers), without a Vector.
    const unsigned int n = n_dofs_per_cell;
    NormalStream       stream(hashing::combine(sample_seed, cell_hashes[c]));
    for (unsigned int i = 0; i < n; ++i)
      z[i] = stream.next();
    // local = L_e z, rows of the packed lower triangle (the additions in the
    // order of FullMatrix::vmult, which adds the zeros above the diagonal).
    const double *l = packed_factors.data() + std::size_t(c) * n * (n + 1) / 2;
    for (unsigned int i = 0; i < n; ++i)
      {
        double s = 0.;
        for (unsigned int j = 0; j <= i; ++j)
          s += z[j] * *(l++);
        local[i] = s;
      }
  }


  template <int dim>
  void
  WhiteNoise<dim>::add_owned_contributions(double *            owned_values,
                                           const std::uint64_t sample_seed,
                                           const unsigned int  begin,
                                           const unsigned int  end) const
  {
    const unsigned int n = n_dofs_per_cell;
    // At most 27 DoFs per cell for the elements in use; more go to the heap.
    double              stack_buffer[2 * 64];
    std::vector<double> heap_buffer(n > 64 ? 2 * n : 0);
    double *const       z     = n > 64 ? heap_buffer.data() : stack_buffer;
    double *const       local = z + n;
    for (unsigned int c = begin; c < end; ++c)
      {
        const unsigned int *position = positions.data() + std::size_t(c) * n;
        if (position[0] != numbers::invalid_unsigned_int)
          {
            local_contribution(sample_seed, c, z, local);
            for (unsigned int i = 0; i < n; ++i)
              owned_values[position[i]] += local[i];
          }
        else if (const ConstrainedCell &cell = constrained_cells[constrained_cell_index[c]];
                 cell.all_owned)
          {
            local_contribution(sample_seed, c, z, local);
            // as AffineConstraints::distribute_local_to_global()
            for (unsigned int i = 0; i < n; ++i)
              for (unsigned int t = cell.target_start[i]; t < cell.target_start[i + 1]; ++t)
                {
                  const auto &[target, weight] = cell.targets[t];
                  owned_values[target] += local[i] * weight; // x * 1. == x
                }
          }
      }
  }


  template <int dim>
  bool
  WhiteNoise<dim>::has_only_owned_contributions() const
  {
    return only_owned_contributions;
  }


  template <int dim>
  void
  WhiteNoise<dim>::sample_owned(double *            owned_values,
                                const std::uint64_t seed,
                                const std::uint64_t sample_index,
                                const bool          use_threads) const
  {
    AssertThrow(only_owned_contributions,
                ExcMessage("WhiteNoise::sample_owned(): some cells add to entries "
                           "that are not locally owned; use sample()."));
    add_all_owned_contributions(owned_values,
                                hashing::combine(hashing::mix(seed), sample_index),
                                use_threads);
  }


  template <int dim>
  void
  WhiteNoise<dim>::add_all_owned_contributions(double *            owned_values,
                                               const std::uint64_t sample_seed,
                                               const bool          use_threads) const
  {
    // The cells in two fixed halves: the first adds into the vector, the
    // second into its own buffer, added afterwards. The halves can run on
    // two threads, and the sums (hence the sample, to the last bit) do not
    // depend on whether they do.
    const std::size_t  n_owned = space.locally_owned_dofs().n_elements();
    const unsigned int n_cells = cell_hashes.size(), middle = n_cells / 2;
    std::fill(owned_values, owned_values + n_owned, 0.);
    std::vector<double> second_half(n_owned, 0.);
    if (use_threads && MultithreadInfo::n_threads() > 1)
      {
        Threads::Task<void> task =
          Threads::new_task([&]() { add_owned_contributions(second_half.data(), sample_seed, middle, n_cells); });
        add_owned_contributions(owned_values, sample_seed, 0, middle);
        task.join();
      }
    else
      {
        add_owned_contributions(owned_values, sample_seed, 0, middle);
        add_owned_contributions(second_half.data(), sample_seed, middle, n_cells);
      }
    for (std::size_t i = 0; i < n_owned; ++i)
      owned_values[i] += second_half[i];
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

    // All cells on one rank add into the owned storage:
    // add_all_owned_contributions() (it zeroes the storage). Otherwise cells
    // whose entries all land in the owned storage add straight into it and
    // the others go through the constraints (non-owned entries are sent by
    // compress()); every entry then receives its contributions in cell
    // order, whichever path a cell takes.
    const std::uint64_t sample_seed  = hashing::combine(hashing::mix(seed), sample_index);
    double *const       owned_values = b.begin();
    if (only_owned_contributions)
      add_all_owned_contributions(owned_values, sample_seed, true);
    else
      {
        b = 0.;
        const unsigned int n = n_dofs_per_cell;
        Vector<double>     z(n), local(n);
        for (unsigned int c = 0; c < cell_hashes.size(); ++c)
          {
            const unsigned int *position = positions.data() + std::size_t(c) * n;
            if (position[0] != numbers::invalid_unsigned_int ||
                constrained_cells[constrained_cell_index[c]].all_owned)
              add_owned_contributions(owned_values, sample_seed, c, c + 1);
            else
              {
                local_contribution(sample_seed, c, z.begin(), local.begin());
                space.get_constraints().distribute_local_to_global(
                  local, constrained_cells[constrained_cell_index[c]].dof_indices, b);
              }
          }
      }
    b.compress(VectorOperation::add);
  }


  template class WhiteNoise<2>;
  template class WhiteNoise<3>;
} // namespace ddo
