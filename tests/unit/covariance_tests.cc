// Gaussian random field noise: exact FE white noise (Cov(b) = condensed M),
// Matern fields by the SPDE approach (covariance identity, marginal variance,
// Cameron-Martin norm), the covariance model registry and parameter errors.
//
// Statistical checks use fixed seeds and tolerances of a few standard errors
// computed from the number of samples.

#include <deal.II/lac/full_matrix.h>

#include <ddo/covariance/interface.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/white_noise.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <vector>

#include "../covariance_test_utilities.h"
#include "../test_utilities.h"

using namespace ddo;

namespace
{
  // Tiny meshes (20-50 DoFs): hanging nodes, periodic faces, simplices, 3D.
  const std::string box_4x4 =
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n";
  const std::string box_hanging =
    "set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0.5, 0.5, 0.5\n"
    "set Local refinement radius = 0.4\n";
  const std::string simplex_periodic =
    "set Geometry = box\nsubsection box\nset Subdivisions = 1\nend\n"
    "set Cell type = simplex\nset Periodic directions = 0, 1\n";
  const std::string simplex_distorted =
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n"
    "set Cell type = simplex\nset Distortion = 0.3\n";
  const std::string box_3d_hanging =
    "set Geometry = box\nsubsection box\nset Subdivisions = 2\nend\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0.25, 0.25, 0.25\n"
    "set Local refinement radius = 0.1\n";

  using namespace test_support;


  template <int dim>
  void
  check_white_noise(const std::string &mesh, const unsigned int degree)
  {
    SCOPED_TRACE(mesh);
    const auto         space = test_support::make_space<dim>(mesh, degree);
    const unsigned int n     = space->n_dofs();
    ASSERT_GE(n, 15u);
    ASSERT_LE(n, 60u);

    const FullMatrix<double> p           = extension_matrix(*space);
    const FullMatrix<double> mass        = condense(p, to_dense(space->mass_matrix()));
    const std::vector<bool>  free        = free_dofs(*space);
    WhiteNoise<dim>          noise(*space);

    const unsigned int n_samples = 20000;
    SecondMoments      moments(n);
    VectorType         b;
    for (unsigned int s = 0; s < n_samples; ++s)
      {
        noise.sample(b, 1234, s);
        moments.add(b);
        if (s < 10)
          for (unsigned int i = 0; i < n; ++i)
            {
              if (!free[i])
                {
                  ASSERT_EQ(b[i], 0.) << "constrained entry " << i;
                }
            }
      }
    const auto deviation = moments.max_standardized_deviation(mass, free, free);
    // The largest of n(n+1)/2 standardized entries (n means): a false alarm
    // has probability below 1e-4.
    EXPECT_LT(deviation.first, bonferroni_threshold(n * (n + 1) / 2))
      << "Cov(b) differs from the condensed mass matrix";
    EXPECT_LT(deviation.second, bonferroni_threshold(n)) << "mean of b differs from zero";

    // Deterministic in (seed, index); different indices are different.
    VectorType again, other;
    noise.sample(again, 1234, n_samples - 1);
    noise.sample(other, 1234, n_samples - 2);
    again -= b;
    EXPECT_EQ(again.linfty_norm(), 0.);
    other -= b;
    EXPECT_GT(other.linfty_norm(), 0.);
  }


