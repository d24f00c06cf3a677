// GenerativePrior: the shipped Navier–Stokes model bound to an application's
// own mesh and element (periodic quadrilaterals with Q2, where the model was
// trained on distorted triangles with P1): samples as application vectors,
// the score in data units, the Function view, and posterior sampling with a
// likelihood of point observations.

#include <deal.II/dofs/dof_handler.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/fe/mapping_q.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/affine_constraints.h>

#include <ddo/torch/model/generative_prior.h>
#include <ddo/torch/sampler/probability_flow_sampler.h>

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

using namespace ddo;

namespace
{
  const std::string shipped_model = std::string(DDO_SOURCE_DIR) + "/examples/navier_stokes/model";

  /** The application: the periodic unit square, 16 x 16 quadrilaterals, Q2. */
  struct Application
  {
    Triangulation<2>              triangulation;
    DoFHandler<2>                 dof_handler;
    std::vector<PeriodicBoundary> periodic{{0, 1, 0}, {2, 3, 1}};
    std::vector<Point<2>>         support_points;

    Application()
      : dof_handler(triangulation)
    {
      GridGenerator::hyper_cube(triangulation, 0, 1, /*colorize=*/true);
      triangulation.refine_global(4);
      dof_handler.distribute_dofs(FE_Q<2>(2));
      support_points.resize(dof_handler.n_dofs());
      DoFTools::map_dofs_to_support_points(MappingQ<2>(1), dof_handler, support_points);
    }
  };


  std::unique_ptr<Sampler<2>>
  flow_sampler()
  {
    ParameterHandler prm;
    ProbabilityFlowSampler<2>::declare_parameters(prm);
    auto sampler = std::make_unique<ProbabilityFlowSampler<2>>();
    sampler->parse_parameters(prm);
    return sampler;
  }


  double
  rms(const Vector<double> &u)
  {
    return u.l2_norm() / std::sqrt(static_cast<double>(u.size()));
  }
} // namespace


TEST(GenerativePrior, SamplesLiveOnTheApplicationsDoFsInDataUnitsAndTheFunctionViewAgrees)
{
  Application              app;
  const GenerativePrior<2> prior({shipped_model}, app.dof_handler, app.periodic);
  EXPECT_EQ(prior.model_space().get_fe().degree, 1u);
  EXPECT_EQ(prior.model_space().get_triangulation().n_active_cells(), 256u);

  const auto          sampler = flow_sampler();
  SamplerReport       report;
  const auto          fields = prior.sample(*sampler, 4, 3, 0, &report);
  ASSERT_EQ(fields.size(), 4u);
  for (const auto &u : fields)
    {
      ASSERT_EQ(u.size(), app.dof_handler.n_dofs());
      EXPECT_TRUE(std::isfinite(u.l2_norm()));
      // The data's scale is 2.14 (vorticity): an unscaled sample would have rms about 1.
      EXPECT_GT(rms(u), 1.2);
      EXPECT_LT(rms(u), 4.);
    }

  // The same sample index from a second call is the same field, up to the
  // round-off of a float32 network evaluated on a batch of another size.
  const auto again = prior.sample(*sampler, 1, 3, 2);
  Vector<double> difference = again[0];
  difference -= fields[2];
  EXPECT_LT(difference.linfty_norm(), 1e-4 * fields[2].linfty_norm());

  // The Function view takes the nodal values at the support points.
  const auto function = prior.as_function(fields[0]);
  for (const unsigned int i : {0u, 17u, 300u, 777u})
    EXPECT_NEAR(function->value(app.support_points[i]), fields[0][i], 1e-10 * rms(fields[0]));
}


// At a noise level far above the data the denoised estimate u + sigma^2 s(u)
// is close to the data's mean (about 0): a score with the wrong units (the
// normalized ones) would leave about (1 - 1/scale^2) of the noise.
TEST(GenerativePrior, TheScoreIsInDataUnits)
{
  Application              app;
  const GenerativePrior<2> prior({shipped_model}, app.dof_handler, app.periodic);
  const double             sigma = 0.5 * prior.noise_range().sigma_max;
  VectorType               xi    = prior.model_space().create_vector();
  prior.model().noise().sample(xi, 5, 0);
  Vector<double> noise_model(xi.size());
  for (unsigned int i = 0; i < xi.size(); ++i)
    noise_model[i] = sigma * xi[i];
  const Vector<double> u = prior.to_application(noise_model);
  Vector<double>       denoised = prior.score(u, sigma);
  denoised.sadd(sigma * sigma, u);
  std::cout << "  rms of the noisy field " << rms(u) << ", of its denoised estimate " << rms(denoised)
            << std::endl;
  EXPECT_LT(rms(denoised), 0.15 * rms(u));
}


// Observations of a field drawn from the prior at 100 nodes with noise 0.05:
// every posterior sample fits them within a few noise levels, the posterior
// mean is much closer to the truth than a prior draw, and the likelihood is
// called once per sample and score evaluation.
TEST(GenerativePrior, PosteriorSamplesFitPointObservations)
{
  Application              app;
  const GenerativePrior<2> prior({shipped_model}, app.dof_handler, app.periodic);
  const auto               sampler = flow_sampler();
  const Vector<double>     truth   = prior.sample(*sampler, 1, 99)[0];

  const double              eta = 0.05;
  std::vector<unsigned int> observed;
  for (unsigned int i = 0; i < app.dof_handler.n_dofs(); i += app.dof_handler.n_dofs() / 100)
    observed.push_back(i);
  const ApplicationLikelihood likelihood = [&](const Vector<double> &u, const double sigma, Vector<double> &g) {
    const double variance = eta * eta + sigma * sigma; // the noise model has marginal variance 1
    double       log_l    = 0;
    for (const unsigned int i : observed)
      {
        const double r = truth[i] - u[i];
        g[i] += r / variance;
        log_l -= 0.5 * r * r / variance;
      }
    return log_l;
  };

  PosteriorReport report;
  const auto      posterior =
    prior.sample_posterior(likelihood, *sampler, GuidanceSettings(), 8, 7, 0, &report);
  std::cout << "  " << report.summary() << std::endl;
  Vector<double> mean(app.dof_handler.n_dofs());
  for (const auto &u : posterior)
    {
      double squared = 0;
      for (const unsigned int i : observed)
        squared += (u[i] - truth[i]) * (u[i] - truth[i]);
      EXPECT_LT(std::sqrt(squared / observed.size()), 3 * eta);
      mean.add(1. / posterior.size(), u);
    }
  const Vector<double> prior_draw = prior.sample(*sampler, 1, 100)[0];
  Vector<double>       mean_error = mean, prior_error = prior_draw;
  mean_error -= truth;
  prior_error -= truth;
  std::cout << "  relative error of the posterior mean " << mean_error.l2_norm() / truth.l2_norm()
            << ", of a prior draw " << prior_error.l2_norm() / truth.l2_norm() << std::endl;
  EXPECT_LT(mean_error.l2_norm(), 0.3 * prior_error.l2_norm());
  EXPECT_EQ(report.counts.likelihood_evaluations, report.sampler.n_sample_evaluations);
  EXPECT_EQ(report.counts.prior_evaluations, report.sampler.n_sample_evaluations);
}
