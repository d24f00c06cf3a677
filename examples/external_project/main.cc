// A minimal deal.II application that uses an installed ddo as a generative
// prior on its own mesh.
//
// It owns a periodic mesh of the unit square (quadrilaterals, Q2 elements:
// neither the cells nor the element of the model's training mesh), binds a
// trained model of vorticity fields to it, draws a vorticity field omega,
// and solves its own PDE with it: the stream function of the flow,
// -Laplace psi = omega with periodic boundaries, and the flow's kinetic
// energy (1/2) int |grad psi|^2. The Galerkin solution satisfies
// int |grad psi|^2 = int omega psi exactly, which the program checks.
//
//   external_project_demo <trained model directory>

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/quadrature_lib.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparse_direct.h>
#include <deal.II/lac/sparse_matrix.h>

#include <deal.II/numerics/vector_tools.h>

#include <ddo/base/mpi_session.h>
#include <ddo/function_space/function_space.h>
#ifdef DDO_WITH_TORCH
#  include <ddo/torch/model/generative_prior.h>
#endif

#include <cmath>
#include <iostream>

using namespace dealii;

namespace
{
  /** The application's periodic mesh and Q2 space, with one pinned DoF. */
  struct StreamFunctionProblem
  {
    Triangulation<2>          triangulation;
    const FE_Q<2>             fe{2};
    DoFHandler<2>             dof_handler{triangulation};
    AffineConstraints<double> constraints;

    StreamFunctionProblem()
    {
      GridGenerator::hyper_cube(triangulation, 0, 1, /*colorize=*/true);
      triangulation.refine_global(5);
      dof_handler.distribute_dofs(fe);
      DoFTools::make_periodicity_constraints(dof_handler, 0, 1, 0, constraints);
      DoFTools::make_periodicity_constraints(dof_handler, 2, 3, 1, constraints);
      // psi is defined up to a constant: pin one unconstrained DoF.
      for (types::global_dof_index i = 0; i < dof_handler.n_dofs(); ++i)
        if (!constraints.is_constrained(i))
          {
            constraints.add_line(i);
            break;
          }
      constraints.close();
    }

    /** Solves -Laplace psi = omega - mean(omega); returns psi and fills the energy check. */
    Vector<double>
    solve(const Vector<double> &omega, double &energy, double &identity_error) const
    {
      DynamicSparsityPattern dsp(dof_handler.n_dofs());
      DoFTools::make_sparsity_pattern(dof_handler, dsp, constraints, false);
      SparsityPattern pattern;
      pattern.copy_from(dsp);
      SparseMatrix<double> matrix(pattern);
      Vector<double>       rhs(dof_handler.n_dofs());

      const QGauss<2>     quadrature(3);
      FEValues<2>         fe_values(fe, quadrature, update_values | update_gradients | update_JxW_values);
      std::vector<double> omega_values(quadrature.size());
      double              integral = 0;
      for (const auto &cell : dof_handler.active_cell_iterators())
        {
          fe_values.reinit(cell);
          fe_values.get_function_values(omega, omega_values);
          for (unsigned int q = 0; q < quadrature.size(); ++q)
            integral += omega_values[q] * fe_values.JxW(q);
        }
      FullMatrix<double>                   local_matrix(fe.n_dofs_per_cell(), fe.n_dofs_per_cell());
      Vector<double>                       local_rhs(fe.n_dofs_per_cell());
      std::vector<types::global_dof_index> dofs(fe.n_dofs_per_cell());
      for (const auto &cell : dof_handler.active_cell_iterators())
        {
          fe_values.reinit(cell);
          // The prior's sample as a coefficient: its values at the quadrature points.
          fe_values.get_function_values(omega, omega_values);
          local_matrix = 0;
          local_rhs    = 0;
          for (unsigned int q = 0; q < quadrature.size(); ++q)
            for (unsigned int i = 0; i < fe.n_dofs_per_cell(); ++i)
              {
                for (unsigned int j = 0; j < fe.n_dofs_per_cell(); ++j)
                  local_matrix(i, j) +=
                    fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q) * fe_values.JxW(q);
                local_rhs(i) += (omega_values[q] - integral) * fe_values.shape_value(i, q) * fe_values.JxW(q);
              }
          cell->get_dof_indices(dofs);
          constraints.distribute_local_to_global(local_matrix, local_rhs, dofs, matrix, rhs);
        }
      SparseDirectUMFPACK solver;
      solver.initialize(matrix);
      Vector<double> psi = rhs;
      solver.solve(psi);
      constraints.distribute(psi);

