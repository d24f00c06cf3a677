#include <deal.II/base/exceptions.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/lapack_full_matrix.h>
#include <deal.II/lac/parpack_solver.h>
#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/sparsity_tools.h>
#include <deal.II/lac/trilinos_solver.h>

#include <ddo/base/hashing.h>
#include <ddo/base/output.h>
#include <ddo/lac/spectral_basis.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>

#include <unistd.h>

namespace ddo
{
  template <int dim>
  types::global_dof_index
  n_free_dofs(const FunctionSpace<dim> &space)
  {
    types::global_dof_index n_constrained = 0;
    for (const auto &line : space.get_constraints().get_lines())
      n_constrained += space.locally_owned_dofs().is_element(line.index) ? 1 : 0;
    if (space.is_distributed())
      n_constrained = Utilities::MPI::sum(n_constrained, space.get_mpi_communicator());
    return space.n_dofs() - n_constrained;
  }


  template <int dim>
  void
  assemble_condensed_matrix(const FunctionSpace<dim> &      space,
                            const double                    mass_factor,
                            const double                    stiffness_factor,
                            const double                    constrained_diagonal,
                            TrilinosWrappers::SparseMatrix &matrix)
  {
    const auto &constraints = space.get_constraints();
    const auto &owned       = space.locally_owned_dofs();
    const auto  comm        = space.get_mpi_communicator();

    DynamicSparsityPattern dsp(space.locally_relevant_dofs());
    DoFTools::make_sparsity_pattern(space.get_dof_handler(), dsp, constraints, false);
    SparsityTools::distribute_sparsity_pattern(dsp, owned, comm, space.locally_relevant_dofs());
    matrix.reinit(owned, owned, dsp, comm);

    FEValues<dim>      fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    const unsigned int n = space.get_fe().n_dofs_per_cell();
    FullMatrix<double> cell_matrix(n, n);
    std::vector<types::global_dof_index> dof_indices(n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          cell_matrix = 0;
          for (const unsigned int q : fe_values.quadrature_point_indices())
            for (unsigned int i = 0; i < n; ++i)
              for (unsigned int j = 0; j < n; ++j)
                cell_matrix(i, j) += (mass_factor * fe_values.shape_value(i, q) *
                                        fe_values.shape_value(j, q) +
                                      stiffness_factor * fe_values.shape_grad(i, q) *
                                        fe_values.shape_grad(j, q)) *
                                     fe_values.JxW(q);
          cell->get_dof_indices(dof_indices);
          constraints.distribute_local_to_global(cell_matrix, dof_indices, matrix);
        }
    matrix.compress(VectorOperation::add);

    for (const auto &line : constraints.get_lines())
      if (owned.is_element(line.index))
        matrix.set(line.index, line.index, constrained_diagonal);
    matrix.compress(VectorOperation::insert);
  }


  namespace
  {
    /** (K - sigma M)^{-1} through a sparse direct factorization, for PARPACK. */
    class ShiftInverse
    {
    public:
      ShiftInverse(const TrilinosWrappers::SparseMatrix &matrix)
        : control(1, 0)
        , solver(control, TrilinosWrappers::SolverDirect::AdditionalData(false, "Amesos_Klu"))
      {
        solver.initialize(matrix);
      }

      void
      vmult(VectorType &dst, const VectorType &src) const
      {
        solver.solve(dst, src);
      }

    private:
      mutable SolverControl                        control;
      mutable TrilinosWrappers::SolverDirect       solver;
    };


    // Hash of the constraints (periodicity changes the space, not the mesh).
    std::uint64_t
    constraints_hash(const AffineConstraints<double> &constraints, const IndexSet &owned)
    {
      std::uint64_t h = 0;
      for (const auto &line : constraints.get_lines())
        if (owned.is_element(line.index))
          {
            std::uint64_t l = hashing::mix(line.index);
            for (const auto &entry : line.entries)
              l = hashing::combine(l, entry.first);
            h += l;
          }
      return h;
    }

    constexpr char cache_magic[8] = {'D', 'D', 'O', 'S', 'P', 'E', 'C', '1'};
  } // namespace


