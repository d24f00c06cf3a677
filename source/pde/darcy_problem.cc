// Steady Darcy flow with a field as its permeability (see
// include/ddo/pde/darcy_problem.h): the forward model shared by the
// likelihood darcy_point_pressure and the quantity darcy_boundary_flux.

#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>

#include <ddo/pde/darcy_problem.h>

#include <cmath>
#include <sstream>

namespace ddo
{
  void
  DarcySettings::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Source", "1", Patterns::Double(), "f: the constant volume source.");
    prm.declare_entry("Dirichlet boundary ids", "", Patterns::List(Patterns::Integer(0)),
                      "Boundary ids with p = 0 (empty: the whole boundary); the others are "
                      "impermeable.");
    prm.declare_entry("Field", "permeability", Patterns::Selection("permeability|log permeability"),
                      "What the field is: the permeability a itself, or log a.");
    prm.declare_entry("Permeability floor", "0.1", Patterns::Double(0),
                      "For 'Field = permeability': a = max(u, floor), so that the states of a "
                      "sampler (which may be negative at high noise) give a solvable problem.");
  }


  void
  DarcySettings::parse_parameters(ParameterHandler &prm, const std::string &owner)
  {
    source = prm.get_double("Source");
    dirichlet_ids.clear();
    for (const std::string &id : Utilities::split_string_list(prm.get("Dirichlet boundary ids")))
      dirichlet_ids.insert(static_cast<types::boundary_id>(Utilities::string_to_int(id)));
    map   = prm.get("Field") == "permeability" ? PermeabilityMap::identity : PermeabilityMap::exponential;
    floor = prm.get_double("Permeability floor");
    AssertThrow(map == PermeabilityMap::exponential || floor > 0,
                ExcMessage(owner + ": 'Permeability floor' must be positive."));
  }


  std::string
  DarcySettings::summary() const
  {
    std::ostringstream out;
    out << "-div(a grad p) = " << source << ", p = 0 on ";
    if (dirichlet_ids.empty())
      out << "the whole boundary";
    else
      {
        out << "boundary ids";
        for (const auto id : dirichlet_ids)
          out << (id == *dirichlet_ids.begin() ? " " : ", ") << id;
      }
    out << ", a = ";
    if (map == PermeabilityMap::identity)
      out << "max(u, " << floor << ")";
    else
      out << "exp(u)";
    return out.str();
  }


  template <int dim>
  DarcyProblem<dim>::DarcyProblem(const FunctionSpace<dim> &space_in,
                                  const DarcySettings &     settings_in,
                                  const std::string &       owner)
    : space(space_in)
    , settings(settings_in)
  {
    AssertThrow(!space.is_distributed(), ExcMessage(owner + " works on serial or replicated meshes."));
    make_constraints(owner);
    DynamicSparsityPattern dsp(space.n_dofs());
    DoFTools::make_sparsity_pattern(space.get_dof_handler(), dsp, constraints, false);
    pattern.copy_from(dsp);
    matrix.reinit(pattern);
    assemble_source();
  }


  template <int dim>
  std::pair<double, double>
  DarcyProblem<dim>::permeability(const double u) const
  {
    if (settings.map == DarcySettings::PermeabilityMap::exponential)
      return {std::exp(u), std::exp(u)};
    return u > settings.floor ? std::make_pair(u, 1.) : std::make_pair(settings.floor, 0.);
  }


  template <int dim>
  void
  DarcyProblem<dim>::make_constraints(const std::string &owner)
  {
    AffineConstraints<double> dirichlet;
    if (settings.dirichlet_ids.empty())
      DoFTools::make_zero_boundary_constraints(space.get_dof_handler(), dirichlet);
    else
      for (const types::boundary_id id : settings.dirichlet_ids)
        DoFTools::make_zero_boundary_constraints(space.get_dof_handler(), id, dirichlet);
    dirichlet.close();
    AssertThrow(dirichlet.n_constraints() > 0,
                ExcMessage(owner + ": no DoF lies on the Dirichlet boundary (" + settings.summary() +
                           "); the pressure would be undetermined."));
    for (const auto &line : dirichlet.get_lines())
      boundary_dofs.insert(line.index);
    constraints.copy_from(space.get_constraints());
    constraints.merge(dirichlet, AffineConstraints<double>::MergeConflictBehavior::left_object_wins);
    constraints.close();
  }


  template <int dim>
  void
  DarcyProblem<dim>::assemble_source()
  {
    rhs.reinit(space.n_dofs());
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_JxW_values);
    const unsigned int                   n = space.get_fe().n_dofs_per_cell();
    Vector<double>                       cell_rhs(n);
    std::vector<types::global_dof_index> dofs(n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        cell_rhs = 0.;
        for (unsigned int q = 0; q < fe_values.n_quadrature_points; ++q)
          for (unsigned int i = 0; i < n; ++i)
            cell_rhs(i) += settings.source * fe_values.shape_value(i, q) * fe_values.JxW(q);
        cell->get_dof_indices(dofs);
        constraints.distribute_local_to_global(cell_rhs, dofs, rhs);
      }
  }


  template <int dim>
  Vector<double>
  DarcyProblem<dim>::solve_pressure(const Vector<double> &u)
  {
    AssertThrow(u.size() == space.n_dofs(),
                ExcMessage("Darcy problem: the field has " + std::to_string(u.size()) + " coefficients, the space " +
                           std::to_string(space.n_dofs()) + "."));
    matrix = 0.;
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    const unsigned int                   n = space.get_fe().n_dofs_per_cell();
    FullMatrix<double>                   cell_matrix(n, n);
    std::vector<double>                  u_values(fe_values.n_quadrature_points);
    std::vector<types::global_dof_index> dofs(n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        fe_values.get_function_values(u, u_values);
        cell_matrix = 0.;
        for (unsigned int q = 0; q < u_values.size(); ++q)
          {
            const double a = permeability(u_values[q]).first * fe_values.JxW(q);
            for (unsigned int i = 0; i < n; ++i)
              for (unsigned int j = 0; j < n; ++j)
                cell_matrix(i, j) += a * (fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q));
          }
        cell->get_dof_indices(dofs);
        constraints.distribute_local_to_global(cell_matrix, dofs, matrix);
      }
    solver.initialize(matrix);
    Vector<double> p = rhs;
    solver.solve(p);
    ++solves;
    constraints.distribute(p);
    return p;
  }


  template <int dim>
  void
  DarcyProblem<dim>::solve_adjoint(Vector<double> &z)
  {
    constraints.condense(z);
    solver.solve(z);
    ++solves;
    constraints.distribute(z);
  }


  template <int dim>
  void
  DarcyProblem<dim>::permeability_derivative(const Vector<double> &u,
                                             const Vector<double> &p,
                                             const Vector<double> &z,
                                             Vector<double> &      gradient) const
  {
    gradient = 0.;
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    const unsigned int                   n_q = fe_values.n_quadrature_points;
    const unsigned int                   n   = space.get_fe().n_dofs_per_cell();
    std::vector<double>                  u_values(n_q);
    std::vector<Tensor<1, dim>>          p_gradients(n_q), z_gradients(n_q);
    std::vector<types::global_dof_index> dofs(n);
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        fe_values.get_function_values(u, u_values);
        fe_values.get_function_gradients(p, p_gradients);
        fe_values.get_function_gradients(z, z_gradients);
        cell->get_dof_indices(dofs);
        for (unsigned int q = 0; q < n_q; ++q)
          {
            const double w = -permeability(u_values[q]).second * (z_gradients[q] * p_gradients[q]) * fe_values.JxW(q);
            for (unsigned int i = 0; i < n; ++i)
              gradient[dofs[i]] += w * fe_values.shape_value(i, q);
          }
      }
  }


  template <int dim>
  double
  DarcyProblem<dim>::outflow(const Vector<double> &u, const Vector<double> &p, const Vector<double> &weight) const
  {
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    const unsigned int          n_q = fe_values.n_quadrature_points;
    std::vector<double>         u_values(n_q), w_values(n_q);
    std::vector<Tensor<1, dim>> p_gradients(n_q), w_gradients(n_q);
    double                      flux = 0;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        fe_values.get_function_values(u, u_values);
        fe_values.get_function_values(weight, w_values);
        fe_values.get_function_gradients(p, p_gradients);
        fe_values.get_function_gradients(weight, w_gradients);
        for (unsigned int q = 0; q < n_q; ++q)
          {
            const double a = permeability(u_values[q]).first;
            flux += (settings.source * w_values[q] - a * (p_gradients[q] * w_gradients[q])) * fe_values.JxW(q);
          }
      }
    return flux;
  }


  template class DarcyProblem<2>;
  template class DarcyProblem<3>;
} // namespace ddo
