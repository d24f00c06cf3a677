#include <deal.II/lac/lapack_full_matrix.h>
#include <deal.II/lac/trilinos_index_access.h>
#include <deal.II/lac/vector.h>

#include <ddo/lac/lumped_operator.h>
#include <ddo/lac/spectral_basis.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ddo
{
  namespace
  {
    /** The condensed lumped mass P^T w (1 on constrained DoFs). */
    template <int dim>
    Vector<double>
    condensed_lumped_mass(const FunctionSpace<dim> &space)
    {
      Vector<double> w(space.n_dofs());
      for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = space.quadrature_weights()[i];
      space.get_constraints().condense(w);
      for (const auto &line : space.get_constraints().get_lines())
        w[line.index] = 1.;
      return w;
    }
  } // namespace


  namespace
  {
    /** The COO entries of P D^-1 P^T X P for the condensed X = m M + k K. */
    template <int dim>
    LumpedOperator
    lumped_product(const FunctionSpace<dim> &space, const double mass_factor, const double stiffness_factor)
    {
      AssertThrow(!space.is_distributed(),
                  ExcMessage("The lumped operator is built on serial (replicated) meshes."));
      TrilinosWrappers::SparseMatrix x;
      assemble_condensed_matrix(space, mass_factor, stiffness_factor, 0., x);
      const Vector<double> w           = condensed_lumped_mass(space);
      const auto &         constraints = space.get_constraints();
      const auto &         epetra      = x.trilinos_matrix();

      // Free rows: X_c[i, :] / w_i; their absolute sums bound the spectrum.
      LumpedOperator result;
      result.size = space.n_dofs();
      std::vector<std::vector<std::pair<std::int64_t, double>>> free_rows(space.n_dofs());
      for (types::global_dof_index i = 0; i < space.n_dofs(); ++i)
        {
          if (constraints.is_constrained(i))
            continue;
          AssertThrow(w[i] > 0., ExcMessage("The lumped operator needs positive lumped masses (row sums of M): "
                                            "use elements of degree 1."));
          // The row through Epetra's view: deal.II's iterators over a
          // Trilinos row cost O(n) each (a clear of per-matrix caches), which
          // made this loop quadratic: 29 s at 10^5 DoFs.
          int     n_entries = 0;
          double *values    = nullptr;
          int *   columns   = nullptr;
          epetra.ExtractMyRowView(epetra.RowMap().LID(static_cast<TrilinosWrappers::types::int_type>(i)),
                                  n_entries, values, columns);
          double sum = 0;
          for (int k = 0; k < n_entries; ++k)
            if (values[k] != 0.)
              {
                free_rows[i].emplace_back(TrilinosWrappers::global_index(epetra.ColMap(), columns[k]),
                                          values[k] / w[i]);
                sum += std::abs(values[k]) / w[i];
              }
          result.eigenvalue_bound = std::max(result.eigenvalue_bound, sum);
        }
      // A constrained row is the combination of the free rows it depends on.
      for (types::global_dof_index i = 0; i < space.n_dofs(); ++i)
        {
          std::vector<std::pair<std::int64_t, double>> row;
          if (constraints.is_constrained(i))
            {
              for (const auto &dependency : *constraints.get_constraint_entries(i))
                for (const auto &entry : free_rows[dependency.first])
                  row.emplace_back(entry.first, dependency.second * entry.second);
            }
          else
            row = free_rows[i];
          for (const auto &entry : row)
            {
              result.rows.push_back(i);
              result.columns.push_back(entry.first);
              result.values.push_back(entry.second);
            }
        }
      return result;
    }
  } // namespace


  template <int dim>
  LumpedOperator
  make_lumped_operator(const FunctionSpace<dim> &space)
  {
    return lumped_product(space, 0., 1.);
  }


  template <int dim>
  LumpedOperator
  make_lumped_mass_operator(const FunctionSpace<dim> &space)
  {
    AssertThrow(space.get_fe().degree == 1,
                ExcMessage("The lumped mass operator is built for elements of degree 1."));
    LumpedOperator result = lumped_product(space, 1., 0.);
    // Per cell, the smallest eigenvalue of M_e against its row sums is
    // 1/(dim+2) for linear simplices (affine invariant) and 3^-dim for
    // (affine) multilinear cells; the assembled pencil's is at least the
    // smallest cell's. Distorted (non-affine) hexahedra get a margin.
    result.eigenvalue_lower_bound = space.cell_type() == CellType::simplex ? 1. / (dim + 2) :
                                                                            0.8 / std::pow(3., dim);
    return result;
  }


  template <int dim>
  void
  lumped_eigenpairs(const FunctionSpace<dim> &space,
                    std::vector<double> &     eigenvalues,
                    FullMatrix<double> &      projector,
                    const unsigned int        max_free_dofs)
  {
    AssertThrow(!space.is_distributed(), ExcMessage("lumped_eigenpairs works on serial (replicated) meshes."));
    const auto &                         constraints = space.get_constraints();
    std::vector<types::global_dof_index> free;
    for (types::global_dof_index i = 0; i < space.n_dofs(); ++i)
      if (!constraints.is_constrained(i))
        free.push_back(i);
    const unsigned int n = free.size();
    AssertThrow(n <= max_free_dofs,
                ExcMessage("The eigenpairs of the lumped operator are computed densely, for at most " +
                           std::to_string(max_free_dofs) + " free DoFs; this space has " + std::to_string(n) +
                           ". Train on a coarser mesh (the model transfers to finer ones)."));
    TrilinosWrappers::SparseMatrix k;
    assemble_condensed_matrix(space, 0., 1., 0., k);
    const Vector<double> w = condensed_lumped_mass(space);

    // B = D^{-1/2} K_f D^{-1/2}, symmetric; psi = D^{-1/2} q.
    std::vector<int> position(space.n_dofs(), -1);
    for (unsigned int f = 0; f < n; ++f)
      position[free[f]] = f;
    LAPACKFullMatrix<double> b(n, n);
    for (unsigned int f = 0; f < n; ++f)
      for (auto entry = k.begin(free[f]); entry != k.end(free[f]); ++entry)
        if (position[entry->column()] >= 0)
          b(f, position[entry->column()]) =
            entry->value() / std::sqrt(w[free[f]] * w[entry->column()]);
    Vector<double>     values;
    FullMatrix<double> vectors;
    const double       scale = b.linfty_norm();
    b.compute_eigenvalues_symmetric(-1e-6 * scale - 1., 2 * scale + 1., 1e-14 * scale, values, vectors);
    AssertThrow(values.size() == n, ExcMessage("lumped_eigenpairs: LAPACK found " + std::to_string(values.size()) +
                                               " of " + std::to_string(n) + " eigenvalues."));
    std::vector<unsigned int> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(), [&](const unsigned int a, const unsigned int c) { return values[a] < values[c]; });
    eigenvalues.resize(n);
    projector.reinit(n, space.n_dofs());
    for (unsigned int i = 0; i < n; ++i)
      {
        eigenvalues[i] = std::max(values[order[i]], 0.);
        for (unsigned int f = 0; f < n; ++f)
          projector(i, free[f]) = vectors(f, order[i]) * std::sqrt(w[free[f]]);
      }
  }


  template LumpedOperator make_lumped_operator(const FunctionSpace<2> &);
  template LumpedOperator make_lumped_operator(const FunctionSpace<3> &);
  template LumpedOperator make_lumped_mass_operator(const FunctionSpace<2> &);
  template LumpedOperator make_lumped_mass_operator(const FunctionSpace<3> &);
  template void lumped_eigenpairs(const FunctionSpace<2> &, std::vector<double> &, FullMatrix<double> &, const unsigned int);
  template void lumped_eigenpairs(const FunctionSpace<3> &, std::vector<double> &, FullMatrix<double> &, const unsigned int);
} // namespace ddo