  /**
   * Checks the covariance identity of a Matern model on a tiny mesh:
   * apply() equals tau^-2 (A^-1 M)^(alpha-1) A^-1 (with A and M condensed
   * independently here), the empirical covariance of samples, and
   * apply(apply_inverse(v)) = v.
   */
  template <int dim>
  void
  check_matern_covariance(const std::string &                         mesh,
                          const unsigned int                          degree,
                          const typename MaternSPDE<dim>::Parameters &parameters)
  {
    SCOPED_TRACE(mesh + " nu = " + std::to_string(parameters.smoothness));
    const auto         space = test_support::make_space<dim>(mesh, degree);
    const unsigned int n     = space->n_dofs();
    ASSERT_LE(n, 100u) << "keep the test mesh tiny";
    MaternSPDE<dim>    model(parameters);
    model.initialize(*space);

    // Reference: condensed matrices from the unconstrained Gram matrices.
    const std::vector<bool>  free = free_dofs(*space);
    const FullMatrix<double> p    = extension_matrix(*space);
    const FullMatrix<double> mass = condense(p, to_dense(space->mass_matrix()));
    FullMatrix<double>       a    = condense(p, to_dense(space->stiffness_matrix()));
    a.add(model.kappa() * model.kappa(), mass);
    if (parameters.boundary_condition == MaternSPDE<dim>::BoundaryCondition::neumann)
      {
        const FullMatrix<double> a_model = to_dense(model.system_matrix());
        for (unsigned int i = 0; i < n; ++i)
          for (unsigned int j = 0; j < n; ++j)
            {
              if (free[i] && free[j])
                {
                  ASSERT_NEAR(a_model(i, j), a(i, j), 1e-12 * a.linfty_norm());
                }
            }
      }
    else
      a = to_dense(model.system_matrix());
    // Invert on the free block (constrained rows/columns: identity).
    FullMatrix<double> a_inverse(a);
    for (unsigned int i = 0; i < n; ++i)
      if (!free[i])
        for (unsigned int j = 0; j < n; ++j)
          a_inverse(i, j) = a_inverse(j, i) = (i == j ? 1. : 0.);
    a_inverse.gauss_jordan();
    FullMatrix<double> reduced(n, n), tmp(n, n), tmp2(n, n);
    reduced = a_inverse;
    for (unsigned int r = 1; r < model.alpha(); ++r)
      {
        a_inverse.mmult(tmp, mass);
        tmp.mmult(tmp2, reduced);
        reduced = tmp2;
      }
    reduced *= 1. / (model.tau() * model.tau());
    // Cov(u) = P C~ P^T
    FullMatrix<double> exact(n, n);
    for (unsigned int i = 0; i < n; ++i)
      if (!free[i])
        for (unsigned int j = 0; j < n; ++j)
          reduced(i, j) = reduced(j, i) = 0.;
    p.mmult(tmp, reduced);
    tmp.mTmult(exact, p);

    const FullMatrix<double> applied = dense_apply(*space, model);
    const double             scale   = exact.linfty_norm();
    for (unsigned int i = 0; i < n; ++i)
      for (unsigned int j = 0; j < n; ++j)
        {
          if (free[j])
            {
              ASSERT_NEAR(applied(i, j), exact(i, j), 1e-9 * scale) << i << ", " << j;
            }
          else
            {
              ASSERT_EQ(applied(i, j), 0.);
            }
        }

    // Exact pointwise variance = diagonal of P C~ P^T, hanging nodes included.
    const VectorType variance = model.pointwise_variance();
    for (unsigned int i = 0; i < n; ++i)
      EXPECT_NEAR(variance[i], exact(i, i), 1e-9 * scale) << i;

    // The empirical covariance of samples.
    const std::vector<VectorType> batch =
      expect_sample_moments(model, exact, free, 99, "apply()");

    // Samples satisfy the constraints.
    VectorType distributed(batch[0]);
    space->get_constraints().distribute(distributed);
    distributed -= batch[0];
    EXPECT_LT(distributed.linfty_norm(), 1e-12 * batch[0].linfty_norm());

    // apply(apply_inverse(v)) = v and apply_inverse(apply(v)) = v.
    VectorType inverse, round_trip;
    model.apply_inverse(batch[1], inverse);
    model.apply(inverse, round_trip);
    round_trip -= batch[1];
    EXPECT_LT(round_trip.linfty_norm(), 1e-8 * batch[1].linfty_norm());
    model.apply(batch[2], inverse);
    model.apply_inverse(inverse, round_trip);
    round_trip -= batch[2];
    EXPECT_LT(round_trip.linfty_norm(), 1e-8 * batch[2].linfty_norm());
    // v^T C^-1 v from apply_inverse.
    EXPECT_NEAR(model.cameron_martin_norm_squared(batch[1]),
                [&]() {
                  VectorType x(batch[1]);
                  for (unsigned int i = 0; i < n; ++i)
                    if (!free[i])
                      x[i] = 0.;
                  x.compress(VectorOperation::insert);
                  model.apply_inverse(batch[1], inverse);
                  return x * inverse;
                }(),
                1e-9 * model.cameron_martin_norm_squared(batch[1]));
  }
} // namespace


TEST(WhiteNoise, CovarianceIsMassMatrixOnUniformQuadrilaterals)
{
  check_white_noise<2>(box_4x4, 1);
}

TEST(WhiteNoise, CovarianceIsCondensedMassMatrixWithHangingNodes)
{
  check_white_noise<2>(box_hanging, 1);
}

TEST(WhiteNoise, CovarianceIsCondensedMassMatrixOnPeriodicQuadraticTriangles)
{
  check_white_noise<2>(simplex_periodic, 2);
}

TEST(WhiteNoise, CovarianceIsCondensedMassMatrixOnHexahedraWithHangingNodes)
{
  check_white_noise<3>(box_3d_hanging, 1);
}

TEST(WhiteNoise, SampleDependsOnCellsNotOnTheirOrder)
{
  // The same mesh, built twice: identical samples; and the per-cell streams
  // are independent of the seed of another sample.
  const auto space1 = test_support::make_space<2>(box_hanging, 1);
  const auto space2 = test_support::make_space<2>(box_hanging, 1);
  WhiteNoise<2> noise1(*space1), noise2(*space2);
  VectorType    b1, b2;
  noise1.sample(b1, 7, 3);
  noise2.sample(b2, 7, 3);
  b1 -= b2;
  EXPECT_EQ(b1.linfty_norm(), 0.);
  noise1.sample(b1, 8, 3);
  b1 -= b2;
  EXPECT_GT(b1.linfty_norm(), 0.);
}


