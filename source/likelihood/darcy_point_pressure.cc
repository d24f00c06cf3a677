// The likelihood `darcy_point_pressure`: the permeability a(x) is the field,
// the pressure of steady Darcy flow
//   -div(a grad p) = f in the domain, p = 0 on the Dirichlet boundary
// (no flux elsewhere) is observed at points with Gaussian noise: the inverse
// problem of DiffusionPDE and FunDPS on any mesh. The gradient of log L
// with respect to the field's coefficients comes from one adjoint solve with
// the same factorization:
//   A z = H^T (d - H p) / eta^2,   dlogL/du_i = -int phi_i a'(u) grad z . grad p.
// Direct solves (UMFPACK): one factorization serves the forward and the
// adjoint problem.

#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparse_direct.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>

#include <ddo/likelihood/interface.h>
#include <ddo/likelihood/point_observations.h>

#include <cmath>
#include <memory>
#include <set>
#include <sstream>

namespace ddo
{
  namespace likelihoods
  {
    /** How the field maps to the permeability. */
    enum class PermeabilityMap
    {
      /** a = max(u, floor): the field is the permeability (two-valued data). */
      identity,
      /** a = exp(u): the field is the log-permeability (Gaussian priors). */
      exponential
    };


    /** Point observations of the Darcy pressure (see the file documentation). */
    template <int dim>
    class DarcyPointPressure : public Likelihood<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        PointObservationSettings::declare_parameters(prm);
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
      parse_parameters(ParameterHandler &prm) override
      {
        settings.parse_parameters(prm);
        source = prm.get_double("Source");
        dirichlet_ids.clear();
        for (const std::string &id : Utilities::split_string_list(prm.get("Dirichlet boundary ids")))
          dirichlet_ids.insert(static_cast<types::boundary_id>(Utilities::string_to_int(id)));
        map   = prm.get("Field") == "permeability" ? PermeabilityMap::identity : PermeabilityMap::exponential;
        floor = prm.get_double("Permeability floor");
        AssertThrow(map == PermeabilityMap::exponential || floor > 0,
                    ExcMessage("darcy_point_pressure: 'Permeability floor' must be positive."));
      }

      void
      initialize(const FunctionSpace<dim> &space_in) override
      {
        space = &space_in;
        AssertThrow(!space->is_distributed(),
                    ExcMessage("darcy_point_pressure works on serial or replicated meshes."));
        make_constraints();
        DynamicSparsityPattern dsp(space->n_dofs());
        DoFTools::make_sparsity_pattern(space->get_dof_handler(), dsp, constraints, false);
        pattern.copy_from(dsp);
        matrix.reinit(pattern);
        assemble_source();
        observations = std::make_unique<PointObservations<dim>>(*space, settings);
      }

      void
      observe(const Vector<double> &truth, const std::uint64_t seed) override
      {
        observations->observe(solve_pressure(truth), seed);
      }

      /**
       * \f$v_j = g_j^T C g_j\f$ with \f$g_j = J^T e_j\f$ the gradient of
       * the pressure at point j at @p reference: one forward and one
       * adjoint solve per observation, once.
       */
      void
      set_state_noise(const CovarianceOperator<dim> &covariance,
                      const Vector<double> &reference,
                      const double field_scale) override
      {
        const Vector<double> p = solve_pressure(reference);
        std::vector<double>  v(observations->size()), unit(observations->size(), 0.);
        Vector<double>       g(space->n_dofs());
        for (unsigned int j = 0; j < v.size(); ++j)
          {
            unit[j] = 1.;
            pull_back(reference, p, unit, g);
            unit[j] = 0.;
            v[j]    = PointObservations<dim>::observation_variance(*space, covariance, g);
          }
        observations->set_widening(v, field_scale);
      }

      double
      log_likelihood(const Vector<double> &u, const double sigma, Vector<double> &gradient) override
      {
        const Vector<double> p = solve_pressure(u);
        std::vector<double>  dlogl_dy;
        const double         log_l = observations->log_likelihood(observations->values(p), dlogl_dy, sigma);
        pull_back(u, p, dlogl_dy, gradient);
        return log_l;
      }

      double
      normalized_misfit(const Vector<double> &u) override
      {
        return observations->normalized_misfit(observations->values(solve_pressure(u)));
      }

      unsigned int
      n_observations() const override
      {
        return observations->size();
      }

      unsigned int
      n_solves() const override
      {
        return solves;
      }

      std::string
      summary() const override
      {
        std::ostringstream out;
        out << "Darcy pressure -div(a grad p) = " << source << ", p = 0 on "
            << (dirichlet_ids.empty() ? "the whole boundary" : "boundary ids " + ids_text()) << ", a = "
            << (map == PermeabilityMap::identity ? "max(u, " + std::to_string(floor) + ")" : "exp(u)")
            << "; observed at " << observations->summary();
        return out.str();
      }

    private:
      PointObservationSettings                settings;
      double                                  source = 1, floor = 0.1;
      std::set<types::boundary_id>            dirichlet_ids;
      PermeabilityMap                         map   = PermeabilityMap::identity;
      const FunctionSpace<dim> *              space = nullptr;
      AffineConstraints<double>               constraints;
      SparsityPattern                         pattern;
      SparseMatrix<double>                    matrix;
      Vector<double>                          rhs;
      SparseDirectUMFPACK                     solver;
      std::unique_ptr<PointObservations<dim>> observations;
      unsigned int                            solves = 0;

      std::string
      ids_text() const
      {
        std::string text;
        for (const auto id : dirichlet_ids)
          text += (text.empty() ? "" : ", ") + std::to_string(id);
        return text;
      }

