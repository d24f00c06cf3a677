#include <deal.II/base/exceptions.h>
#include <deal.II/base/mpi.h>
#include <deal.II/lac/lapack_templates.h>

#include <ddo/lac/sparse_cholesky.h>

#include <Epetra_CrsMatrix.h>
#include <Epetra_Map.h>

#include <algorithm>
#include <cholmod.h>
#include <cstring>
#include <numeric>
#include <tuple>

// The BLAS. Matrix products come from deal.II's LAPACK templates (overloads
// on the number type, deal.II's blas_int); deal.II 9.4 has no overloads of the
// BLAS triangular solves trsv/trsm (only LAPACK's trtrs, which scans the
// diagonal for zeros first and solves a single right-hand side with trsm), so
// those four are declared here the way lapack_templates.h declares the rest.
extern "C"
{
  void DEAL_II_FORTRAN_MANGLE(dtrsv, DTRSV)(const char *, const char *, const char *,
                                            const dealii::types::blas_int *, const double *,
                                            const dealii::types::blas_int *, double *,
                                            const dealii::types::blas_int *);
  void DEAL_II_FORTRAN_MANGLE(strsv, STRSV)(const char *, const char *, const char *,
                                            const dealii::types::blas_int *, const float *,
                                            const dealii::types::blas_int *, float *,
                                            const dealii::types::blas_int *);
  void DEAL_II_FORTRAN_MANGLE(dtrsm, DTRSM)(const char *, const char *, const char *, const char *,
                                            const dealii::types::blas_int *, const dealii::types::blas_int *,
                                            const double *, const double *, const dealii::types::blas_int *,
                                            double *, const dealii::types::blas_int *);
  void DEAL_II_FORTRAN_MANGLE(strsm, STRSM)(const char *, const char *, const char *, const char *,
                                            const dealii::types::blas_int *, const dealii::types::blas_int *,
                                            const float *, const float *, const dealii::types::blas_int *,
                                            float *, const dealii::types::blas_int *);
}

namespace ddo
{
  namespace
  {
    using dealii::types::blas_int;

    // Lower triangular solves with the factor, on the number type.
    inline void
    trsv(const char *trans, blas_int n, const double *a, blas_int lda, double *x)
    {
      const blas_int one = 1;
      DEAL_II_FORTRAN_MANGLE(dtrsv, DTRSV)("L", trans, "N", &n, a, &lda, x, &one);
    }
    inline void
    trsv(const char *trans, blas_int n, const float *a, blas_int lda, float *x)
    {
      const blas_int one = 1;
      DEAL_II_FORTRAN_MANGLE(strsv, STRSV)("L", trans, "N", &n, a, &lda, x, &one);
    }
    inline void
    trsm(const char *trans, blas_int m, blas_int n, const double *a, blas_int lda, double *b, blas_int ldb)
    {
      const double one = 1.;
      DEAL_II_FORTRAN_MANGLE(dtrsm, DTRSM)("L", "L", trans, "N", &m, &n, &one, a, &lda, b, &ldb);
    }
    inline void
    trsm(const char *trans, blas_int m, blas_int n, const float *a, blas_int lda, float *b, blas_int ldb)
    {
      const float one = 1.f;
      DEAL_II_FORTRAN_MANGLE(strsm, STRSM)("L", "L", trans, "N", &m, &n, &one, a, &lda, b, &ldb);
    }

    /** y = alpha op(A) x + beta y (deal.II's gemv overloads). */
    template <typename Number>
    inline void
    gemv_impl(const char *trans, blas_int m, blas_int n, Number alpha, const Number *a, blas_int lda,
              const Number *x, Number beta, Number *y)
    {
      const blas_int one = 1;
      dealii::gemv(trans, &m, &n, &alpha, a, &lda, x, &one, &beta, y, &one);
    }

    /** C = alpha op(A) B + beta C (deal.II's gemm overloads). */
    template <typename Number>
    inline void
    gemm_impl(const char *ta, blas_int m, blas_int n, blas_int k, Number alpha, const Number *a, blas_int lda,
              const Number *b, blas_int ldb, Number beta, Number *c, blas_int ldc)
    {
      dealii::gemm(ta, "N", &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc);
    }

