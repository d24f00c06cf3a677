// GenerativePrior on a distributed application mesh (2 ranks): the shipped
// Navier-Stokes model bound to a serial model mesh of the periodic unit
// square, the application on a distributed Q2 mesh with hanging nodes.
// Prior samples are the model's fields at the owned support points; the score
// of a field that the application's space holds exactly is the model's score;
// posterior samples with a likelihood evaluated on the owned DoFs equal those
// of the same application on one rank.

#include <deal.II/dofs/dof_handler.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/fe/mapping_q.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/affine_constraints.h>
#include <deal.II/numerics/fe_field_function.h>

#include <ddo/base/hashing.h>
#include <ddo/torch/model/generative_prior.h>
#include <ddo/torch/sampler/probability_flow_sampler.h>

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  const std::string shipped_model = std::string(DDO_SOURCE_DIR) + "/examples/navier_stokes/model";

  /** The application's mesh: the periodic unit square, 8 x 8 quadrilaterals refined once near the centre. */
  const std::string application_mesh =
    "set Geometry = box\nsubsection box\nset Subdivisions = 4, 4\nend\nset Periodic directions = 0, 1\n"
    "set Global refinements = 1\nset Local refinement cycles = 1\nset Local refinement radius = 0.3\n";

  /** The model mesh: the periodic unit square, 16 x 16 quadrilaterals, the same on every rank. */
  std::shared_ptr<Triangulation<2>>
  model_mesh()
  {
    auto triangulation = std::make_shared<Triangulation<2>>();
    GridGenerator::hyper_cube(*triangulation, 0, 1, /*colorize=*/true);
    triangulation->refine_global(4);
    return triangulation;
  }

  const std::vector<PeriodicBoundary> periodic{{0, 1, 0}, {2, 3, 1}};

  std::unique_ptr<Sampler<2>>
  flow_sampler()
  {
    ParameterHandler prm;
    ProbabilityFlowSampler<2>::declare_parameters(prm);
    auto sampler = std::make_unique<ProbabilityFlowSampler<2>>();
    sampler->parse_parameters(prm);
    return sampler;
  }


  /** Owned DoFs of @p space whose value a hanging-node constraint does not set. */
  std::vector<bool>
  hanging(const FunctionSpace<2> &space)
  {
    AffineConstraints<double> constraints(space.locally_relevant_dofs());
    DoFTools::make_hanging_node_constraints(space.get_dof_handler(), constraints);
    constraints.close();
    std::vector<bool> result;
    for (const auto dof : space.locally_owned_dofs())
      result.push_back(constraints.is_constrained(dof));
    return result;
  }


  /**
   * Noisy observations y = 0.8 scale sin(2 pi x) cos(2 pi y) at the owned
   * DoFs on the lattice (i/4, j/4), on any rank count: log L summed over the
   * ranks of the field's communicator.
   */
  DistributedApplicationLikelihood
  lattice_likelihood(const FunctionSpace<2> &space, const double scale)
  {
    std::vector<std::pair<types::global_dof_index, double>> observed;
    const auto &                                            points = space.locally_owned_support_points();
    unsigned int                                            r      = 0;
    for (const auto dof : space.locally_owned_dofs())
      {
        const Point<2> &p = points[r++];
        if (std::abs(4 * p[0] - std::round(4 * p[0])) < 1e-9 && std::abs(4 * p[1] - std::round(4 * p[1])) < 1e-9)
          observed.emplace_back(dof, 0.8 * scale * std::sin(2 * M_PI * p[0]) * std::cos(2 * M_PI * p[1]));
      }
    const double eta = 0.05 * scale;
    return [observed, eta](const VectorType &u, const double sigma, VectorType &g) {
      const double variance = eta * eta + sigma * sigma;
      double       log_l    = 0;
      for (const auto &[dof, y] : observed)
        {
          const double residual = y - u[dof];
          g[dof] += residual / variance;
          log_l -= 0.5 * residual * residual / variance;
        }
      g.compress(VectorOperation::add);
      return Utilities::MPI::sum(log_l, u.get_mpi_communicator());
    };
  }


  /** The values of @p u (owned DoFs of @p space) by support point. */
  std::map<std::uint64_t, double>
  by_point(const FunctionSpace<2> &space, const VectorType &u)
  {
    std::map<std::uint64_t, double> values;
    const auto &                    points = space.locally_owned_support_points();
    unsigned int                    r      = 0;
    for (const auto dof : space.locally_owned_dofs())
      values[hashing::of_point(points[r++], 1e-9)] = u[dof];
    return values;
  }
} // namespace