TEST(WhiteNoise, StandardNormalGeneratorHasTheNormalDistributionIncludingTheTails)
{
  // The generator behind every sample (the ziggurat method), used as a cell
  // uses it: many short streams (8 numbers each) from consecutive seeds.
  // Checked: the first four moments and the probability of bins that cover
  // the ziggurat's rectangles, its wedges and its tail beyond R = 3.654,
  // each within 5 standard errors of the count (binomial) or moment.
  const unsigned int n_streams = 1u << 18, stream_length = 8;
  const double       n         = double(n_streams) * stream_length;
  const std::vector<double> edges = {-1e300, -4.2, -3.6541528853610088, -3., -2.2, -1.5, -1.,
                                     -0.5,   -0.2, 0.,                  0.2, 0.5,  1.,   1.5,
                                     2.2,    3.,   3.6541528853610088,  4.2, 1e300};
  std::vector<double> counts(edges.size() - 1, 0.);
  double              m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  Vector<double>      z(stream_length);
  for (unsigned int s = 0; s < n_streams; ++s)
    {
      WhiteNoise<2>::standard_normal(0x5eed0000ULL + s, z);
      for (const double x : z)
        {
          ASSERT_TRUE(std::isfinite(x));
          m1 += x;
          m2 += x * x;
          m3 += x * x * x;
          m4 += x * x * x * x;
          const auto bin = std::upper_bound(edges.begin(), edges.end(), x) - edges.begin() - 1;
          counts[bin] += 1;
        }
    }
  // Moments of N(0,1): 0, 1, 0, 3; variances of x, x^2, x^3, x^4: 1, 2, 15, 96.
  EXPECT_NEAR(m1 / n, 0., 5. * std::sqrt(1. / n));
  EXPECT_NEAR(m2 / n, 1., 5. * std::sqrt(2. / n));
  EXPECT_NEAR(m3 / n, 0., 5. * std::sqrt(15. / n));
  EXPECT_NEAR(m4 / n, 3., 5. * std::sqrt(96. / n));
  const auto cdf = [](const double x) { return 0.5 * std::erfc(-x / std::sqrt(2.)); };
  for (unsigned int b = 0; b + 1 < edges.size(); ++b)
    {
      const double p = cdf(edges[b + 1]) - cdf(edges[b]);
      EXPECT_NEAR(counts[b], n * p, 5. * std::sqrt(n * p * (1. - p)) + 1.)
        << "bin [" << edges[b] << ", " << edges[b + 1] << ")";
    }
  // The tail path itself is exercised: about 270 draws beyond R on each side.
  EXPECT_GT(counts[1] + counts[0], 100.);
  EXPECT_GT(counts[16] + counts[17], 100.);
}


TEST(Matern, CovarianceIdentityAlpha2WithHangingNodes)
{
  check_matern_covariance<2>(box_hanging, 1, matern_parameters<2>(1., 0.5, 2.));
}

TEST(Matern, CovarianceIdentityAlpha3OnDistortedTriangles)
{
  check_matern_covariance<2>(simplex_distorted, 1, matern_parameters<2>(2., 0.5));
}

TEST(Matern, CovarianceIdentityAlpha3RobinPeriodicQuadratic)
{
  auto p               = matern_parameters<2>(2., 0.4);
  p.boundary_condition = MaternSPDE<2>::BoundaryCondition::robin;
  // Periodic in x only: Robin acts on the y faces.
  check_matern_covariance<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 2\nend\n"
    "set Cell type = simplex\nset Periodic directions = 0\n",
    2, p);
}

TEST(Matern, CovarianceIdentityAlpha4RobinWithHangingNodes)
{
  auto p               = matern_parameters<2>(3., 0.5);
  p.boundary_condition = MaternSPDE<2>::BoundaryCondition::robin;
  check_matern_covariance<2>(box_hanging, 1, p);
}

TEST(Matern, CovarianceIdentity3DAlpha2And3)
{
  check_matern_covariance<3>(box_3d_hanging, 1, matern_parameters<3>(0.5, 0.5));
  auto p               = matern_parameters<3>(1.5, 0.5);
  p.boundary_condition = MaternSPDE<3>::BoundaryCondition::robin;
  check_matern_covariance<3>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 1\nend\n"
    "set Cell type = simplex\nset Global refinements = 1\n",
    1, p);
}