    /** Work vectors of the supernodal solve in one precision. */
    template <typename Number>
    struct Workspace
    {
      std::vector<Number> y;
      std::vector<Number> gathered;
    };
  } // namespace


  class SparseCholesky::Implementation
  {
  public:
    Implementation(const std::size_t             n,
                   const std::vector<int> &      column_start,
                   const std::vector<int> &      row_index,
                   const std::vector<double> &   values,
                   const AdditionalData &        data);

    ~Implementation()
    {
      release_cholmod();
    }

    /**
     * Frees what CHOLMOD allocated: from the destructor, and from the
     * constructor when it fails (a destructor does not run then; without
     * this a matrix that is not positive definite lost its factor).
     */
    void
    release_cholmod()
    {
      cholmod_free_dense(&x_work, &common);
      cholmod_free_dense(&y_work, &common);
      cholmod_free_dense(&e_work, &common);
      cholmod_free_factor(&factor, &common);
      cholmod_free_sparse(&a_refactorize, &common);
      cholmod_finish(&common);
    }

    void
    solve(double *x, unsigned int n_columns, std::size_t leading_dimension);

    /** cholmod_factorize with the stored analysis; false if not positive definite. */
    bool
    refactorize(const std::vector<double> &values);

    /**
     * The upper-triangle values of @p matrix, in the order of a_row_index,
     * through the map built at the first call: the pattern is the same on
     * every call, so the entries need no sorting. False if the matrix has
     * another pattern.
     */
    bool
    gather_upper_values(const SparseMatrix<double> &matrix, std::vector<double> &values);

    unsigned int
    solve_refined(double *x, unsigned int n_columns, std::size_t leading_dimension);

    /** The constructor's work: CHOLMOD's analysis and factorization of A. */
    void
    analyze_and_factorize(const std::vector<int> &    column_start,
                          const std::vector<int> &    row_index,
                          const std::vector<double> & values);

    /** y = A x for one column, from the stored upper triangle. */
    void
    multiply(const double *x, double *y) const;

    std::size_t     n;
    std::size_t     n_entries = 0;
    std::string     ordering_name;
    AdditionalData  data;
    cholmod_common  common;
    cholmod_factor *factor = nullptr;
    cholmod_dense * x_work = nullptr, *y_work = nullptr, *e_work = nullptr;

    // The supernodal factor (copies of CHOLMOD's arrays; the values as
    // float in single precision, else read from the CHOLMOD factor).
    bool                     supernodal = false;
    std::vector<int>         permutation, first_column, row_pointer, rows;
    std::vector<std::size_t> value_pointer;
    const double *           values_double = nullptr;
    std::vector<float>       values_float;
    std::size_t              max_update_rows = 0;

    // A itself (upper triangle, compressed columns): the pattern for
    // refactorize(), the values for the residuals of the iterative
    // refinement (kept only with a single precision factor).
    std::vector<int>    a_column_start, a_row_index;
    std::vector<double> a_values;

    // refactorize(): the matrix handed to CHOLMOD (pattern copied once), and
    // for each stored entry of a deal.II matrix's lower triangle, in storage
    // order, its slot in a_row_index (which also holds its column).
    cholmod_sparse *         a_refactorize = nullptr;
    std::vector<std::size_t> gather_slots;
    std::vector<double>      gathered_values;

    Workspace<double> workspace_double;
    Workspace<float>  workspace_float;

  private:
    void
    copy_supernodal_factor();

    /**
     * Supernode s: first column, number of columns, of rows (the dense
     * block is n_rows x n_columns), of rows below the diagonal block, and
     * the indices of those rows.
     */
    std::tuple<int, int, int, int, const int *>
    supernode(const int s) const
    {
      const int first     = first_column[s];
      const int n_columns = first_column[s + 1] - first;
      const int n_rows    = row_pointer[s + 1] - row_pointer[s];
      return {first, n_columns, n_rows, n_rows - n_columns, rows.data() + row_pointer[s] + n_columns};
    }