      // Energy int |grad psi|^2 against int (omega - mean) psi, without constraints.
      std::vector<double> psi_at_q(quadrature.size());
      std::vector<Tensor<1, 2>> grad_psi(quadrature.size());
      double              gradient_energy = 0, work = 0;
      for (const auto &cell : dof_handler.active_cell_iterators())
        {
          fe_values.reinit(cell);
          fe_values.get_function_values(omega, omega_values);
          fe_values.get_function_values(psi, psi_at_q);
          fe_values.get_function_gradients(psi, grad_psi);
          for (unsigned int q = 0; q < quadrature.size(); ++q)
            {
              gradient_energy += grad_psi[q] * grad_psi[q] * fe_values.JxW(q);
              work += (omega_values[q] - integral) * psi_at_q[q] * fe_values.JxW(q);
            }
        }
      energy         = 0.5 * gradient_energy;
      identity_error = std::abs(gradient_energy - work) / gradient_energy;
      return psi;
    }
  };


#ifdef DDO_WITH_TORCH
  /** A vorticity field drawn from the trained model in @p model_directory, on the application's DoFs. */
  Vector<double>
  sample_vorticity(const std::string &model_directory, const StreamFunctionProblem &problem)
  {
    // The prior on the application's mesh and element.
    const ddo::GenerativePrior<2> prior({model_directory}, problem.dof_handler, {{0, 1, 0}, {2, 3, 1}});
    std::cout << "prior bound to " << problem.dof_handler.n_dofs() << " Q2 DoFs (model space: "
              << prior.model_space().n_dofs() << " Q1 DoFs)" << std::endl;
    ParameterHandler prm;
    ddo::SamplerRegistry<2>::instance().declare_parameters(prm, "Type", "probability_flow", "The sampler.");
    const auto         sampler = ddo::SamplerRegistry<2>::instance().create_and_parse(prm, "Type");
    ddo::SamplerReport report;
    Vector<double>     omega = prior.sample(*sampler, 1, /*seed=*/2026, 0, &report)[0];
    std::cout << "sampled vorticity: " << report.summary() << std::endl;
    return omega;
  }
#else
  /** Without LibTorch (ddo::core only): a fixed vorticity field instead of a sample. */
  Vector<double>
  sample_vorticity(const std::string &, const StreamFunctionProblem &problem)
  {
    Vector<double> omega(problem.dof_handler.n_dofs());
    VectorTools::interpolate(problem.dof_handler,
                             ScalarFunctionFromFunctionObject<2>([](const Point<2> &p) {
                               return std::sin(2 * M_PI * p[0]) * std::cos(4 * M_PI * p[1]);
                             }),
                             omega);
    return omega;
  }
#endif
} // namespace


int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  try
    {
      AssertThrow(argc == 2, ExcMessage("usage: external_project_demo <trained model directory>"));
      StreamFunctionProblem problem;

      // ddo's own view of the mesh: checks 1^T M 1 = |Omega|.
      const std::shared_ptr<const Triangulation<2>> mesh(&problem.triangulation, [](const Triangulation<2> *) {});
      const ddo::FunctionSpace<2> space(mesh, 1);
      const bool                  volume_ok = std::abs(space.volume() - 1.) < 1e-12;
      std::cout << (volume_ok ? "volume ok" : "volume WRONG") << std::endl;

      const Vector<double> omega = sample_vorticity(argv[1], problem);
      std::cout << "max |omega| = " << omega.linfty_norm() << std::endl;

      double energy = 0, identity_error = 0;
      problem.solve(omega, energy, identity_error);
      std::cout << "stream function solved: kinetic energy " << energy << ", energy identity error "
                << identity_error << std::endl;
      const bool ok = volume_ok && std::isfinite(energy) && energy > 0 && identity_error < 1e-8;
      std::cout << (ok ? "external project ok" : "external project FAILED") << std::endl;
      return ok ? 0 : 1;
    }
  catch (const std::exception &e)
    {
      std::cerr << "Error: " << e.what() << std::endl;
      return 1;
    }
}