      /** a(u) and a'(u) at one value of the field. */
      std::pair<double, double>
      permeability(const double u) const
      {
        if (map == PermeabilityMap::exponential)
          return {std::exp(u), std::exp(u)};
        return u > floor ? std::make_pair(u, 1.) : std::make_pair(floor, 0.);
      }

      /** The space's constraints and p = 0 on the Dirichlet boundary. */
      void
      make_constraints()
      {
        constraints.clear();
        AffineConstraints<double> dirichlet;
        if (dirichlet_ids.empty())
          DoFTools::make_zero_boundary_constraints(space->get_dof_handler(), dirichlet);
        else
          for (const types::boundary_id id : dirichlet_ids)
            DoFTools::make_zero_boundary_constraints(space->get_dof_handler(), id, dirichlet);
        dirichlet.close();
        AssertThrow(dirichlet.n_constraints() > 0,
                    ExcMessage("darcy_point_pressure: no DoF lies on the Dirichlet boundary ids " + ids_text() +
                               "; the pressure would be undetermined."));
        constraints.copy_from(space->get_constraints());
        constraints.merge(dirichlet, AffineConstraints<double>::MergeConflictBehavior::left_object_wins);
        constraints.close();
      }

      /** The right-hand side of the constant source. */
      void
      assemble_source()
      {
        rhs.reinit(space->n_dofs());
        FEValues<dim>      fe_values(space->get_mapping(), space->get_fe(), space->get_quadrature(),
                                update_values | update_JxW_values);
        const unsigned int n = space->get_fe().n_dofs_per_cell();
        Vector<double>     cell_rhs(n);
        std::vector<types::global_dof_index> dofs(n);
        for (const auto &cell : space->get_dof_handler().active_cell_iterators())
          {
            fe_values.reinit(cell);
            cell_rhs = 0.;
            for (unsigned int q = 0; q < fe_values.n_quadrature_points; ++q)
              for (unsigned int i = 0; i < n; ++i)
                cell_rhs(i) += source * fe_values.shape_value(i, q) * fe_values.JxW(q);
            cell->get_dof_indices(dofs);
            constraints.distribute_local_to_global(cell_rhs, dofs, rhs);
          }
      }

      /** Assembles A(a(u)), factorizes it and returns the pressure. */
      Vector<double>
      solve_pressure(const Vector<double> &u)
      {
        AssertThrow(u.size() == space->n_dofs(),
                    ExcMessage("darcy_point_pressure: the field has " + std::to_string(u.size()) +
                               " coefficients, the space " + std::to_string(space->n_dofs()) + "."));
        matrix = 0.;
        FEValues<dim>       fe_values(space->get_mapping(), space->get_fe(), space->get_quadrature(),
                                update_values | update_gradients | update_JxW_values);
        const unsigned int  n = space->get_fe().n_dofs_per_cell();
        FullMatrix<double>  cell_matrix(n, n);
        std::vector<double> u_values(fe_values.n_quadrature_points);
        std::vector<types::global_dof_index> dofs(n);
        for (const auto &cell : space->get_dof_handler().active_cell_iterators())
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

      /**
       * @p gradient = \f$J^T w\f$ for the pressure @p p of @p u (A(u)
       * factorized by solve_pressure()), J the derivative of the observed
       * values with respect to u: one adjoint solve A z = H^T w.
       */
      void
      pull_back(const Vector<double> &u, const Vector<double> &p, const std::vector<double> &w, Vector<double> &gradient)
      {
        Vector<double> z(space->n_dofs());
        observations->add_transpose(w, z);
        constraints.condense(z);
        solver.solve(z); // A is symmetric: the adjoint reuses the factorization
        ++solves;
        constraints.distribute(z);
        permeability_derivative(u, p, z, gradient);
      }

      /** @p gradient_i = -int phi_i a'(u) grad z . grad p. */
      void
      permeability_derivative(const Vector<double> &u,
                              const Vector<double> &p,
                              const Vector<double> &z,
                              Vector<double> &      gradient) const
      {
        gradient = 0.;
        FEValues<dim>  fe_values(space->get_mapping(), space->get_fe(), space->get_quadrature(),
                                update_values | update_gradients | update_JxW_values);
        const unsigned int          n_q = fe_values.n_quadrature_points;
        const unsigned int          n   = space->get_fe().n_dofs_per_cell();
        std::vector<double>         u_values(n_q);
        std::vector<Tensor<1, dim>> p_gradients(n_q), z_gradients(n_q);
        std::vector<types::global_dof_index> dofs(n);
        for (const auto &cell : space->get_dof_handler().active_cell_iterators())
          {
            fe_values.reinit(cell);
            fe_values.get_function_values(u, u_values);
            fe_values.get_function_gradients(p, p_gradients);
            fe_values.get_function_gradients(z, z_gradients);
            cell->get_dof_indices(dofs);
            for (unsigned int q = 0; q < n_q; ++q)
              {
                const double w =
                  -permeability(u_values[q]).second * (z_gradients[q] * p_gradients[q]) * fe_values.JxW(q);
                for (unsigned int i = 0; i < n; ++i)
                  gradient[dofs[i]] += w * fe_values.shape_value(i, q);
              }
          }
      }
    };
  } // namespace likelihoods
} // namespace ddo

DDO_REGISTER_LIKELIHOOD(ddo::likelihoods::DarcyPointPressure, "darcy_point_pressure",
                        "Darcy pressure -div(a grad p) = f observed at points; the field is a or log a")
