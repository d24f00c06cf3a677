#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/trilinos_solver.h>

#include <ddo/covariance/shifted_systems.h>

namespace ddo
{
  namespace internal
  {
    ShiftedSystems::ShiftedSystems(const TrilinosWrappers::SparseMatrix &a,
                                   const TrilinosWrappers::SparseMatrix &m,
                                   const std::vector<double> &           coefficients,
                                   const Settings &                      settings_in)
      : settings(settings_in)
    {
      for (const double c : coefficients)
        {
          AssertThrow(c >= 0, ExcInternalError());
          auto matrix = std::make_unique<TrilinosWrappers::SparseMatrix>();
          matrix->copy_from(a);
          matrix->add(c, m);
          if (settings.direct)
            factorizations.push_back(
              factorize(*matrix, settings.direct_solver, precision_of(settings.direct_precision)));
          else
            {
              preconditioners.push_back(std::make_unique<TrilinosWrappers::PreconditionAMG>());
              preconditioners.back()->initialize(*matrix, settings.amg);
            }
          // CHOLMOD's factor is self-contained: no copy of the matrix kept.
          if (!settings.direct || factorizations.back()->references_matrix())
            matrices.push_back(std::move(matrix));
          ++n_systems;
        }
    }


    ShiftedSystems::~ShiftedSystems() = default;


    void
    ShiftedSystems::solve(const unsigned int                   j,
                          const TrilinosWrappers::MPI::Vector &b,
                          TrilinosWrappers::MPI::Vector &      x,
                          const bool                           accurate) const
    {
      AssertIndexRange(j, n_systems);
      if (x.size() != b.size() || !x.trilinos_partitioner().SameAs(b.trilinos_partitioner()))
        x.reinit(b, true);
      if (settings.direct)
        {
          if (accurate)
            factorizations[j]->solve_accurately(b.trilinos_vector(), x.trilinos_vector());
          else
            factorizations[j]->solve(b.trilinos_vector(), x.trilinos_vector());
          return;
        }
      x                 = 0.;
      const double norm = b.l2_norm();
      if (norm == 0.)
        return;
      SolverControl              control(10000, settings.tolerance * norm);
      TrilinosWrappers::SolverCG cg(control);
      cg.solve(*matrices[j], x, b, *preconditioners[j]);
    }


    void
    ShiftedSystems::solve(const unsigned int        j,
                          const Epetra_MultiVector &b,
                          Epetra_MultiVector &      x) const
    {
      AssertIndexRange(j, n_systems);
      AssertThrow(settings.direct, ExcInternalError());
      factorizations[j]->solve(b, x);
    }


    std::size_t
    ShiftedSystems::factor_memory() const
    {
      std::size_t bytes = 0;
      for (const auto &f : factorizations)
        bytes += f->memory();
      return bytes;
    }
  } // namespace internal
} // namespace ddo