TEST(DistributedGenerativePrior, SamplesAreTheModelsFieldsAtTheOwnedSupportPoints)
{
  const auto application = test_support::make_space<2>(application_mesh + "set Partitioning = distributed\n", 2);
  ASSERT_TRUE(application->is_distributed());
  const auto               mesh = model_mesh();
  const GenerativePrior<2> prior({shipped_model}, application->get_dof_handler(), application->get_mapping(), mesh,
                                 periodic);
  EXPECT_TRUE(prior.has_model_mesh());

  // The reference: the model on the model mesh itself (Q1, the first constructor).
  DoFHandler<2> reference_dofs(*mesh);
  reference_dofs.distribute_dofs(FE_Q<2>(1));
  const GenerativePrior<2> reference(std::vector<std::string>{shipped_model}, reference_dofs, periodic);

  const auto              sampler = flow_sampler();
  std::vector<VectorType> fields;
  prior.sample(*sampler, 2, 3, fields);
  const auto expected = reference.sample(*sampler, 2, 3);
  ASSERT_EQ(fields.size(), 2u);

  const auto        is_hanging = hanging(*application);
  const auto &      points     = application->locally_owned_support_points();
  const MappingQ<2> mapping(1);
  for (unsigned int b = 0; b < 2; ++b)
    {
      ASSERT_EQ(fields[b].locally_owned_elements(), application->locally_owned_dofs());
      const Functions::FEFieldFunction<2, Vector<double>> model_field(reference_dofs, expected[b], mapping);
      double       error = 0, size = 0;
      unsigned int r     = 0;
      for (const auto dof : application->locally_owned_dofs())
        {
          const double value = model_field.value(points[r]);
          size               = std::max(size, std::abs(value));
          if (!is_hanging[r++])
            error = std::max(error, std::abs(fields[b][dof] - value));
        }
      EXPECT_LT(Utilities::MPI::max(error, MPI_COMM_WORLD), 1e-10 * Utilities::MPI::max(size, MPI_COMM_WORLD));
    }
  // A distributed mesh through the first constructor gets a clear error.
  EXPECT_THROW(GenerativePrior<2>({shipped_model}, application->get_dof_handler(), periodic), ExceptionBase);
  // And the members with serial vectors refuse a prior with a model mesh.
  EXPECT_THROW(prior.sample(*sampler, 1, 3), ExceptionBase);
}


TEST(DistributedGenerativePrior, PosteriorSamplesOnTwoRanksEqualThoseOnOne)
{
  const auto               sampler = flow_sampler();
  const auto               mesh    = model_mesh();
  std::vector<std::map<std::uint64_t, double>> fields_by_rank_count[2];
  PosteriorReport                               reports[2];
  for (const bool distributed : {false, true})
    {
      const auto application = distributed ?
                                 test_support::make_space<2>(application_mesh + "set Partitioning = distributed\n", 2) :
                                 test_support::make_space<2>(application_mesh, 2, MPI_COMM_SELF);
      const GenerativePrior<2> prior({shipped_model}, application->get_dof_handler(), application->get_mapping(),
                                     mesh, periodic);
      const double scale = prior.model().record().normalization.scale;
      std::vector<VectorType> fields;
      prior.sample_posterior(lattice_likelihood(*application, scale), *sampler, GuidanceSettings(), 2, 7, fields, 0,
                             &reports[distributed]);
      for (const auto &u : fields)
        fields_by_rank_count[distributed].push_back(by_point(*application, u));
      if (distributed)
        std::cout << "  2 ranks: " << reports[distributed].summary() << std::endl;
    }
  EXPECT_EQ(reports[0].counts.likelihood_evaluations, reports[1].counts.likelihood_evaluations);
  for (unsigned int b = 0; b < 2; ++b)
    {
      double error = 0, size = 0;
      for (const auto &[point, value] : fields_by_rank_count[1][b])
        {
          error = std::max(error, std::abs(value - fields_by_rank_count[0][b].at(point)));
          size  = std::max(size, std::abs(value));
        }
      error = Utilities::MPI::max(error, MPI_COMM_WORLD);
      size  = Utilities::MPI::max(size, MPI_COMM_WORLD);
      std::cout << "  posterior sample " << b << ": 2 ranks against 1, max difference " << error / size
                << " of the max" << std::endl;
      EXPECT_LT(error, 1e-4 * size);
    }
}