    template <typename Number>
    void
    forward(int s, const Number *l, Number *y, unsigned int n_columns, Number *gathered) const;

    template <typename Number>
    void
    backward(int s, const Number *l, Number *y, unsigned int n_columns, Number *gathered) const;

    template <typename Number>
    void
    supernodal_solve(const Number *l, Workspace<Number> &workspace, double *x,
                     unsigned int n_columns, std::size_t leading_dimension);
  };


  SparseCholesky::Implementation::Implementation(const std::size_t           n,
                                                 const std::vector<int> &    column_start,
                                                 const std::vector<int> &    row_index,
                                                 const std::vector<double> & values,
                                                 const AdditionalData &      data)
    : n(n)
    , data(data)
  {
    cholmod_start(&common);
    try
      {
        analyze_and_factorize(column_start, row_index, values);
      }
    catch (...)
      {
        release_cholmod();
        throw;
      }
  }


  void
  SparseCholesky::Implementation::analyze_and_factorize(const std::vector<int> &    column_start,
                                                        const std::vector<int> &    row_index,
                                                        const std::vector<double> & values)
  {
    common.print      = 0;
    common.supernodal = data.supernodal ? CHOLMOD_SUPERNODAL : CHOLMOD_SIMPLICIAL;
    // Fill-reducing ordering. CHOLMOD's default tries METIS only when AMD's
    // fill is very high, yet on the 2D unit square (263,169 DoFs) METIS gives
    // a 21% smaller factor with half the flops, and in 3D far less fill
    // (doc/benchmarks_grf.md); on small 2D P1/P2 meshes (4k-16k DoFs) about
    // 15% less.
    if (data.try_amd_and_metis)
      {
        common.nmethods           = 2;
        common.method[0].ordering = CHOLMOD_AMD;
        common.method[1].ordering = CHOLMOD_METIS;
      }
    else
      {
        common.nmethods           = 1;
        common.method[0].ordering = CHOLMOD_METIS;
      }
    // The upper triangle in compressed columns (stype = 1).
    cholmod_sparse *a =
      cholmod_allocate_sparse(n, n, values.size(), 1, 1, 1, CHOLMOD_REAL, &common);
    AssertThrow(a != nullptr, ExcMessage("SparseCholesky: CHOLMOD is out of memory."));
    std::copy(column_start.begin(), column_start.end(), static_cast<int *>(a->p));
    std::copy(row_index.begin(), row_index.end(), static_cast<int *>(a->i));
    std::copy(values.begin(), values.end(), static_cast<double *>(a->x));
    factor = cholmod_analyze(a, &common);
    if (factor != nullptr)
      cholmod_factorize(a, factor, &common);
    const int status = common.status;
    cholmod_free_sparse(&a, &common);
    AssertThrow(factor != nullptr && status == CHOLMOD_OK,
                ExcMessage("SparseCholesky: the Cholesky factorization (CHOLMOD) failed, "
                           "status " + std::to_string(status) +
                           (status == CHOLMOD_NOT_POSDEF ?
                              " (the matrix is not positive definite)" :
                              status == CHOLMOD_OUT_OF_MEMORY ? " (out of memory)" : "") +
                           "."));
    ordering_name =
      common.method[common.selected].ordering == CHOLMOD_METIS ? "METIS" : "AMD";
    n_entries = factor->is_super ? factor->xsize : std::size_t(common.lnz);
    a_column_start = column_start;
    a_row_index    = row_index;
    if (factor->is_super && !data.use_cholmod_solve)
      {
        AssertThrow(factor->is_ll, ExcInternalError());
        copy_supernodal_factor();
        if (data.precision == Precision::single_precision)
          a_values = values;
      }
  }