TEST(Matern, MarginalVarianceInTheInteriorMatchesSigma2)
{
  // rho = 0.3 on the unit square, 40 x 40 Q1 cells (h kappa = 0.24): away
  // from the boundary (distance >= rho) the exact discrete variance is within
  // 5% of sigma^2; the empirical variance of samples agrees with it.
  const std::string mesh =
    "set Geometry = box\nsubsection box\nset Subdivisions = 40\nend\n";
  const auto   space    = test_support::make_space<2>(mesh, 1);
  const double sigma2   = 2.5;
  MaternSPDE<2> model(matern_parameters<2>(1., 0.3, sigma2));
  model.initialize(*space);
  const VectorType variance = model.pointwise_variance();

  const auto &              points = space->locally_owned_support_points();
  std::vector<unsigned int> interior, boundary;
  for (unsigned int i = 0; i < points.size(); ++i)
    {
      const double distance = std::min({points[i][0], points[i][1], 1. - points[i][0],
                                         1. - points[i][1]});
      if (distance >= 0.3 - 1e-12)
        interior.push_back(i);
      if (distance < 1e-12)
        boundary.push_back(i);
    }
  ASSERT_GT(interior.size(), 100u);
  double max_relative_error = 0;
  for (const unsigned int i : interior)
    {
      EXPECT_NEAR(variance[i], sigma2, 0.05 * sigma2) << "at " << points[i];
      max_relative_error = std::max(max_relative_error, std::abs(variance[i] / sigma2 - 1));
    }
  RecordProperty("max_interior_variance_relative_error", std::to_string(max_relative_error));
  // Neumann conditions inflate the variance at the boundary.
  double boundary_mean = 0;
  for (const unsigned int i : boundary)
    boundary_mean += variance[i] / boundary.size();
  EXPECT_GT(boundary_mean, 1.5 * sigma2);

  // Empirical variances: per point within the Bonferroni bound of the
  // number of points (u_i^2 / v_i has variance 2 for a Gaussian u_i); their
  // mean over the interior within 4 of its standard errors, measured from
  // the per-sample means q_s = mean_i u_i^2 / v_i (the points are correlated,
  // so sqrt(2 / S) would overstate the error several times and let a scale
  // error of 5% pass).
  const unsigned int      n_samples = 16000;
  std::vector<double>     sum_squares(points.size());
  std::vector<VectorType> batch(400);
  double                  sum_q = 0, sum_q2 = 0;
  for (unsigned int s = 0; s < n_samples; s += batch.size())
    {
      model.sample(batch, 5, s);
      for (const VectorType &u : batch)
        {
          double q = 0;
          for (const unsigned int i : interior)
            {
              sum_squares[i] += u[i] * u[i];
              q += u[i] * u[i] / variance[i] / interior.size();
            }
          sum_q += q;
          sum_q2 += q * q;
        }
    }
  const double relative_error = std::sqrt(2. / n_samples);
  for (const unsigned int i : interior)
    EXPECT_NEAR(sum_squares[i] / n_samples / variance[i], 1., bonferroni_threshold(interior.size()) * relative_error)
      << "at " << points[i];
  const double mean_ratio     = sum_q / n_samples;
  const double standard_error = std::sqrt((sum_q2 / n_samples - mean_ratio * mean_ratio) / (n_samples - 1));
  EXPECT_NEAR(mean_ratio, 1., 4 * standard_error);
  EXPECT_LT(4 * standard_error, 0.03) << "the test must be able to see a scale error of 3%";
  std::cout << "  mean empirical / exact variance over " << interior.size() << " interior points: " << mean_ratio
            << " (standard error " << standard_error << ")" << std::endl;
  RecordProperty("mean_empirical_to_exact_variance", std::to_string(mean_ratio));
}


TEST(Matern, RobinBoundaryReducesBoundaryVarianceInflation)
{
  const std::string mesh =
    "set Geometry = box\nsubsection box\nset Subdivisions = 24\nend\n";
  const auto space = test_support::make_space<2>(mesh, 1);
  auto       p     = matern_parameters<2>(1., 0.3);
  p.boundary_condition = MaternSPDE<2>::BoundaryCondition::robin;
  MaternSPDE<2> model(p);
  model.initialize(*space);
  EXPECT_NEAR(model.robin_coefficient(), model.kappa() / 1.42, 1e-6 * model.kappa());
  const VectorType variance = model.pointwise_variance();
  const auto &     points   = space->locally_owned_support_points();
  double           boundary_mean = 0;
  unsigned int     n_boundary    = 0;
  for (unsigned int i = 0; i < points.size(); ++i)
    if (std::min({points[i][0], points[i][1], 1. - points[i][0], 1. - points[i][1]}) < 1e-12)
      {
        boundary_mean += variance[i];
        ++n_boundary;
      }
  boundary_mean /= n_boundary;
  EXPECT_NEAR(boundary_mean, 1., 0.25);
  RecordProperty("robin_boundary_mean_variance", std::to_string(boundary_mean));
}


TEST(Matern, CameronMartinNormOfSamplesIsChiSquared)
{
  // xi^T C^-1 xi ~ chi^2 with n = number of unconstrained DoFs: mean n,
  // variance 2n.
  const auto    space = test_support::make_space<2>(
    box_hanging + "set Global refinements = 1\n", 1);
  MaternSPDE<2> model(matern_parameters<2>(2., 0.3, 3.));
  model.initialize(*space);
  unsigned int n_free = 0;
  for (const bool f : free_dofs(*space))
    n_free += f ? 1 : 0;
  ASSERT_LT(n_free, space->n_dofs());

  const unsigned int      n_samples = 2000;
  std::vector<VectorType> batch(100);
  double                  sum = 0;
  for (unsigned int s = 0; s < n_samples; s += batch.size())
    {
      model.sample(batch, 2024, s);
      for (const VectorType &u : batch)
        sum += model.cameron_martin_norm_squared(u);
    }
  const double standard_error = std::sqrt(2. * n_free / n_samples);
  EXPECT_NEAR(sum / n_samples, n_free, 3 * standard_error);
  RecordProperty("mean_cameron_martin_norm", std::to_string(sum / n_samples));
  RecordProperty("n_free_dofs", std::to_string(n_free));
}


TEST(Matern, AmgAndDirectSolversGiveTheSameSamples)
{
  const auto space = test_support::make_space<2>(
    simplex_distorted + "set Global refinements = 2\n", 2);
  auto p = matern_parameters<2>(2., 0.3);
  p.direct_precision = "double"; // the default single is compared below
  MaternSPDE<2> direct(p);
  p.solver           = MaternSPDE<2>::SolverType::amg;
  p.solver_tolerance = 1e-12;
  MaternSPDE<2> amg(p);
  direct.initialize(*space);
  amg.initialize(*space);
  std::vector<VectorType> a(3), b(3);
  direct.sample(a, 11, 4);
  amg.sample(b, 11, 4);
  for (unsigned int s = 0; s < 3; ++s)
    {
      b[s] -= a[s];
      EXPECT_LT(b[s].l2_norm(), 1e-8 * a[s].l2_norm());
    }
  VectorType x, y;
  direct.apply_inverse(a[0], x);
  amg.apply_inverse(a[0], y);
  y -= x;
  EXPECT_LT(y.l2_norm(), 1e-7 * x.l2_norm());
}


