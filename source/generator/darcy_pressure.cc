// The data generator `darcy_pressure`: the pressure of steady Darcy flow
// through a medium whose log-permeability is the random field,
//   -div(exp(s g) grad p) = f in the domain, p = 0 on the Dirichlet boundary,
// a nonlinear push-forward of a Gaussian field in 2D and 3D (skewed, with
// the boundary's imprint: a Gaussian with its covariance is a poor model of
// it). The 3D showcase examples/step-5 uses it.

#include <deal.II/base/quadrature.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/solver_cg.h>
#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/trilinos_precondition.h>
#include <deal.II/lac/trilinos_solver.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/generator/interface.h>

#include <cmath>
#include <set>
#include <sstream>

namespace ddo
{
  namespace generators
  {
    /**
     * Darcy pressure for the log-permeability given by the random field:
     * assembled with the space's element, mapping and quadrature, solved by
     * CG with an algebraic multigrid preconditioner to a relative residual
     * of 1e-10.
     */
    template <int dim>
    class DarcyPressure : public Generator<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        prm.declare_entry("Source", "1", Patterns::Double(),
                          "f: the constant volume source.");
        prm.declare_entry("Log-permeability scale", "1", Patterns::Double(0),
                          "s: the permeability is exp(s g) for the random field g.");
        prm.declare_entry("Dirichlet boundary ids", "", Patterns::List(Patterns::Integer(0)),
                          "Boundary ids with p = 0 (empty: the whole boundary); the "
                          "others are impermeable (no flux).");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        source = prm.get_double("Source");
        scale  = prm.get_double("Log-permeability scale");
        dirichlet_ids.clear();
        for (const std::string &id : Utilities::split_string_list(prm.get("Dirichlet boundary ids")))
          dirichlet_ids.insert(static_cast<types::boundary_id>(Utilities::string_to_int(id)));
      }

      void
      initialize(const FunctionSpace<dim> &space_in) override
      {
        space = &space_in;
        make_constraints();
        DynamicSparsityPattern dsp(space->locally_relevant_dofs());
        DoFTools::make_sparsity_pattern(space->get_dof_handler(), dsp, constraints, false);
        matrix.reinit(space->locally_owned_dofs(), space->locally_owned_dofs(), dsp,
                      space->get_mpi_communicator());
      }

      void
      generate(const VectorType &random_field, VectorType &field) override
      {
        Assert(space != nullptr, ExcMessage("DarcyPressure: initialize() was not called."));
        VectorType rhs = space->create_vector();
        assemble(random_field, rhs);
        field = space->create_vector();
        if (rhs.l2_norm() == 0.)
          return; // no source: p = 0
        SolverControl control(10000, 1e-10 * rhs.l2_norm());
        TrilinosWrappers::SolverCG                  cg(control);
        TrilinosWrappers::PreconditionAMG           amg;
        TrilinosWrappers::PreconditionAMG::AdditionalData data;
        data.elliptic              = true;
        data.higher_order_elements = space->get_fe().degree > 1;
        amg.initialize(matrix, data);
        cg.solve(matrix, field, rhs, amg);
        constraints.distribute(field);
      }

      std::string
      summary() const override
      {
        std::ostringstream out;
        out << "Darcy pressure: -div(exp(" << scale << " g) grad p) = " << source
            << ", p = 0 on " << (dirichlet_ids.empty() ? "the whole boundary" : "the chosen boundary ids")
            << "; g: the random field";
        return out.str();
      }

    private:
      /** The space's constraints and p = 0 on the Dirichlet boundary. */
      void
      make_constraints()
      {
        constraints.clear();
        constraints.reinit(space->locally_relevant_dofs());
        AffineConstraints<double> dirichlet(space->locally_relevant_dofs());
        if (dirichlet_ids.empty())
          DoFTools::make_zero_boundary_constraints(space->get_dof_handler(), dirichlet);
        else
          for (const types::boundary_id id : dirichlet_ids)
            DoFTools::make_zero_boundary_constraints(space->get_dof_handler(), id, dirichlet);
        dirichlet.close();
        constraints.merge(space->get_constraints(),
                          AffineConstraints<double>::MergeConflictBehavior::left_object_wins);
        constraints.merge(dirichlet,
                          AffineConstraints<double>::MergeConflictBehavior::left_object_wins);
        constraints.close();
        AssertThrow(constraints.n_constraints() > space->get_constraints().n_constraints(),
                    ExcMessage("darcy_pressure: no DoF lies on the Dirichlet boundary ids given; "
                               "the pressure would be undetermined."));
      }

      /** The matrix for the permeability exp(s g) and the source's right-hand side. */
      void
      assemble(const VectorType &random_field, VectorType &rhs)
      {
        VectorType g = space->create_ghosted_vector();
        g            = random_field;
        matrix       = 0.;
        FEValues<dim>       fe_values(space->get_mapping(), space->get_fe(), space->get_quadrature(),
                                update_values | update_gradients | update_JxW_values);
        const unsigned int  n         = space->get_fe().n_dofs_per_cell();
        const unsigned int  n_points  = space->get_quadrature().size();
        FullMatrix<double>  cell_matrix(n, n);
        Vector<double>      cell_rhs(n);
        std::vector<double> g_values(n_points);
        std::vector<types::global_dof_index> dofs(n);
        for (const auto &cell : space->get_dof_handler().active_cell_iterators())
          if (cell->is_locally_owned())
            {
              fe_values.reinit(cell);
              fe_values.get_function_values(g, g_values);
              cell_matrix = 0.;
              cell_rhs    = 0.;
              for (unsigned int q = 0; q < n_points; ++q)
                {
                  const double a = std::exp(scale * g_values[q]) * fe_values.JxW(q);
                  for (unsigned int i = 0; i < n; ++i)
                    {
                      for (unsigned int j = 0; j < n; ++j)
                        cell_matrix(i, j) +=
                          a * (fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q));
                      cell_rhs(i) += source * fe_values.shape_value(i, q) * fe_values.JxW(q);
                    }
                }
              cell->get_dof_indices(dofs);
              constraints.distribute_local_to_global(cell_matrix, cell_rhs, dofs, matrix, rhs);
            }
        matrix.compress(VectorOperation::add);
        rhs.compress(VectorOperation::add);
      }

      const FunctionSpace<dim> *        space  = nullptr;
      double                            source = 1;
      double                            scale  = 1;
      std::set<types::boundary_id>      dirichlet_ids;
      AffineConstraints<double>         constraints;
      TrilinosWrappers::SparseMatrix    matrix;
    };
  } // namespace generators
} // namespace ddo

DDO_REGISTER_GENERATOR(ddo::generators::DarcyPressure, "darcy_pressure",
                       "pressure of Darcy flow, -div(exp(s g) grad p) = f, p = 0 on the "
                       "boundary, for the log-permeability g = the random field (2D, 3D)")