  bool
  SparseCholesky::Implementation::refactorize(const std::vector<double> &values)
  {
    AssertThrow(factor != nullptr,
                ExcMessage("SparseCholesky::refactorize: not possible for a single precision factor."));
    if (a_refactorize == nullptr)
      {
        a_refactorize = cholmod_allocate_sparse(n, n, a_row_index.size(), 1, 1, 1, CHOLMOD_REAL, &common);
        AssertThrow(a_refactorize != nullptr, ExcMessage("SparseCholesky: CHOLMOD is out of memory."));
        std::copy(a_column_start.begin(), a_column_start.end(), static_cast<int *>(a_refactorize->p));
        std::copy(a_row_index.begin(), a_row_index.end(), static_cast<int *>(a_refactorize->i));
      }
    AssertDimension(values.size(), a_row_index.size());
    std::copy(values.begin(), values.end(), static_cast<double *>(a_refactorize->x));
    cholmod_factorize(a_refactorize, factor, &common);
    const int status = common.status;
    AssertThrow(status == CHOLMOD_OK || status == CHOLMOD_NOT_POSDEF,
                ExcMessage("SparseCholesky: the Cholesky factorization (CHOLMOD) failed, status " +
                           std::to_string(status) + "."));
    if (status != CHOLMOD_OK || factor->minor < n)
      return false;
    if (supernodal)
      copy_supernodal_factor();
    return true;
  }


  bool
  SparseCholesky::Implementation::gather_upper_values(const SparseMatrix<double> &matrix,
                                                      std::vector<double> &       values)
  {
    if (matrix.m() != n || matrix.n() != n)
      return false;
    if (gather_slots.empty())
      for (unsigned int row = 0; row < n; ++row)
        {
          // Sorted by column, the entries (column <= row) of a row fill the
          // slots of column `row` of the upper triangle in order.
          std::vector<std::pair<int, std::size_t>> entries; // (column, index in storage order)
          for (auto it = matrix.begin(row); it != matrix.end(row); ++it)
            if (it->column() <= row)
              entries.emplace_back(it->column(), gather_slots.size() + entries.size());
          std::sort(entries.begin(), entries.end());
          gather_slots.resize(gather_slots.size() + entries.size());
          std::size_t slot  = a_column_start[row];
          bool        equal = entries.size() == std::size_t(a_column_start[row + 1]) - slot;
          for (const auto &[column, k] : entries)
            {
              equal           = equal && column == a_row_index[slot];
              gather_slots[k] = slot++;
            }
          if (!equal)
            {
              // Another pattern than the constructor's: no map is kept.
              gather_slots.clear();
              return false;
            }
        }
    values.resize(a_row_index.size());
    std::size_t k = 0;
    for (unsigned int row = 0; row < n; ++row)
      for (auto it = matrix.begin(row); it != matrix.end(row); ++it)
        if (it->column() <= row)
          {
            if (k == gather_slots.size() || int(it->column()) != a_row_index[gather_slots[k]])
              return false;
            values[gather_slots[k++]] = it->value();
          }
    return k == gather_slots.size();
  }


  void
  SparseCholesky::Implementation::copy_supernodal_factor()
  {
    supernodal          = true;
    const int  n_super  = factor->nsuper;
    const int *super    = static_cast<const int *>(factor->super);
    const int *pi       = static_cast<const int *>(factor->pi);
    const int *px       = static_cast<const int *>(factor->px);
    const int *s        = static_cast<const int *>(factor->s);
    const int *perm     = static_cast<const int *>(factor->Perm);
    first_column.assign(super, super + n_super + 1);
    row_pointer.assign(pi, pi + n_super + 1);
    value_pointer.assign(px, px + n_super + 1);
    rows.assign(s, s + pi[n_super]);
    permutation.assign(perm, perm + n);
    for (int k = 0; k < n_super; ++k)
      max_update_rows =
        std::max<std::size_t>(max_update_rows, (pi[k + 1] - pi[k]) - (super[k + 1] - super[k]));
    if (data.precision == Precision::single_precision)
      {
        const double *x = static_cast<const double *>(factor->x);
        values_float.assign(x, x + factor->xsize);
        // The double factor is no longer needed: keep only the permutation
        // and supernode arrays copied above.
        cholmod_free_factor(&factor, &common);
      }
    else
      values_double = static_cast<const double *>(factor->x);
  }


