// The likelihood `point_values`: the field itself observed at points with
// Gaussian noise (inpainting / interpolation from scattered data; the
// linear-Gaussian case whose posterior is exact for a Gaussian prior).

#include <ddo/likelihood/interface.h>
#include <ddo/likelihood/point_observations.h>

#include <memory>

namespace ddo
{
  namespace likelihoods
  {
    /**
     * \f$d_j = u(x_j) + \eta\varepsilon_j\f$. The sampler's noise level is
     * not used: at the noisy state, widen the noise in the application (see
     * ddo::LikelihoodGradient) or guide at the denoised estimate.
     */
    template <int dim>
    class PointValues : public Likelihood<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        PointObservationSettings::declare_parameters(prm);
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        settings.parse_parameters(prm);
      }

      void
      initialize(const FunctionSpace<dim> &space_in) override
      {
        space        = &space_in;
        observations = std::make_unique<PointObservations<dim>>(*space, settings);
      }

      void
      observe(const Vector<double> &truth, const std::uint64_t seed) override
      {
        observations->observe(truth, seed);
      }

      /** Linear observations: \f$v_j = h_j^T C h_j\f$, whatever the reference. */
      void
      set_state_noise(const CovarianceOperator<dim> &covariance,
                      const Vector<double> &,
                      const double field_scale) override
      {
        std::vector<double> v(observations->size()), unit(observations->size(), 0.);
        Vector<double>      h(space->n_dofs());
        for (unsigned int j = 0; j < v.size(); ++j)
          {
            h       = 0.;
            unit[j] = 1.;
            observations->add_transpose(unit, h);
            unit[j] = 0.;
            v[j]    = PointObservations<dim>::observation_variance(*space, covariance, h);
          }
        observations->set_widening(v, field_scale);
      }

      double
      log_likelihood(const Vector<double> &u, const double sigma, Vector<double> &gradient) override
      {
        std::vector<double> dlogl_dy;
        const double        log_l = observations->log_likelihood(observations->values(u), dlogl_dy, sigma);
        gradient                  = 0.;
        observations->add_transpose(dlogl_dy, gradient);
        return log_l;
      }

      double
      normalized_misfit(const Vector<double> &u) override
      {
        return observations->normalized_misfit(observations->values(u));
      }

      unsigned int
      n_observations() const override
      {
        return observations->size();
      }

      std::string
      summary() const override
      {
        return "point values of the field: " + observations->summary();
      }

    private:
      PointObservationSettings                settings;
      const FunctionSpace<dim> *              space = nullptr;
      std::unique_ptr<PointObservations<dim>> observations;
    };
  } // namespace likelihoods
} // namespace ddo

DDO_REGISTER_LIKELIHOOD(ddo::likelihoods::PointValues, "point_values",
                        "the field observed at points with Gaussian noise")
