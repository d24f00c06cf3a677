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
          matrices.push_back(std::move(matrix));
        }
    }


    ShiftedSystems::~ShiftedSystems() = default;


    void
    ShiftedSystems::solve(const unsigned int                   j,
                          const TrilinosWrappers::MPI::Vector &b,
                          TrilinosWrappers::MPI::Vector &      x,
                          const bool                           accurate) const
    {
      AssertIndexRange(j, matrices.size());
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
  } // namespace internal
} // namespace ddo