TEST(Matern, SampleDependsOnIndexNotOnBatch)
{
  const auto    space = test_support::make_space<2>(box_hanging, 1);
  MaternSPDE<2> model(matern_parameters<2>(1., 0.3));
  model.initialize(*space);
  std::vector<VectorType> batch(4);
  model.sample(batch, 3, 10);
  VectorType single;
  model.sample(single, 3, 12);
  single -= batch[2];
  EXPECT_EQ(single.linfty_norm(), 0.);
  batch[1] -= batch[0];
  EXPECT_GT(batch[1].linfty_norm(), 0.);
}


namespace
{
  /** Index of the DoF at @p point (serial space). */
  template <int dim>
  unsigned int
  dof_at(const FunctionSpace<dim> &space, const Point<dim> &point)
  {
    const auto &points = space.locally_owned_support_points();
    for (unsigned int i = 0; i < points.size(); ++i)
      if (points[i].distance(point) < 1e-10)
        return i;
    ADD_FAILURE() << "no DoF at " << point;
    return 0;
  }

  /** Column @p j of the covariance, from apply(). */
  template <int dim>
  VectorType
  covariance_column(const FunctionSpace<dim> &space, const MaternSPDE<dim> &model,
                    const unsigned int j)
  {
    VectorType e = space.create_vector(), column;
    e[j]         = 1.;
    e.compress(VectorOperation::insert);
    model.apply(e, column);
    return column;
  }
} // namespace


TEST(Matern, AnisotropicCorrelationAlongTheAxesIsIsotropicAtScaledDistances)
{
  // Correlation lengths (0.4, 0.2): Theta = diag(4, 1) scaled to det 1 =
  // diag(2, 1/2), rho = sqrt(0.08). Along x the exact correlation at
  // distance r equals that of the isotropic field with rho = 0.2 at r/2,
  // along y the isotropic one at r; the marginal variance stays sigma^2.
  const unsigned int n     = 64;
  const double       h     = 1. / n;
  const auto         space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 64\nend\n", 1);
  auto iso_parameters   = matern_parameters<2>(1., 0.2, 1.5);
  iso_parameters.solver = MaternSPDE<2>::SolverType::direct;
  auto aniso_parameters = iso_parameters;
  aniso_parameters.correlation_lengths = {0.4, 0.2};
  MaternSPDE<2> iso(iso_parameters), aniso(aniso_parameters);
  iso.initialize(*space);
  aniso.initialize(*space);
  EXPECT_NEAR(aniso.anisotropy()[0][0], 2., 1e-14);
  EXPECT_NEAR(aniso.anisotropy()[1][1], 0.5, 1e-14);
  EXPECT_NEAR(aniso.anisotropy()[0][1], 0., 1e-14);
  EXPECT_NEAR(aniso.kappa(), std::sqrt(8.) / std::sqrt(0.08), 1e-12);
  EXPECT_NEAR(aniso.tau(), MaternSPDE<2>(matern_parameters<2>(1., std::sqrt(0.08), 1.5)).tau(),
              1e-12 * aniso.tau());

  const Point<2>     center(0.5, 0.5);
  const unsigned int c            = dof_at(*space, center);
  const VectorType   column_iso   = covariance_column(*space, iso, c);
  const VectorType   column_aniso = covariance_column(*space, aniso, c);
  const auto         correlation  = [&](const MaternSPDE<2> &model, const VectorType &column,
                                 const Point<2> &p) {
    const unsigned int i = dof_at(*space, p);
    return column[i] / std::sqrt(column[c] * covariance_column(*space, model, i)[i]);
  };
  double max_error_x = 0, max_error_y = 0;
  for (unsigned int k = 1; k <= 12; ++k)
    {
      const double along_x = correlation(aniso, column_aniso, center + Point<2>(2 * k * h, 0));
      const double iso_half = correlation(iso, column_iso, center + Point<2>(k * h, 0));
      const double along_y = correlation(aniso, column_aniso, center + Point<2>(0, k * h));
      const double iso_full = correlation(iso, column_iso, center + Point<2>(0, k * h));
      max_error_x = std::max(max_error_x, std::abs(along_x - iso_half));
      max_error_y = std::max(max_error_y, std::abs(along_y - iso_full));
      if (k == 12) // r/2 = 0.1875 is about one correlation length away
        {
          EXPECT_LT(iso_half, 0.3);
        }
    }
  EXPECT_LT(max_error_x, 0.01);
  EXPECT_LT(max_error_y, 0.01);
  RecordProperty("max_correlation_error_x", std::to_string(max_error_x));
  RecordProperty("max_correlation_error_y", std::to_string(max_error_y));

  // Interior marginal variance (at least 2.5 correlation lengths from the
  // boundary along x) within 5% of sigma^2.
  for (const Point<2> p : {center, center + Point<2>(0, 0.125), center + Point<2>(0, -0.125)})
    {
      const unsigned int i = dof_at(*space, p);
      EXPECT_NEAR(covariance_column(*space, aniso, i)[i], 1.5, 0.05 * 1.5) << "at " << p;
    }
}


