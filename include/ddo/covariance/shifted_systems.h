#ifndef ddo_shifted_systems_h
#define ddo_shifted_systems_h

/**
 * @file
 * The shifted systems \f$A + c_j M\f$ of a rational approximation, each
 * with its own solver set up once (internal to MaternSPDE).
 *
 * @ingroup covariance
 */

#include <deal.II/lac/trilinos_precondition.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>
#include <deal.II/lac/trilinos_vector.h>

#include <ddo/covariance/direct_factorization.h>

#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  namespace internal
  {
    /**
     * The matrices \f$A + c_j M\f$ for given coefficients \f$c_j \ge 0\f$
     * (same sparsity as A and M), each factorized once (direct) or with an
     * algebraic multigrid preconditioner set up once (amg), solved for any
     * number of right-hand sides.
     */
    class ShiftedSystems
    {
    public:
      /** How the systems are solved. */
      struct Settings
      {
        /** Direct factorizations (else CG with AMG). */
        bool        direct = true;
        /** "cholmod", "klu" or "mumps" (internal::factorize()). */
        std::string direct_solver = "cholmod";
        /** Precision of the stored CHOLMOD factors. */
        std::string direct_precision = "single";
        /** Relative residual of CG (amg). */
        double      tolerance = 1e-6;
        /** ML settings (amg). */
        TrilinosWrappers::PreconditionAMG::AdditionalData amg;
      };

      ShiftedSystems(const TrilinosWrappers::SparseMatrix &a,
                     const TrilinosWrappers::SparseMatrix &m,
                     const std::vector<double> &           coefficients,
                     const Settings &                      settings);

      ~ShiftedSystems();

      /** The number of systems. */
      unsigned int
      size() const
      {
        return n_systems;
      }

      /**
       * \f$x = (A + c_j M)^{-1} b\f$ (@p accurate: a double precision solve
       * also where the stored factor is single precision). @p x takes the
       * layout of @p b.
       */
      void
      solve(const unsigned int                 j,
            const TrilinosWrappers::MPI::Vector &b,
            TrilinosWrappers::MPI::Vector &      x,
            const bool                           accurate) const;

      /**
       * Direct only: \f$x = (A + c_j M)^{-1} b\f$ for every column, with
       * the stored factor.
       */
      void
      solve(const unsigned int j, const Epetra_MultiVector &b, Epetra_MultiVector &x) const;

      /** Bytes of the stored factors (0 where the package does not say). */
      std::size_t
      factor_memory() const;

    private:
      Settings                                                        settings;
      unsigned int                                                    n_systems = 0;
      std::vector<std::unique_ptr<TrilinosWrappers::SparseMatrix>>     matrices;
      std::vector<std::unique_ptr<DirectFactorization>>                factorizations;
      std::vector<std::unique_ptr<TrilinosWrappers::PreconditionAMG>>  preconditioners;
    };
  } // namespace internal
} // namespace ddo

#endif
