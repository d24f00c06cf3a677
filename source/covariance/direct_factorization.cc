#include <deal.II/base/mpi.h>

#include <ddo/covariance/direct_factorization.h>

#include <Amesos.h>
#include <Amesos_BaseSolver.h>
#include <Epetra_CrsMatrix.h>
#include <Epetra_LinearProblem.h>
#include <Epetra_MultiVector.h>
#include <Teuchos_ParameterList.hpp>

#include <cstring>

namespace ddo
{
  using namespace dealii;

  namespace internal
  {
    namespace
    {
      /** LU factorization by a Trilinos Amesos package (KLU, MUMPS). */
      class AmesosFactorization : public DirectFactorization
      {
      public:
        AmesosFactorization(const Epetra_CrsMatrix &matrix, const std::string &package)
        {
          problem.SetOperator(const_cast<Epetra_CrsMatrix *>(&matrix));
          Amesos factory;
          AssertThrow(factory.Query(package.c_str()),
                      ExcMessage("Matern: the Amesos package " + package +
                                 " is not available in this Trilinos."));
          solver.reset(factory.Create(package.c_str(), problem));
          Teuchos::ParameterList list;
          list.set("OutputLevel", 0);
          solver->SetParameters(list);
          AssertThrow(solver->SymbolicFactorization() == 0 &&
                        solver->NumericFactorization() == 0,
                      ExcMessage("Matern: the factorization with " + package + " failed."));
        }

        void
        solve(const Epetra_MultiVector &b, Epetra_MultiVector &x) override
        {
          problem.SetLHS(&x);
          problem.SetRHS(const_cast<Epetra_MultiVector *>(&b));
          AssertThrow(solver->Solve() == 0, ExcMessage("Matern: the direct solve failed."));
        }

      private:
        Epetra_LinearProblem               problem;
        std::unique_ptr<Amesos_BaseSolver> solver;
      };


      /**
       * Supernodal Cholesky factorization by CHOLMOD (serial matrices),
       * solved by SparseCholesky: half the storage of an LU factorization,
       * BLAS-3 for blocks of right-hand sides, and a single precision factor
       * for samples (memory-bound solves) with iterative refinement for the
       * exact operators.
       */
      class CholmodFactorization : public DirectFactorization
      {
      public:
        CholmodFactorization(const TrilinosWrappers::SparseMatrix &matrix,
                             const SparseCholesky::Precision       precision)
          : cholesky(matrix, [precision]() {
            SparseCholesky::AdditionalData data;
            data.precision = precision;
            return data;
          }())
        {}

        void
        solve(const Epetra_MultiVector &b, Epetra_MultiVector &x) override
        {
          copy(b, x);
          cholesky.solve(x.Values(), x.NumVectors(), x.Stride());
        }

        void
        solve_accurately(const Epetra_MultiVector &b, Epetra_MultiVector &x) override
        {
          copy(b, x);
          cholesky.solve_refined(x.Values(), x.NumVectors(), x.Stride());
        }

        std::size_t
        memory() const override
        {
          return cholesky.factor_memory();
        }

        bool
        references_matrix() const override
        {
          return false;
        }

      private:
        static void
        copy(const Epetra_MultiVector &b, Epetra_MultiVector &x)
        {
          AssertThrow(b.ConstantStride() && x.ConstantStride() &&
                        b.NumVectors() == x.NumVectors() && b.MyLength() == x.MyLength(),
                      ExcInternalError());
          if (&b != &x)
            for (int v = 0; v < x.NumVectors(); ++v)
              std::memcpy(x[v], b[v], sizeof(double) * x.MyLength());
        }

        SparseCholesky cholesky;
      };
    } // namespace


    SparseCholesky::Precision
    precision_of(const std::string &name)
    {
      return name == "single" ? SparseCholesky::Precision::single_precision :
                                SparseCholesky::Precision::double_precision;
    }


    std::unique_ptr<DirectFactorization>
    factorize(const TrilinosWrappers::SparseMatrix &matrix,
              const std::string &                   package,
              const SparseCholesky::Precision       precision)
    {
      const bool serial = Utilities::MPI::n_mpi_processes(matrix.get_mpi_communicator()) == 1;
      if (package == "cholmod" && serial)
        return std::make_unique<CholmodFactorization>(matrix, precision);
      return std::make_unique<AmesosFactorization>(matrix.trilinos_matrix(),
                                                   package == "mumps" ? "Amesos_Mumps" :
                                                                        "Amesos_Klu");
    }
  } // namespace internal
} // namespace ddo