TEST(DistributedGenerativePrior, TheScoreOfAFieldOfTheModelsSpaceIsTheModelsScore)
{
  // Q2 on the model mesh, refined near the centre: it holds the model's Q1 fields exactly.
  const auto application = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 16, 16\nend\nset Periodic directions = 0, 1\n"
    "set Local refinement cycles = 1\nset Local refinement radius = 0.3\nset Partitioning = distributed\n",
    2);
  const auto               mesh = model_mesh();
  const GenerativePrior<2> prior({shipped_model}, application->get_dof_handler(), application->get_mapping(), mesh,
                                 periodic);
  DoFHandler<2> reference_dofs(*mesh);
  reference_dofs.distribute_dofs(FE_Q<2>(1));
  const GenerativePrior<2> reference(std::vector<std::string>{shipped_model}, reference_dofs, periodic);

  const auto              sampler = flow_sampler();
  std::vector<VectorType> fields;
  prior.sample(*sampler, 1, 5, fields);
  const auto   expected = reference.sample(*sampler, 1, 5);
  const double sigma    = 0.3 * prior.model().record().normalization.scale;

  // The model field comes back from the owned DoFs exactly (both priors
  // build the model's space on the same mesh: the same numbering) ...
  const Vector<double> back = prior.to_model(fields[0]);
  Vector<double>       difference = reference.to_model(expected[0]);
  ASSERT_EQ(back.size(), difference.size());
  difference -= back;
  EXPECT_LT(difference.linfty_norm(), 1e-10 * back.linfty_norm());
  // ... the same on every rank ...
  EXPECT_EQ(Utilities::MPI::max(back.l2_norm(), MPI_COMM_WORLD), Utilities::MPI::min(back.l2_norm(), MPI_COMM_WORLD));

  // ... and its score is the model's score at the owned support points.
  VectorType score;
  prior.score(fields[0], sigma, score);
  const Vector<double> expected_score = reference.score(expected[0], sigma);
  ASSERT_EQ(score.locally_owned_elements(), application->locally_owned_dofs());
  const MappingQ<2>                                   mapping(1);
  const Functions::FEFieldFunction<2, Vector<double>> model_score(reference_dofs, expected_score, mapping);
  const auto &                                        points     = application->locally_owned_support_points();
  const auto                                          is_hanging = hanging(*application);
  double                                              error = 0, largest = 0;
  unsigned int                                        r = 0;
  for (const auto dof : application->locally_owned_dofs())
    {
      const double value = model_score.value(points[r]);
      largest            = std::max(largest, std::abs(value));
      if (!is_hanging[r++])
        error = std::max(error, std::abs(score[dof] - value));
    }
  error   = Utilities::MPI::max(error, MPI_COMM_WORLD);
  largest = Utilities::MPI::max(largest, MPI_COMM_WORLD);
  std::cout << "  score on the owned DoFs against the model's: max difference " << error / largest << " of the max"
            << std::endl;
  EXPECT_LT(error, 1e-8 * largest);
  EXPECT_GT(largest, 0.);
}