  template <int dim>
  SpectralBasis<dim>::SpectralBasis(const FunctionSpace<dim> &space_in,
                                    const unsigned int        n_modes,
                                    const std::string &       cache_directory,
                                    const Method              method)
    : space(space_in)
    , n_requested(n_modes)
  {
    const auto n_free = n_free_dofs(space);
    AssertThrow(n_modes > 0, ExcMessage("SpectralBasis: the number of modes must be positive."));
    // All eigenpairs (n_modes = n_free) only with the dense method.
    AssertThrow(n_modes < n_free || (n_modes == n_free && method == Method::dense),
                ExcMessage("SpectralBasis: " + std::to_string(n_modes) +
                           " modes requested, but the space has only " + std::to_string(n_free) +
                           " free DoFs; use fewer modes or a finer mesh."));

    const bool use_cache = !cache_directory.empty() && !space.is_distributed();
    const std::string file = use_cache ? cache_file_name(cache_directory) : "";
    if (use_cache && std::filesystem::exists(file))
      {
        from_cache = read_cache(file);
        if (from_cache)
          return;
        std::cerr << "ddo: note: the spectral basis cache <" << file
                  << "> is corrupt or belongs to another space; recomputing it." << std::endl;
      }

    AssertThrow(!(method == Method::dense && space.is_distributed()),
                ExcMessage("SpectralBasis: the dense method needs a serial mesh."));
    if (method == Method::dense || (method == Method::automatic && !space.is_distributed() &&
                                    n_free <= 2000))
      compute_dense();
    else
      compute_arpack();
    normalize_and_sort();

    if (use_cache)
      write_cache(file);
  }


  template <int dim>
  void
  SpectralBasis<dim>::compute_dense()
  {
    const auto &constraints = space.get_constraints();
    const unsigned int N = space.n_dofs();
    std::vector<types::global_dof_index> free;
    for (types::global_dof_index i = 0; i < N; ++i)
      if (!constraints.is_constrained(i))
        free.push_back(i);
    const unsigned int n = free.size();

    // Columns P e_j (constraints applied) and the products K P e_j, M P e_j,
    // then P^T of those: the restricted matrices, column by column.
    LAPACKFullMatrix<double> k_free(n, n), m_free(n, n);
    VectorType unit = space.create_vector(), k_col = space.create_vector(),
               m_col = space.create_vector();
    Vector<double> k_serial(N), m_serial(N);
    for (unsigned int j = 0; j < n; ++j)
      {
        unit            = 0;
        unit[free[j]]   = 1.;
        constraints.distribute(unit);
        space.stiffness_matrix().vmult(k_col, unit);
        space.mass_matrix().vmult(m_col, unit);
        for (unsigned int i = 0; i < N; ++i)
          {
            k_serial[i] = k_col[i];
            m_serial[i] = m_col[i];
          }
        constraints.condense(k_serial);
        constraints.condense(m_serial);
        for (unsigned int i = 0; i < n; ++i)
          {
            k_free(i, j) = k_serial[free[i]];
            m_free(i, j)                          = m_serial[free[i]];
          }
      }

    std::vector<Vector<double>> free_vectors(n, Vector<double>(n));
    k_free.compute_generalized_eigenvalues_symmetric(m_free, free_vectors);
    std::vector<std::pair<double, unsigned int>> order(n);
    for (unsigned int k = 0; k < n; ++k)
      order[k] = {k_free.eigenvalue(k).real(), k};
    std::sort(order.begin(), order.end());

    lambdas.resize(n_requested);
    vectors.assign(n_requested, space.create_vector());
    for (unsigned int k = 0; k < n_requested; ++k)
      {
        lambdas[k] = order[k].first;
        vectors[k] = 0;
        for (unsigned int i = 0; i < n; ++i)
          vectors[k][free[i]] = free_vectors[order[k].second][i];
        constraints.distribute(vectors[k]);
      }
  }