  template <typename Number>
  void
  SparseCholesky::Implementation::forward(const int          s,
                                          const Number *     l_values,
                                          Number *           y,
                                          const unsigned int n_columns,
                                          Number *           gathered) const
  {
    const auto [k1, n_cols, n_rows, m, r] = supernode(s);
    const Number *l  = l_values + value_pointer[s];
    const int     ld = n;
    // Diagonal block, then the update of the rows below it (gathered:
    // the m x n_columns product, scattered into y).
    if (n_columns == 1)
      trsv("N", n_cols, l, n_rows, y + k1);
    else
      trsm("N", n_cols, n_columns, l, n_rows, y + k1, ld);
    if (m == 0)
      return;
    if (n_columns == 1)
      gemv_impl<Number>("N", m, n_cols, 1, l + n_cols, n_rows, y + k1, 0, gathered);
    else
      gemm_impl<Number>("N", m, n_columns, n_cols, 1, l + n_cols, n_rows, y + k1, ld, 0,
                        gathered, m);
    for (unsigned int j = 0; j < n_columns; ++j)
      for (int i = 0; i < m; ++i)
        y[r[i] + j * n] -= gathered[i + std::size_t(j) * m];
  }


  template <typename Number>
  void
  SparseCholesky::Implementation::backward(const int          s,
                                           const Number *     l_values,
                                           Number *           y,
                                           const unsigned int n_columns,
                                           Number *           gathered) const
  {
    const auto [k1, n_cols, n_rows, m, r] = supernode(s);
    const Number *l  = l_values + value_pointer[s];
    const int     ld = n;
    if (m > 0)
      {
        for (unsigned int j = 0; j < n_columns; ++j)
          for (int i = 0; i < m; ++i)
            gathered[i + std::size_t(j) * m] = y[r[i] + j * n];
        if (n_columns == 1)
          gemv_impl<Number>("T", m, n_cols, -1, l + n_cols, n_rows, gathered, 1, y + k1);
        else
          gemm_impl<Number>("T", n_cols, n_columns, m, -1, l + n_cols, n_rows, gathered, m, 1,
                            y + k1, ld);
      }
    if (n_columns == 1)
      trsv("T", n_cols, l, n_rows, y + k1);
    else
      trsm("T", n_cols, n_columns, l, n_rows, y + k1, ld);
  }


  template <typename Number>
  void
  SparseCholesky::Implementation::supernodal_solve(const Number *      l,
                                                   Workspace<Number> & workspace,
                                                   double *            x,
                                                   const unsigned int  n_columns,
                                                   const std::size_t   leading_dimension)
  {
    // y = P x; L y' = y; L^T y'' = y'; x = P^T y''.
    auto &y = workspace.y;
    y.resize(n * n_columns);
    for (unsigned int j = 0; j < n_columns; ++j)
      for (std::size_t k = 0; k < n; ++k)
        y[k + j * n] = x[permutation[k] + j * leading_dimension];
    workspace.gathered.resize(std::max<std::size_t>(1, max_update_rows * n_columns));
    const int n_super = first_column.size() - 1;
    for (int s = 0; s < n_super; ++s)
      forward(s, l, y.data(), n_columns, workspace.gathered.data());
    for (int s = n_super - 1; s >= 0; --s)
      backward(s, l, y.data(), n_columns, workspace.gathered.data());
    for (unsigned int j = 0; j < n_columns; ++j)
      for (std::size_t k = 0; k < n; ++k)
        x[permutation[k] + j * leading_dimension] = y[k + j * n];
  }