TEST(Matern, RotationBy90DegreesSwapsTheAxesOfTheCovariance)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 16\nend\n", 1);
  auto p                = matern_parameters<2>(1., 0.2);
  p.correlation_lengths = {0.4, 0.2};
  MaternSPDE<2> unrotated(p);
  p.rotation_angles = {90.};
  MaternSPDE<2> rotated(p);
  unrotated.initialize(*space);
  rotated.initialize(*space);
  EXPECT_NEAR(rotated.anisotropy()[0][0], 0.5, 1e-14);
  EXPECT_NEAR(rotated.anisotropy()[1][1], 2., 1e-14);

  // The mesh is symmetric under rotations about the center, so the rotated
  // model's covariance column of the center at center + d equals the
  // unrotated one at center + R^T d = center + (d_y, -d_x).
  const Point<2>     center(0.5, 0.5);
  const unsigned int c  = dof_at(*space, center);
  const VectorType   c0 = covariance_column(*space, unrotated, c);
  const VectorType   c1 = covariance_column(*space, rotated, c);
  const auto &       points = space->locally_owned_support_points();
  for (unsigned int i = 0; i < points.size(); ++i)
    {
      const Tensor<1, 2> d = points[i] - center;
      const Point<2> image(center[0] + d[1], center[1] - d[0]);
      EXPECT_NEAR(c1[i], c0[dof_at(*space, image)], 1e-10 * c0[c]) << points[i];
    }
}


TEST(Matern, AnisotropyTensorFromAxisLengthsAndEulerAngles)
{
  // Equal lengths: isotropic for every rotation, same kappa and tau.
  auto p2                = matern_parameters<2>(1., 0.3);
  p2.correlation_lengths = {0.3, 0.3};
  p2.rotation_angles     = {37.};
  const MaternSPDE<2> equal(p2), isotropic(matern_parameters<2>(1., 0.3));
  EXPECT_LT((equal.anisotropy() - Tensor<2, 2>(unit_symmetric_tensor<2>())).norm(), 1e-14);
  EXPECT_NEAR(equal.kappa(), isotropic.kappa(), 1e-12);
  EXPECT_NEAR(equal.tau(), isotropic.tau(), 1e-12 * isotropic.tau());

  // 3D, lengths (0.1, 0.2, 0.4): rho = 0.2, Theta = diag(1/4, 1, 4) rotated
  // by R = Rz(phi) Rx(theta) Rz(psi).
  const auto theta_3d = [](const std::vector<double> &angles) {
    auto p                = matern_parameters<3>(0.5, 0.3);
    p.correlation_lengths = {0.1, 0.2, 0.4};
    p.rotation_angles     = angles;
    const MaternSPDE<3> model(p);
    EXPECT_NEAR(model.kappa(), std::sqrt(4.) / 0.2, 1e-12);
    EXPECT_NEAR(determinant(model.anisotropy()), 1., 1e-12);
    return model.anisotropy();
  };
  const auto expect_diagonal = [](const Tensor<2, 3> &t, const std::array<double, 3> &d) {
    for (unsigned int i = 0; i < 3; ++i)
      for (unsigned int j = 0; j < 3; ++j)
        EXPECT_NEAR(t[i][j], i == j ? d[i] : 0., 1e-14) << i << ", " << j;
  };
  expect_diagonal(theta_3d({}), {0.25, 1., 4.});
  expect_diagonal(theta_3d({90., 0., 0.}), {1., 0.25, 4.});   // about z
  expect_diagonal(theta_3d({0., 90., 0.}), {0.25, 4., 1.});   // about x
  expect_diagonal(theta_3d({90., 90., 0.}), {4., 0.25, 1.});  // Rz(90) Rx(90)
  expect_diagonal(theta_3d({0., 90., 90.}), {1., 4., 0.25});  // Rx(90) Rz(90)

  // From a parameter file.
  ParameterHandler prm;
  MaternSPDE<2>::declare_parameters(prm);
  prm.parse_input_from_string("set Correlation lengths per axis = 0.4, 0.2\n"
                              "set Rotation angle = 90\n");
  MaternSPDE<2> parsed;
  parsed.parse_parameters(prm);
  EXPECT_NEAR(parsed.anisotropy()[1][1], 2., 1e-14);

  // Errors: wrong numbers of values, non-positive lengths.
  auto bad                = matern_parameters<2>(1., 0.3);
  bad.correlation_lengths = {0.3};
  EXPECT_THROW(MaternSPDE<2>{bad}, ExceptionBase);
  bad.correlation_lengths = {0.3, 0.};
  EXPECT_THROW(MaternSPDE<2>{bad}, ExceptionBase);
  bad.correlation_lengths = {0.3, 0.2};
  bad.rotation_angles     = {10., 20.};
  EXPECT_THROW(MaternSPDE<2>{bad}, ExceptionBase);
  auto bad3            = matern_parameters<3>(0.5, 0.3);
  bad3.rotation_angles = {10.};
  EXPECT_THROW(MaternSPDE<3>{bad3}, ExceptionBase);
}


