#ifndef ddo_direct_factorization_h
#define ddo_direct_factorization_h

/**
 * @file
 * Sparse factorizations of symmetric positive definite Trilinos matrices,
 * computed once and reused for many right-hand sides (the direct solvers
 * of MaternSPDE). Internal to the covariance models.
 *
 * @ingroup covariance
 */

#include <deal.II/lac/trilinos_sparse_matrix.h>

#include <ddo/lac/sparse_cholesky.h>

#include <cstddef>
#include <memory>
#include <string>

class Epetra_MultiVector;

namespace ddo
{
  using namespace dealii;

  namespace internal
  {
    /**
     * A sparse factorization of a symmetric positive definite Trilinos
     * matrix, computed once and applied to blocks of right-hand sides.
     */
    class DirectFactorization
    {
    public:
      virtual ~DirectFactorization() = default;
      /**
       * x = A^{-1} b for every column (x and b: the matrix's row layout), to
       * the accuracy of the stored factor (samples).
       */
      virtual void
      solve(const Epetra_MultiVector &b, Epetra_MultiVector &x) = 0;

      /** Bytes of the stored factor (0 where the package does not say). */
      virtual std::size_t
      memory() const
      {
        return 0;
      }

      /** Whether the factorization keeps using the matrix it was made from. */
      virtual bool
      references_matrix() const
      {
        return true;
      }

      /** As solve(), to double precision (the exact operators). */
      virtual void
      solve_accurately(const Epetra_MultiVector &b, Epetra_MultiVector &x)
      {
        solve(b, x);
      }
    };

    /** "single" or "double" as a SparseCholesky precision. */
    SparseCholesky::Precision
    precision_of(const std::string &name);

    /**
     * Factorizes @p matrix: CHOLMOD Cholesky (SparseCholesky) for "cholmod"
     * on one MPI rank, else Amesos KLU or MUMPS ("mumps"). The Amesos
     * factorizations keep a reference to @p matrix: it must outlive them.
     */
    std::unique_ptr<DirectFactorization>
    factorize(const TrilinosWrappers::SparseMatrix &matrix,
              const std::string &                   package,
              const SparseCholesky::Precision       precision);
  } // namespace internal
} // namespace ddo

#endif