  void
  SparseCholesky::Implementation::solve(double *           x,
                                        const unsigned int n_columns,
                                        const std::size_t  leading_dimension)
  {
    AssertThrow(leading_dimension >= n, ExcMessage("SparseCholesky: leading dimension too small."));
    if (n_columns == 0)
      return;
    if (supernodal)
      {
        if (data.precision == Precision::single_precision)
          supernodal_solve(values_float.data(), workspace_float, x, n_columns, leading_dimension);
        else
          supernodal_solve(values_double, workspace_double, x, n_columns, leading_dimension);
        return;
      }
    cholmod_dense rhs;
    rhs.nrow  = n;
    rhs.ncol  = n_columns;
    rhs.nzmax = leading_dimension * n_columns;
    rhs.d     = leading_dimension;
    rhs.x     = x;
    rhs.z     = nullptr;
    rhs.xtype = CHOLMOD_REAL;
    rhs.dtype = CHOLMOD_DOUBLE;
    const int ok =
      cholmod_solve2(CHOLMOD_A, factor, &rhs, nullptr, &x_work, nullptr, &y_work, &e_work, &common);
    AssertThrow(ok && x_work != nullptr, ExcMessage("SparseCholesky: the CHOLMOD solve failed."));
    const double *solution = static_cast<const double *>(x_work->x);
    for (unsigned int j = 0; j < n_columns; ++j)
      std::memcpy(x + j * leading_dimension, solution + j * x_work->d, sizeof(double) * n);
  }


  void
  SparseCholesky::Implementation::multiply(const double *x, double *y) const
  {
    std::fill(y, y + n, 0.);
    for (std::size_t j = 0; j < n; ++j)
      for (int p = a_column_start[j]; p < a_column_start[j + 1]; ++p)
        {
          const std::size_t i = a_row_index[p];
          y[i] += a_values[p] * x[j];
          if (i != j)
            y[j] += a_values[p] * x[i];
        }
  }


  unsigned int
  SparseCholesky::Implementation::solve_refined(double *           x,
                                                const unsigned int n_columns,
                                                const std::size_t  leading_dimension)
  {
    if (a_values.empty())
      {
        solve(x, n_columns, leading_dimension);
        return 0;
      }
    std::vector<double> b(n * n_columns), r(n * n_columns), b_norm(n_columns, 0.);
    for (unsigned int j = 0; j < n_columns; ++j)
      for (std::size_t k = 0; k < n; ++k)
        {
          b[k + j * n] = x[k + j * leading_dimension];
          b_norm[j] += b[k + j * n] * b[k + j * n];
        }
    solve(x, n_columns, leading_dimension);
    constexpr unsigned int max_steps = 5;
    for (unsigned int step = 0;; ++step)
      {
        bool converged = true;
        for (unsigned int j = 0; j < n_columns; ++j)
          {
            double *column = r.data() + j * n;
            multiply(x + j * leading_dimension, column);
            double norm = 0;
            for (std::size_t k = 0; k < n; ++k)
              {
                column[k] = b[k + j * n] - column[k];
                norm += column[k] * column[k];
              }
            converged = converged && norm <= 1e-26 * b_norm[j];
          }
        if (converged || step == max_steps)
          return step;
        solve(r.data(), n_columns, n);
        for (unsigned int j = 0; j < n_columns; ++j)
          for (std::size_t k = 0; k < n; ++k)
            x[k + j * leading_dimension] += r[k + j * n];
      }
  }


  // ------------------------------------------------------------ public class

  namespace
  {
    /** Upper triangle in compressed columns from rows' (column, value) lists. */
    struct UpperTriangle
    {
      std::vector<int>    column_start{0};
      std::vector<int>    row_index;
      std::vector<double> values;

      // Entries (column <= row) of row `row` of a symmetric matrix are the
      // entries of column `row` of its upper triangle.
      void
      add_row(std::vector<std::pair<int, double>> &entries)
      {
        std::sort(entries.begin(), entries.end());
        for (const auto &[column, value] : entries)
          {
            row_index.push_back(column);
            values.push_back(value);
          }
        column_start.push_back(row_index.size());
      }
    };
  } // namespace


