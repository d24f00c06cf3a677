// Steady Darcy flow with a field as its permeability (see
// include/ddo/pde/darcy_problem.h): the forward model shared by the
// likelihood darcy_point_pressure and the quantity darcy_boundary_flux.

#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>

#include <ddo/base/finite.h>
#include <ddo/pde/darcy_problem.h>

#include <algorithm>
#include <cmath>
#include <limits>
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
    tabulate_cells();
    assemble_source();
    // The ordering and symbolic analysis, once: a = 1. Simplicial below
    // 10^4 DoFs (small 2D problems, where supernodes are tiny).
    assemble_matrix(nullptr);
    SparseCholesky::AdditionalData data;
    data.supernodal = space.n_dofs() > 10000;
    cholesky        = std::make_unique<SparseCholesky>(matrix, data);
  }


  template <int dim>
  void
  DarcyProblem<dim>::tabulate_cells()
  {
    FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    n_cells  = space.get_dof_handler().get_triangulation().n_active_cells();
    n_shape  = space.get_fe().n_dofs_per_cell();
    n_points = fe_values.n_quadrature_points;
    cell_dofs.resize(std::size_t(n_cells) * n_shape);
    jxw.resize(std::size_t(n_cells) * n_points);
    shape_values.resize(std::size_t(n_cells) * n_points * n_shape);
    shape_gradients.resize(std::size_t(n_cells) * n_points * n_shape);
    std::vector<types::global_dof_index> dofs(n_shape);
    unsigned int                         c = 0;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        cell->get_dof_indices(dofs);
        std::copy(dofs.begin(), dofs.end(), cell_dofs.begin() + std::size_t(c) * n_shape);
        for (unsigned int q = 0; q < n_points; ++q)
          {
            const std::size_t point = std::size_t(c) * n_points + q;
            jxw[point]              = fe_values.JxW(q);
            for (unsigned int i = 0; i < n_shape; ++i)
              {
                shape_values[point * n_shape + i]    = fe_values.shape_value(i, q);
                shape_gradients[point * n_shape + i] = fe_values.shape_grad(i, q);
              }
          }
        ++c;
      }
  }


  template <int dim>
  void
  DarcyProblem<dim>::values_at_points(const unsigned int c, const Vector<double> &v, std::vector<double> &values) const
  {
    values.assign(n_points, 0.);
    const types::global_dof_index *dofs = cell_dofs.data() + std::size_t(c) * n_shape;
    const double *                 phi  = shape_values.data() + std::size_t(c) * n_points * n_shape;
    for (unsigned int q = 0; q < n_points; ++q)
      for (unsigned int i = 0; i < n_shape; ++i)
        values[q] += v[dofs[i]] * phi[q * n_shape + i];
  }


  template <int dim>
  void
  DarcyProblem<dim>::gradients_at_points(const unsigned int           c,
                                         const Vector<double> &       v,
                                         std::vector<Tensor<1, dim>> &gradients) const
  {
    gradients.assign(n_points, Tensor<1, dim>());
    const types::global_dof_index *dofs = cell_dofs.data() + std::size_t(c) * n_shape;
    const Tensor<1, dim> *         grad = shape_gradients.data() + std::size_t(c) * n_points * n_shape;
    for (unsigned int q = 0; q < n_points; ++q)
      for (unsigned int i = 0; i < n_shape; ++i)
        gradients[q] += v[dofs[i]] * grad[q * n_shape + i];
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
    Vector<double>                       cell_rhs(n_shape);
    std::vector<types::global_dof_index> dofs(n_shape);
    for (unsigned int c = 0; c < n_cells; ++c)
      {
        const std::size_t first = std::size_t(c) * n_points;
        cell_rhs                = 0.;
        for (unsigned int q = 0; q < n_points; ++q)
          for (unsigned int i = 0; i < n_shape; ++i)
            cell_rhs(i) += settings.source * shape_values[(first + q) * n_shape + i] * jxw[first + q];
        std::copy_n(cell_dofs.begin() + std::size_t(c) * n_shape, n_shape, dofs.begin());
        constraints.distribute_local_to_global(cell_rhs, dofs, rhs);
      }
  }


  template <int dim>
  bool
  DarcyProblem<dim>::assemble_matrix(const Vector<double> *u)
  {
    matrix             = 0.;
    permeability_range = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    nan_permeabilities = 0;
    bool                                 admissible = true;
    FullMatrix<double>                   cell_matrix(n_shape, n_shape);
    std::vector<double>                  u_values(n_points, 0.);
    std::vector<types::global_dof_index> dofs(n_shape);
    for (unsigned int c = 0; c < n_cells; ++c)
      {
        if (u != nullptr)
          values_at_points(c, *u, u_values);
        const std::size_t first = std::size_t(c) * n_points;
        cell_matrix             = 0.;
        for (unsigned int q = 0; q < n_points; ++q)
          {
            const double a = u != nullptr ? permeability(u_values[q]).first : 1.;
            // !(a > 0) is also true for NaN.
            if (!(a > 0) || !std::isfinite(a))
              admissible = false;
            // std::min and std::max skip NaN; counted for the error message.
            if (std::isnan(a))
              ++nan_permeabilities;
            permeability_range.first  = std::min(permeability_range.first, a);
            permeability_range.second = std::max(permeability_range.second, a);
            const Tensor<1, dim> *grad = shape_gradients.data() + (first + q) * n_shape;
            const double          w    = a * jxw[first + q];
            for (unsigned int i = 0; i < n_shape; ++i)
              for (unsigned int j = 0; j < n_shape; ++j)
                cell_matrix(i, j) += w * (grad[i] * grad[j]);
          }
        std::copy_n(cell_dofs.begin() + std::size_t(c) * n_shape, n_shape, dofs.begin());
        constraints.distribute_local_to_global(cell_matrix, dofs, matrix);
      }
    return admissible;
  }


  template <int dim>
  bool
  DarcyProblem<dim>::try_solve_pressure(const Vector<double> &u, Vector<double> &p)
  {
    AssertThrow(u.size() == space.n_dofs(),
                ExcMessage("Darcy problem: the field has " + std::to_string(u.size()) + " coefficients, the space " +
                           std::to_string(space.n_dofs()) + "."));
    if (!assemble_matrix(&u))
      return false;
    ++solves;
    if (!cholesky->refactorize(matrix))
      return false;
    p = rhs;
    cholesky->solve(p.begin(), 1, p.size());
    constraints.distribute(p);
    return all_finite(p);
  }


  template <int dim>
  Vector<double>
  DarcyProblem<dim>::solve_pressure(const Vector<double> &u)
  {
    Vector<double> p;
    if (!try_solve_pressure(u, p))
      {
        std::ostringstream message;
        message << "Darcy problem: the field has no pressure in floating point (the permeability ranges from "
                << permeability_range.first << " to " << permeability_range.second;
        if (nan_permeabilities > 0)
          message << ", and is NaN at " << nan_permeabilities << " quadrature points";
        message << "; it must be finite and positive, and the matrix positive definite).";
        AssertThrow(false, ExcMessage(message.str()));
      }
    return p;
  }


  template <int dim>
  void
  DarcyProblem<dim>::solve_adjoint(Vector<double> &z)
  {
    constraints.condense(z);
    cholesky->solve(z.begin(), 1, z.size());
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
    std::vector<double>         u_values;
    std::vector<Tensor<1, dim>> p_gradients, z_gradients;
    for (unsigned int c = 0; c < n_cells; ++c)
      {
        values_at_points(c, u, u_values);
        gradients_at_points(c, p, p_gradients);
        gradients_at_points(c, z, z_gradients);
        const std::size_t              first = std::size_t(c) * n_points;
        const types::global_dof_index *dofs  = cell_dofs.data() + std::size_t(c) * n_shape;
        for (unsigned int q = 0; q < n_points; ++q)
          {
            const double w = -permeability(u_values[q]).second * (z_gradients[q] * p_gradients[q]) * jxw[first + q];
            for (unsigned int i = 0; i < n_shape; ++i)
              gradient[dofs[i]] += w * shape_values[(first + q) * n_shape + i];
          }
      }
  }


  template <int dim>
  double
  DarcyProblem<dim>::outflow(const Vector<double> &u, const Vector<double> &p, const Vector<double> &weight) const
  {
    std::vector<double>         u_values, w_values;
    std::vector<Tensor<1, dim>> p_gradients, w_gradients;
    double                      flux = 0;
    for (unsigned int c = 0; c < n_cells; ++c)
      {
        values_at_points(c, u, u_values);
        values_at_points(c, weight, w_values);
        gradients_at_points(c, p, p_gradients);
        gradients_at_points(c, weight, w_gradients);
        for (unsigned int q = 0; q < n_points; ++q)
          {
            const double a = permeability(u_values[q]).first;
            flux += (settings.source * w_values[q] - a * (p_gradients[q] * w_gradients[q])) *
                    jxw[std::size_t(c) * n_points + q];
          }
      }
    return flux;
  }


  template class DarcyProblem<2>;
  template class DarcyProblem<3>;
} // namespace ddo
