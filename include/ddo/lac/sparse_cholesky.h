#ifndef ddo_sparse_cholesky_h
#define ddo_sparse_cholesky_h

/**
 * @file
 * A sparse Cholesky factorization (CHOLMOD) computed once and applied to
 * many right-hand sides, with the factor stored in double or single
 * precision.
 *
 * @ingroup lac
 */

#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * \f$A = P^T L L^T P\f$ for a symmetric positive definite serial matrix
   * A, factorized by CHOLMOD with a fill-reducing permutation P.
   *
   * A sample of a Gaussian random field is one solve with one right-hand
   * side, and that solve reads the whole factor L twice (forward and
   * backward): it is bound by memory bandwidth. So the factor can be stored
   * in single precision (Precision::single_precision), which halves the
   * memory traffic of a solve and the memory of the factor, at a relative
   * error of about 1e-7 (times the conditioning; tests/unit/
   * sparse_cholesky_tests.cc). solve_refined() recovers double precision
   * by iterative refinement. The supernodal triangular solves are done here
   * (CHOLMOD's arrays, BLAS-2 for one right-hand side and BLAS-3 for
   * blocks), since CHOLMOD 3 solves in double only. Measured side by side
   * (benchmarks/cholesky_solve_benchmark.cc, doc/benchmarks_grf.md): one
   * single-precision solve takes 0.62x the time of CHOLMOD's double solve in
   * 3D (117,649 DoFs) and 0.68x in 2D (263,169 DoFs); in double precision the
   * two are equal (0.96x, 1.01x).
   *
   * Simplicial factorizations (for small 2D problems, where the BLAS calls
   * on tiny supernodes cost more than they save) are solved by CHOLMOD.
   *
   * solve() reuses work space and is not safe to call from several threads
   * on one object at the same time.
   */
  class SparseCholesky
  {
  public:
    /** Storage of the factor used by the solves. */
    enum class Precision
    {
      /** The factor as computed (double). */
      double_precision,
      /** The factor rounded to float: half the memory and memory traffic. */
      single_precision
    };

    /** Options of the factorization and the solves. */
    struct AdditionalData
    {
      /**
       * Supernodal factorization (BLAS-3; single precision possible), or
       * simplicial (solved by CHOLMOD; faster for small 2D problems).
       */
      bool supernodal = true;
      /**
       * Fill-reducing ordering: try AMD and METIS nested dissection and
       * keep the smaller factor (true), or METIS only (false).
       */
      bool try_amd_and_metis = true;
      /** Precision of the stored factor (supernodal only). */
      Precision precision = Precision::double_precision;
      /**
       * Solve with CHOLMOD's cholmod_solve2 instead (the reference in tests
       * and benchmarks; ignores `precision`).
       */
      bool use_cholmod_solve = false;
    };

    /** Factorizes a deal.II sparse matrix (square, SPD). */
    SparseCholesky(const SparseMatrix<double> &matrix, const AdditionalData &data);

    /** Factorizes a Trilinos matrix that lives on one MPI process. */
    SparseCholesky(const TrilinosWrappers::SparseMatrix &matrix, const AdditionalData &data);

    ~SparseCholesky();

    SparseCholesky(const SparseCholesky &) = delete;
    SparseCholesky &
    operator=(const SparseCholesky &) = delete;

    /**
     * In place: the n_columns columns of x (column j starts at
     * x + j * leading_dimension) are replaced by \f$A^{-1}\f$ times them.
     */
    void
    solve(double *x, unsigned int n_columns, std::size_t leading_dimension);

    /**
     * As solve(), then iterative refinement with residuals in double
     * precision, \f$x \leftarrow x + A^{-1}(b - A x)\f$, until every
     * column's residual is below 1e-13 of its right-hand side (at most 5
     * steps): double precision accuracy from a single precision factor.
     * For a double factor this is solve(). Returns the number of steps.
     */
    unsigned int
    solve_refined(double *x, unsigned int n_columns, std::size_t leading_dimension);

    /**
     * The numeric factorization of @p matrix, which has the sparsity
     * pattern of the constructor's matrix: the ordering and the symbolic
     * analysis (the expensive part for a small matrix factorized many times,
     * as a PDE with a changing coefficient is) are reused. Returns false
     * where CHOLMOD stops at a pivot: a matrix that is not positive definite
     * (the simplicial LDL^T form stops only at a zero pivot, so a caller
     * whose matrix may be indefinite checks its solutions); the factor is
     * then unusable until the next successful call. Not for a single
     * precision factor.
     */
    bool
    refactorize(const SparseMatrix<double> &matrix);

    /** Number of rows of A. */
    std::size_t
    size() const;

    /** Number of stored entries of L (supernodal: including the padding). */
    std::size_t
    n_factor_entries() const;

    /** Memory of the factor used by the solves, in bytes. */
    std::size_t
    factor_memory() const;

    /** "AMD" or "METIS": the ordering CHOLMOD chose. */
    std::string
    ordering() const;

  private:
    class Implementation;
    std::unique_ptr<Implementation> implementation;
  };
} // namespace ddo

#endif
