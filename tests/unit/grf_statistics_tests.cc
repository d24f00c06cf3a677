// Matérn fields against the continuum: marginal variance in the interior
// (2D and 3D), correlation against the Matérn formula at several distances,
// and convergence of both under mesh refinement. Exact discrete covariance
// columns (apply() to nodal unit vectors) are used, so these tests have no
// sampling error; sample statistics are tested in covariance_tests.cc.

#include <ddo/covariance/matern.h>
#include <ddo/covariance/matern_spde.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  /** The DoF whose support point is closest to @p p (serial). */
  template <int dim>
  types::global_dof_index
  dof_at(const FunctionSpace<dim> &space, const Point<dim> &p)
  {
    const auto &points = space.locally_owned_support_points();
    unsigned int best  = 0;
    for (unsigned int i = 1; i < points.size(); ++i)
      if (points[i].distance(p) < points[best].distance(p))
        best = i;
    EXPECT_LT(points[best].distance(p), 1e-10) << "no DoF at " << p;
    return space.locally_owned_dofs().nth_index_in_set(best);
  }

  /** Column j of the covariance: Cov(xi) e_j. */
  template <int dim>
  VectorType
  covariance_column(const FunctionSpace<dim> &space, const MaternSPDE<dim> &model,
                    const types::global_dof_index j)
  {
    VectorType unit = space.create_vector(), column = space.create_vector();
    unit[j]         = 1.;
    model.apply(unit, column);
    return column;
  }

  struct Statistics
  {
    double              center_variance;
    std::vector<double> correlation_error; // |discrete - Matérn| at each distance
  };

  /**
   * Unit square with n x n quadrilaterals, Robin boundary; correlation along
   * +x, -x, +y, -y from the center at distances k/8 (k = 1..4: up to 2 rho).
   */
  Statistics
  statistics_2d(const unsigned int n, const double rho)
  {
    const auto space = test_support::make_space<2>(
      "set Geometry = box\nsubsection box\nset Subdivisions = " + std::to_string(n) + "\nend\n");
    MaternSPDE<2>::Parameters p;
    p.correlation_length = rho;
    p.smoothness         = 1.;
    p.boundary_condition = MaternSPDE<2>::BoundaryCondition::robin;
    MaternSPDE<2> model(p);
    model.initialize(*space);
    const MaternScales scales = MaternScales::from_user_parameters(2, 1., rho, 1.);

    const Point<2> center(0.5, 0.5);
    const auto     c       = dof_at(*space, center);
    const auto     column  = covariance_column(*space, model, c);
    Statistics     result;
    result.center_variance = column[c];
    for (unsigned int k = 1; k <= 8; ++k)
      {
        const double r = k * rho / 4.; // up to 2 rho
        double       error = 0;
        for (const Tensor<1, 2> direction :
             {Tensor<1, 2>({1., 0.}), Tensor<1, 2>({-1., 0.}), Tensor<1, 2>({0., 1.}), Tensor<1, 2>({0., -1.})})
          {
            const auto   j   = dof_at(*space, Point<2>(center + r * direction));
            const double var = covariance_column(*space, model, j)[j];
            error = std::max(error, std::abs(column[j] / std::sqrt(var * result.center_variance) -
                                             scales.correlation(r)));
          }
        result.correlation_error.push_back(error);
      }
    return result;
  }
} // namespace


TEST(MaternStatistics, CorrelationAndVarianceConvergeToTheContinuum2D)
{
  // rho = 0.2 and points up to 2 rho = 0.4 from the center of the unit
  // square; nodes at multiples of 1/n hit the distances k rho/4 for n = 40, 80.
  const double     rho    = 0.2;
  const Statistics coarse = statistics_2d(40, rho);
  const Statistics fine   = statistics_2d(80, rho);

  // Marginal variance in the interior within 5% of sigma^2 = 1 on both.
  EXPECT_NEAR(coarse.center_variance, 1., 0.05);
  EXPECT_NEAR(fine.center_variance, 1., 0.05);
  std::cout << "2D center variance: " << coarse.center_variance << " (n=40), " << fine.center_variance
            << " (n=80); max correlation error " << *std::max_element(coarse.correlation_error.begin(), coarse.correlation_error.end())
            << ", " << *std::max_element(fine.correlation_error.begin(), fine.correlation_error.end()) << std::endl;
  // Mesh independence: the two meshes agree to 3%, the fine one is closer.
  EXPECT_NEAR(fine.center_variance, coarse.center_variance, 0.03);
  EXPECT_LE(std::abs(fine.center_variance - 1.), std::abs(coarse.center_variance - 1.) + 1e-3);

  for (unsigned int k = 0; k < coarse.correlation_error.size(); ++k)
    {
      SCOPED_TRACE("distance " + std::to_string((k + 1) * rho / 4.));
      EXPECT_LT(coarse.correlation_error[k], 0.05);
      EXPECT_LT(fine.correlation_error[k], 0.03);
    }
}


TEST(MaternStatistics, MarginalVarianceInTheInterior3D)
{
  // Unit cube, P2 hexahedra, rho = 0.3, sigma^2 = 2, Robin boundary; the
  // center is 1.7 rho from the boundary. Measured (variance / sigma^2):
  // nu = 3/2: 1.061 (6^3), 1.025 (8^3), 1.012 (10^3); nu = 1/2 converges
  // more slowly (rough field): 1.091 (6^3), 1.057 (10^3).
  auto center_variance = [](const double nu, const unsigned int n) {
    const auto space = test_support::make_space<3>(
      "set Geometry = box\nsubsection box\nset Subdivisions = " + std::to_string(n) + "\nend\n", 2);
    MaternSPDE<3>::Parameters p;
    p.correlation_length = 0.3;
    p.smoothness         = nu;
    p.marginal_variance  = 2.;
    p.boundary_condition = MaternSPDE<3>::BoundaryCondition::robin;
    MaternSPDE<3> model(p);
    model.initialize(*space);
    const auto c = dof_at(*space, Point<3>(0.5, 0.5, 0.5));
    return covariance_column(*space, model, c)[c] / 2.;
  };
  const double coarse = center_variance(1.5, 6), fine = center_variance(1.5, 8);
  EXPECT_NEAR(fine, 1., 0.05);
  EXPECT_LT(std::abs(fine - 1.), std::abs(coarse - 1.));
  EXPECT_NEAR(coarse, fine, 0.06);
}