TEST(Matern, DirectSolversAgreeAndAutomaticPicksDirectForSmallSerialProblems)
{
  const auto space = test_support::make_space<2>(
    simplex_distorted + "set Global refinements = 1\n", 2);
  auto p = matern_parameters<2>(2., 0.3); // alpha = 3: two solves per sample
  ASSERT_EQ(p.solver, MaternSPDE<2>::SolverType::automatic);
  ASSERT_EQ(p.direct_precision, "single");
  MaternSPDE<2> single(p);
  single.initialize(*space);
  p.direct_precision = "double";
  MaternSPDE<2> cholmod(p);
  cholmod.initialize(*space);
  EXPECT_EQ(cholmod.active_solver(), MaternSPDE<2>::SolverType::direct);
  EXPECT_GE(MaternSPDE<2>::automatic_direct_limit(), 1000000u);
  EXPECT_GE(MaternSPDE<3>::automatic_direct_limit(), 10000u);

  std::vector<VectorType> reference(5);
  cholmod.sample(reference, 17, 3);
  VectorType inverse_reference;
  cholmod.apply_inverse(reference[0], inverse_reference);

  // The single precision factor (the default): samples to about 1e-7 of
  // the double factor's (conditioning of two solves included), the exact
  // operators to double precision by iterative refinement.
  {
    std::vector<VectorType> samples(5);
    single.sample(samples, 17, 3);
    for (unsigned int s = 0; s < samples.size(); ++s)
      {
        samples[s] -= reference[s];
        const double error = samples[s].l2_norm() / reference[s].l2_norm();
        EXPECT_LT(error, 1e-5);
        EXPECT_GT(error, 1e-12) << "the sample must come from the single precision factor";
      }
    VectorType inverse;
    single.apply_inverse(reference[0], inverse);
    inverse -= inverse_reference;
    EXPECT_LT(inverse.l2_norm(), 1e-11 * inverse_reference.l2_norm());
    VectorType applied, applied_reference;
    single.apply(reference[1], applied);
    cholmod.apply(reference[1], applied_reference);
    applied -= applied_reference;
    EXPECT_LT(applied.l2_norm(), 1e-11 * applied_reference.l2_norm());
  }

  for (const std::string package : {"klu", "mumps"})
    {
      SCOPED_TRACE(package);
      p.direct_solver = package;
      MaternSPDE<2> other(p);
      other.initialize(*space);
      std::vector<VectorType> samples(5);
      other.sample(samples, 17, 3);
      for (unsigned int s = 0; s < samples.size(); ++s)
        {
          samples[s] -= reference[s];
          EXPECT_LT(samples[s].l2_norm(), 1e-10 * reference[s].l2_norm());
        }
      VectorType inverse;
      other.apply_inverse(reference[0], inverse);
      inverse -= inverse_reference;
      EXPECT_LT(inverse.l2_norm(), 1e-9 * inverse_reference.l2_norm());
    }

  // Blocked solves (BLAS-3): the same samples up to rounding.
  p.direct_solver     = "cholmod";
  p.direct_block_size = 3;
  MaternSPDE<2> blocked(p);
  blocked.initialize(*space);
  std::vector<VectorType> samples(5);
  blocked.sample(samples, 17, 3);
  for (unsigned int s = 0; s < samples.size(); ++s)
    {
      samples[s] -= reference[s];
      EXPECT_LT(samples[s].l2_norm(), 1e-13 * reference[s].l2_norm());
    }

  // Large or distributed problems get AMG.
  p.solver = MaternSPDE<2>::SolverType::amg;
  MaternSPDE<2> amg(p);
  amg.initialize(*space);
  EXPECT_EQ(amg.active_solver(), MaternSPDE<2>::SolverType::amg);
}


TEST(Matern, InvalidParametersAreErrors)
{
  using P2 = MaternSPDE<2>::Parameters;
  const auto make2 = [](const double nu, const double rho, const double variance) {
    return MaternSPDE<2>(matern_parameters<2>(nu, rho, variance));
  };
  EXPECT_THROW(make2(0., 0.3, 1.), ExceptionBase);
  EXPECT_THROW(make2(-1., 0.3, 1.), ExceptionBase);
  EXPECT_THROW(make2(1., 0., 1.), ExceptionBase);
  EXPECT_THROW(make2(1., -0.2, 1.), ExceptionBase);
  EXPECT_THROW(make2(1., 0.3, 0.), ExceptionBase);
  EXPECT_THROW(make2(4., 0.3, 1.), ExceptionBase);   // alpha = 5
  EXPECT_THROW(make2(3.2, 0.3, 1.), ExceptionBase);  // alpha = 4.2
  EXPECT_THROW(MaternSPDE<3>(matern_parameters<3>(2.7, 0.3)), ExceptionBase);
  EXPECT_NO_THROW(make2(1., 0.3, 1.));
  EXPECT_NO_THROW(make2(1.5, 0.3, 1.)); // alpha = 2.5, fractional
  EXPECT_NO_THROW(MaternSPDE<3>(matern_parameters<3>(0.5, 0.3)));
  EXPECT_NO_THROW(MaternSPDE<3>(matern_parameters<3>(1., 0.3)));
  EXPECT_TRUE(make2(1.5, 0.3, 1.).has_fractional_order());
  EXPECT_FALSE(make2(2., 0.3, 1.).has_fractional_order());
  P2 bad = matern_parameters<2>(1.);
  bad.solver_tolerance = 0.;
  EXPECT_THROW(MaternSPDE<2>{bad}, ExceptionBase);
  P2 bad_tolerance = matern_parameters<2>(1.5);
  bad_tolerance.fractional_tolerance = 0.5;
  EXPECT_THROW(MaternSPDE<2>{bad_tolerance}, ExceptionBase);

  // The message says what is wrong and what would be right.
  try
    {
      make2(3.5, 0.3, 1.);
      FAIL() << "no exception";
    }
  catch (const ExceptionBase &e)
    {
      const std::string what = e.what();
      EXPECT_NE(what.find("above 4"), std::string::npos) << what;
      EXPECT_NE(what.find("nu <= 3 in 2D"), std::string::npos) << what;
    }

  // Using a model before initialize() is an error, not a crash.
  MaternSPDE<2> model;
  VectorType    v;
  EXPECT_THROW(model.sample(v, 1, 0), ExceptionBase);
}


