// The likelihood `darcy_point_pressure`: the permeability a(x) is the field,
// the pressure of steady Darcy flow (ddo::DarcyProblem)
//   -div(a grad p) = f in the domain, p = 0 on the Dirichlet boundary
// (no flux elsewhere) is observed at points with Gaussian noise: the inverse
// problem of DiffusionPDE and FunDPS on any mesh. The gradient of log L
// with respect to the field's coefficients comes from one adjoint solve with
// the same factorization:
//   A z = H^T (d - H p) / eta^2,   dlogL/du_i = -int phi_i a'(u) grad z . grad p.

#include <ddo/base/finite.h>
#include <ddo/likelihood/interface.h>
#include <ddo/likelihood/point_observations.h>
#include <ddo/pde/darcy_problem.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace ddo
{
  namespace likelihoods
  {
    /** Point observations of the Darcy pressure (see the file documentation). */
    template <int dim>
    class DarcyPointPressure : public Likelihood<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        PointObservationSettings::declare_parameters(prm);
        DarcySettings::declare_parameters(prm);
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        settings.parse_parameters(prm);
        darcy_settings.parse_parameters(prm, "darcy_point_pressure");
      }

      void
      initialize(const FunctionSpace<dim> &space_in) override
      {
        space        = &space_in;
        problem      = std::make_unique<DarcyProblem<dim>>(space_in, darcy_settings, "darcy_point_pressure");
        observations = std::make_unique<PointObservations<dim>>(space_in, settings);
      }

      void
      observe(const Vector<double> &truth, const std::uint64_t seed) override
      {
        observations->observe(problem->solve_pressure(truth), seed);
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
        const Vector<double> p = problem->solve_pressure(reference);
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

      /**
       * -infinity, with a zero gradient, for a field without a pressure (see
       * DarcyProblem::try_solve_pressure()) or whose log L or gradient is
       * not finite in floating point (exp(u) large where the pressure
       * gradients are).
       */
      double
      log_likelihood(const Vector<double> &u, const double sigma, Vector<double> &gradient) override
      {
        Vector<double> p;
        if (problem->try_solve_pressure(u, p))
          {
            std::vector<double> dlogl_dy;
            const double        log_l = observations->log_likelihood(observations->values(p), dlogl_dy, sigma);
            pull_back(u, p, dlogl_dy, gradient);
            if (std::isfinite(log_l) && all_finite(gradient))
              return log_l;
          }
        gradient = 0.;
        return -std::numeric_limits<double>::infinity();
      }

      /** +infinity for a field without a pressure. */
      double
      normalized_misfit(const Vector<double> &u) override
      {
        Vector<double> p;
        if (!problem->try_solve_pressure(u, p))
          return std::numeric_limits<double>::infinity();
        return observations->normalized_misfit(observations->values(p));
      }

      unsigned int
      n_observations() const override
      {
        return observations->size();
      }

      unsigned int
      n_solves() const override
      {
        return problem->n_solves();
      }

      std::string
      summary() const override
      {
        return "Darcy pressure " + darcy_settings.summary() + "; observed at " + observations->summary();
      }

    private:
      PointObservationSettings                settings;
      DarcySettings                           darcy_settings;
      const FunctionSpace<dim> *              space = nullptr;
      std::unique_ptr<DarcyProblem<dim>>      problem;
      std::unique_ptr<PointObservations<dim>> observations;

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
        problem->solve_adjoint(z);
        problem->permeability_derivative(u, p, z, gradient);
      }
    };
  } // namespace likelihoods
} // namespace ddo

DDO_REGISTER_LIKELIHOOD(ddo::likelihoods::DarcyPointPressure, "darcy_point_pressure",
                        "Darcy pressure -div(a grad p) = f observed at points; the field is a or log a")