  template <int dim>
  void
  SpectralBasis<dim>::compute_arpack()
  {
    const MPI_Comm comm  = space.get_mpi_communicator();
    const double   sigma = -1.;

    // Scales: constrained rows get K_ii / M_ii far above the wanted spectrum.
    const double m_scale = space.mass_matrix().linfty_norm();
    const double k_scale = space.stiffness_matrix().linfty_norm();
    TrilinosWrappers::SparseMatrix k_condensed, m_condensed, shifted;
    assemble_condensed_matrix(space, 0., 1., 1e6 * k_scale, k_condensed);
    assemble_condensed_matrix(space, 1., 0., m_scale, m_condensed);
    assemble_condensed_matrix(space, -sigma, 1., 1e6 * k_scale - sigma * m_scale, shifted);
    const ShiftInverse inverse(shifted);

    const unsigned int n_free = n_free_dofs(space);
    const unsigned int n_arnoldi =
      std::min<unsigned int>(std::max(2 * n_requested + 2, n_requested + 20), n_free - 1);
    AssertThrow(n_arnoldi > 2 * n_requested + 1,
                ExcMessage("SpectralBasis: too many modes for ARPACK on this space (" +
                           std::to_string(n_requested) + " modes, " + std::to_string(n_free) +
                           " free DoFs); use at most a third of the DoFs."));

    SolverControl control(10000, 1e-11);
    using Solver = PArpackSolver<VectorType>;
    Solver solver(control, comm,
                  typename Solver::AdditionalData(n_arnoldi, Solver::largest_magnitude, true, 3));
    solver.reinit(space.locally_owned_dofs());
    solver.set_shift(sigma);
    VectorType start = space.create_vector();
    {
      // A deterministic, partition-independent start vector.
      const auto &points = space.locally_owned_support_points();
      for (unsigned int i = 0; i < points.size(); ++i)
        start[space.locally_owned_dofs().nth_index_in_set(i)] =
          1. + hashing::to_unit_interval(hashing::of_point(points[i], 1e-9));
      start.compress(VectorOperation::insert);
    }
    solver.set_initial_vector(start);

    std::vector<std::complex<double>> eigenvalues(n_requested + 1);
    std::vector<VectorType>           eigenvectors(n_requested + 1, space.create_vector());
    solver.solve(k_condensed, m_condensed, inverse, eigenvalues, eigenvectors, n_requested);

    lambdas.resize(n_requested);
    vectors.assign(eigenvectors.begin(), eigenvectors.begin() + n_requested);
    for (auto &v : vectors)
      space.get_constraints().distribute(v);
  }