TEST(CovarianceRegistry, MaternIsRegisteredAndParsedFromParameterFile)
{
  for (const auto &name : {"matern"})
    {
      EXPECT_TRUE(CovarianceRegistry<2>::instance().has(name));
      EXPECT_TRUE(CovarianceRegistry<3>::instance().has(name));
    }
  const auto parse = [](const std::string &body) {
    ParameterHandler prm;
    prm.enter_subsection("Noise");
    CovarianceRegistry<2>::instance().declare_parameters(prm, "Covariance model",
                                                         "matern", "The noise.");
    prm.leave_subsection();
    prm.parse_input_from_string("subsection Noise\nsubsection matern\n" + body +
                                "\nend\nend\n");
    prm.enter_subsection("Noise");
    auto model = CovarianceRegistry<2>::instance().create_and_parse(prm, "Covariance model");
    prm.leave_subsection();
    return model;
  };
  const auto model = parse("set Marginal variance = 4\nset Correlation length = 0.2\n"
                           "set Smoothness = 2\nset Boundary condition = robin\n");
  const auto *matern = dynamic_cast<const MaternSPDE<2> *>(model.get());
  ASSERT_NE(matern, nullptr);
  EXPECT_EQ(matern->alpha(), 3.);
  EXPECT_NEAR(matern->kappa(), std::sqrt(16.) / 0.2, 1e-12);
  // sigma^2 = Gamma(nu) / (Gamma(alpha) (4 pi) kappa^(2 nu) tau^2)
  const double tau = matern->tau();
  EXPECT_NEAR(std::tgamma(2.) / (std::tgamma(3.) * 4 * M_PI * std::pow(20., 4) * tau * tau),
              4., 1e-12);
  EXPECT_GT(matern->robin_coefficient(), 0.);

  EXPECT_THROW(parse("set Smoothness = 3.5\n"), ExceptionBase);
  EXPECT_THROW(parse("set Smoothness = 1.5\nset Fractional order tolerance = 0.5\n"),
               ExceptionBase);
  EXPECT_NEAR(dynamic_cast<const MaternSPDE<2> &>(*parse("set Smoothness = 1.5\n"
                                                         "set Fractional order tolerance = 1e-7\n"))
                .get_parameters()
                .fractional_tolerance,
              1e-7, 1e-20);
  EXPECT_THROW(parse("set Correlation length = -1\n"), ExceptionBase);
  EXPECT_THROW(parse("set Marginal variance = 0\n"), ExceptionBase);
}


TEST(CovarianceRegistry, EveryModelIsParsedAndItsVarianceParameterTakesEffect)
{
  // The registered models, in 2D and 3D (a new model must be added here).
  const std::vector<std::string> expected{"matern", "matern_spectral", "white_noise"};
  EXPECT_EQ(CovarianceRegistry<2>::instance().names(), expected);
  EXPECT_EQ(CovarianceRegistry<3>::instance().names(), expected);

  const auto space = test_support::make_space<2>(simplex_distorted, 1, MPI_COMM_SELF);
  const auto parse = [&](const std::string &name, const std::string &body) {
    ParameterHandler prm;
    CovarianceRegistry<2>::instance().declare_parameters(prm, "Covariance model", name, "The noise.");
    prm.parse_input_from_string("subsection " + name + "\n" + body + "end\n");
    auto model = CovarianceRegistry<2>::instance().create_and_parse(prm, "Covariance model");
    model->initialize(*space);
    return model;
  };
  // Every model is created from a parameter file with its defaults, and a
  // misspelled entry in its subsection is refused.
  for (const auto &name : expected)
    {
      EXPECT_NE(parse(name, ""), nullptr) << name;
      EXPECT_ANY_THROW(parse(name, "set Marginal varianse = 4\n")) << name;
    }
  // A parsed marginal variance scales the pointwise variance exactly.
  for (const std::string name : {"matern", "matern_spectral"})
    {
      const VectorType unit = parse(name, "set Correlation length = 0.3\n")->pointwise_variance();
      const VectorType four =
        parse(name, "set Correlation length = 0.3\nset Marginal variance = 4\n")->pointwise_variance();
      for (unsigned int i = 0; i < space->n_dofs(); ++i)
        EXPECT_NEAR(four[i], 4 * unit[i], 1e-5 * unit[i]) << name << ", DoF " << i;
    }
}