  namespace
  {
    UpperTriangle
    upper_triangle(const SparseMatrix<double> &matrix)
    {
      AssertThrow(matrix.m() == matrix.n(), ExcMessage("SparseCholesky: the matrix is not square."));
      UpperTriangle                       upper;
      std::vector<std::pair<int, double>> entries;
      for (unsigned int row = 0; row < matrix.m(); ++row)
        {
          entries.clear();
          for (auto it = matrix.begin(row); it != matrix.end(row); ++it)
            if (it->column() <= row)
              entries.emplace_back(it->column(), it->value());
          upper.add_row(entries);
        }
      return upper;
    }
  } // namespace


  SparseCholesky::SparseCholesky(const SparseMatrix<double> &matrix, const AdditionalData &data)
  {
    const UpperTriangle upper = upper_triangle(matrix);
    implementation = std::make_unique<Implementation>(matrix.m(), upper.column_start,
                                                      upper.row_index, upper.values, data);
  }


  bool
  SparseCholesky::refactorize(const SparseMatrix<double> &matrix)
  {
    // The values go through the map built at the first call: the upper
    // triangle is not rebuilt and sorted on every call of this hot path (a
    // likelihood evaluation of a Darcy problem calls it once).
    AssertThrow(implementation->gather_upper_values(matrix, implementation->gathered_values),
                ExcMessage("SparseCholesky::refactorize: the matrix has another sparsity pattern than the "
                           "one factorized first."));
    return implementation->refactorize(implementation->gathered_values);
  }


  SparseCholesky::SparseCholesky(const TrilinosWrappers::SparseMatrix &matrix,
                                 const AdditionalData &                data)
  {
    const Epetra_CrsMatrix &crs = matrix.trilinos_matrix();
    const int               n   = crs.NumMyRows();
    AssertThrow(crs.NumGlobalRows() == n && Utilities::MPI::n_mpi_processes(
                                              matrix.get_mpi_communicator()) == 1,
                ExcMessage("SparseCholesky: the matrix must live on one MPI process."));
    std::vector<int> local_of_row(n);
    for (int r = 0; r < n; ++r)
      local_of_row[crs.RowMap().GID(r)] = r;
    UpperTriangle                       upper;
    std::vector<std::pair<int, double>> entries;
    for (int row = 0; row < n; ++row)
      {
        int     length;
        double *values;
        int *   columns;
        crs.ExtractMyRowView(local_of_row[row], length, values, columns);
        entries.clear();
        for (int k = 0; k < length; ++k)
          {
            const int column = crs.ColMap().GID(columns[k]);
            if (column <= row)
              entries.emplace_back(column, values[k]);
          }
        upper.add_row(entries);
      }
    implementation =
      std::make_unique<Implementation>(n, upper.column_start, upper.row_index, upper.values, data);
  }


  SparseCholesky::~SparseCholesky() = default;


  void
  SparseCholesky::solve(double *x, const unsigned int n_columns, const std::size_t leading_dimension)
  {
    implementation->solve(x, n_columns, leading_dimension);
  }


  unsigned int
  SparseCholesky::solve_refined(double *           x,
                                const unsigned int n_columns,
                                const std::size_t  leading_dimension)
  {
    return implementation->solve_refined(x, n_columns, leading_dimension);
  }


  std::size_t
  SparseCholesky::size() const
  {
    return implementation->n;
  }


  std::size_t
  SparseCholesky::n_factor_entries() const
  {
    return implementation->n_entries;
  }


  std::size_t
  SparseCholesky::factor_memory() const
  {
    const auto &impl = *implementation;
    if (!impl.supernodal)
      // CHOLMOD's factor: supernodal values and row indices, or simplicial
      // values and row indices.
      return impl.factor->is_super ?
               impl.factor->xsize * sizeof(double) + impl.factor->ssize * sizeof(int) :
               impl.n_entries * (sizeof(double) + sizeof(int));
    return impl.n_entries * (impl.data.precision == Precision::single_precision ? sizeof(float) :
                                                                                   sizeof(double)) +
           impl.rows.size() * sizeof(int);
  }


  std::string
  SparseCholesky::ordering() const
  {
    return implementation->ordering_name;
  }


} // namespace ddo