  template <int dim>
  void
  SpectralBasis<dim>::normalize_and_sort()
  {
    for (unsigned int k = 0; k < vectors.size(); ++k)
      {
        const double mass = space.mass_matrix().matrix_scalar_product(vectors[k], vectors[k]);
        vectors[k] /= std::sqrt(mass);
        lambdas[k] = space.stiffness_matrix().matrix_scalar_product(vectors[k], vectors[k]);
      }
    std::vector<unsigned int> order(vectors.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](const unsigned a, const unsigned b) { return lambdas[a] < lambdas[b]; });
    std::vector<double>     sorted_lambdas;
    std::vector<VectorType> sorted_vectors;
    for (const unsigned int k : order)
      {
        sorted_lambdas.push_back(lambdas[k]);
        sorted_vectors.push_back(vectors[k]);
      }
    lambdas.swap(sorted_lambdas);
    vectors.swap(sorted_vectors);
  }


  template <int dim>
  std::string
  SpectralBasis<dim>::cache_file_name(const std::string &directory) const
  {
    std::ostringstream name;
    name << directory << "/spectral_basis_" << space.fingerprint() << '_' << std::hex
         << constraints_hash(space.get_constraints(), space.locally_owned_dofs()) << std::dec
         << '_' << n_requested << ".bin";
    return name.str();
  }


  template <int dim>
  bool
  SpectralBasis<dim>::read_cache(const std::string &file_name)
  {
    std::ifstream in(file_name, std::ios::binary);
    char          magic[8];
    std::uint64_t n_dofs = 0, n_modes = 0, checksum = 0;
    in.read(magic, 8);
    in.read(reinterpret_cast<char *>(&n_dofs), sizeof n_dofs);
    in.read(reinterpret_cast<char *>(&n_modes), sizeof n_modes);
    if (!in || std::memcmp(magic, cache_magic, 8) != 0 || n_dofs != space.n_dofs() ||
        n_modes != n_requested)
      return false;
    std::vector<double> values(n_modes * (1 + n_dofs));
    in.read(reinterpret_cast<char *>(values.data()), values.size() * sizeof(double));
    in.read(reinterpret_cast<char *>(&checksum), sizeof checksum);
    if (!in)
      return false;
    std::uint64_t h = 0;
    for (const double v : values)
      {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        h = hashing::combine(h, bits);
      }
    if (h != checksum)
      return false;
    lambdas.assign(values.begin(), values.begin() + n_modes);
    vectors.assign(n_modes, space.create_vector());
    for (unsigned int k = 0; k < n_modes; ++k)
      for (unsigned int i = 0; i < n_dofs; ++i)
        vectors[k][i] = values[n_modes + k * n_dofs + i];
    return true;
  }


  template <int dim>
  void
  SpectralBasis<dim>::write_cache(const std::string &file_name) const
  {
    create_directories(std::filesystem::path(file_name).parent_path().string());
    std::vector<double> values(lambdas);
    for (const auto &v : vectors)
      values.insert(values.end(), v.begin(), v.end());
    std::uint64_t h = 0;
    for (const double v : values)
      {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        h = hashing::combine(h, bits);
      }
    const std::uint64_t n_dofs = space.n_dofs(), n_modes = n_requested;
    // Every rank of a run on a serial mesh computes the same basis and
    // writes it: a temporary of its own (rank and process), so that no rank
    // renames a file that another is still writing.
    const std::string temporary = file_name + ".tmp" +
                                  std::to_string(Utilities::MPI::this_mpi_process(MPI_COMM_WORLD)) + "-" +
                                  std::to_string(::getpid());
    {
      std::ofstream out(temporary, std::ios::binary);
      AssertThrow(out.good(), ExcMessage("Cannot write the spectral basis cache <" + temporary + ">."));
      out.write(cache_magic, 8);
      out.write(reinterpret_cast<const char *>(&n_dofs), sizeof n_dofs);
      out.write(reinterpret_cast<const char *>(&n_modes), sizeof n_modes);
      out.write(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(double));
      out.write(reinterpret_cast<const char *>(&h), sizeof h);
      AssertThrow(out.good(), ExcMessage("Writing the spectral basis cache <" + temporary + "> failed."));
    }
    atomic_rename(temporary, file_name, MPI_COMM_SELF);
  }


  template <int dim>
  unsigned int
  SpectralBasis<dim>::n_modes() const
  {
    return lambdas.size();
  }

  template <int dim>
  const std::vector<double> &
  SpectralBasis<dim>::eigenvalues() const
  {
    return lambdas;
  }

  template <int dim>
  const std::vector<VectorType> &
  SpectralBasis<dim>::eigenvectors() const
  {
    return vectors;
  }

  template <int dim>
  Vector<double>
  SpectralBasis<dim>::project(const VectorType &v) const
  {
    VectorType mv = space.create_vector();
    space.mass_matrix().vmult(mv, v);
    Vector<double> c(vectors.size());
    for (unsigned int k = 0; k < vectors.size(); ++k)
      c[k] = vectors[k] * mv;
    return c;
  }

  template <int dim>
  void
  SpectralBasis<dim>::expand(const Vector<double> &coefficients, VectorType &v) const
  {
    AssertThrow(coefficients.size() == vectors.size(),
                ExcMessage("SpectralBasis::expand: " + std::to_string(coefficients.size()) +
                           " coefficients for " + std::to_string(vectors.size()) + " modes."));
    v.reinit(space.locally_owned_dofs(), space.get_mpi_communicator());
    for (unsigned int k = 0; k < vectors.size(); ++k)
      v.add(coefficients[k], vectors[k]);
  }

  template <int dim>
  bool
  SpectralBasis<dim>::loaded_from_cache() const
  {
    return from_cache;
  }

  template <int dim>
  const FunctionSpace<dim> &
  SpectralBasis<dim>::get_space() const
  {
    return space;
  }


  template class SpectralBasis<2>;
  template class SpectralBasis<3>;
  template void assemble_condensed_matrix(const FunctionSpace<2> &, double, double, double,
                                          TrilinosWrappers::SparseMatrix &);
  template void assemble_condensed_matrix(const FunctionSpace<3> &, double, double, double,
                                          TrilinosWrappers::SparseMatrix &);
  template types::global_dof_index n_free_dofs(const FunctionSpace<2> &);
  template types::global_dof_index n_free_dofs(const FunctionSpace<3> &);
} // namespace ddo
