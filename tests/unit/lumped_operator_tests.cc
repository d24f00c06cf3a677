// The lumped operator M_L^-1 K on constraint-satisfying functions, and its
// dense eigenpairs (ddo::make_lumped_operator, ddo::lumped_eigenpairs).

#include <deal.II/lac/lapack_full_matrix.h>
#include <deal.II/lac/vector.h>

#include <ddo/lac/lumped_operator.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

#include <algorithm>
#include <cmath>

using namespace ddo;

TEST(LumpedOperator, EigenpairsSatisfyTheOperatorAndApproximateTheTorusSpectrum)
{
  const std::string torus = "set Geometry = box\nsubsection box\nset Subdivisions = 8\nend\n"
                            "set Cell type = simplex\nset Distortion = 0.2\nset Periodic directions = 0, 1\n"
                            "set Global refinements = 1\n";
  const auto           space = test_support::make_space<2>(torus, 1, MPI_COMM_SELF);
  const LumpedOperator a     = make_lumped_operator(*space);
  std::vector<double>  mu;
  FullMatrix<double>   projector;
  lumped_eigenpairs(*space, mu, projector);
  const auto &constraints = space->get_constraints();
  ASSERT_EQ(mu.size() + constraints.n_constraints(), space->n_dofs());
  EXPECT_GE(a.eigenvalue_bound, mu.back() * (1 - 1e-12));

  // The condensed lumped mass D; psi_i = P (row_i / D) on the free DoFs.
  Vector<double> w(space->n_dofs());
  for (std::size_t i = 0; i < w.size(); ++i)
    w[i] = space->quadrature_weights()[i];
  constraints.condense(w);
  for (const unsigned int i : {0u, 1u, unsigned(mu.size() / 2), unsigned(mu.size() - 1)})
    {
      Vector<double> psi(space->n_dofs()), a_psi(space->n_dofs());
      for (std::size_t j = 0; j < psi.size(); ++j)
        if (!constraints.is_constrained(j))
          psi[j] = projector(i, j) / w[j];
      constraints.distribute(psi);
      for (std::size_t e = 0; e < a.values.size(); ++e)
        a_psi[a.rows[e]] += a.values[e] * psi[a.columns[e]];
      double error = 0;
      for (std::size_t j = 0; j < psi.size(); ++j)
        error = std::max(error, std::abs(a_psi[j] - mu[i] * psi[j]));
      EXPECT_LT(error, 1e-9 * std::max(mu[i], 1.) * psi.linfty_norm()) << "eigenpair " << i;
      // D-normalized: sum over free DoFs of D psi^2 = 1.
      double norm = 0;
      for (std::size_t j = 0; j < psi.size(); ++j)
        if (!constraints.is_constrained(j))
          norm += w[j] * psi[j] * psi[j];
      EXPECT_NEAR(norm, 1., 1e-10) << "eigenpair " << i;
    }
  // The constants are the null space; the next four modes are the (2 pi)^2
  // shell of the torus, approximated from below by lumping (2% here).
  EXPECT_LT(std::abs(mu[0]), 1e-8);
  for (unsigned int k = 1; k <= 4; ++k)
    {
      EXPECT_GT(mu[k], 0.95 * 4 * M_PI * M_PI) << k;
      EXPECT_LT(mu[k], 1.0 * 4 * M_PI * M_PI) << k;
    }
}


TEST(LumpedOperator, LumpedMassOperatorSpectrumLiesInItsBoundsAndAttainsThem)
{
  // B = M_L^-1 M: eigenvalues in [1/(dim+2), 1] on linear simplices and in
  // [3^-dim, 1] on affine multilinear cells (cell by cell, exactly); 1 is
  // attained by the constants, and the lower end nearly on a fine mesh.
  // Dense generalized eigenvalues of (M, M_L) on meshes without constraints.
  const auto spectrum = [](const auto &space, const LumpedOperator &b) {
    const unsigned int     n = space.n_dofs();
    LAPACKFullMatrix<double> m(n, n), m_lumped(n, n);
    for (std::size_t e = 0; e < b.values.size(); ++e)
      m(b.rows[e], b.columns[e]) = b.values[e] * space.quadrature_weights()[b.rows[e]];
    for (unsigned int i = 0; i < n; ++i)
      m_lumped(i, i) = space.quadrature_weights()[i];
    std::vector<Vector<double>> unused(n, Vector<double>(n));
    m.compute_generalized_eigenvalues_symmetric(m_lumped, unused);
    std::vector<double> values;
    for (unsigned int i = 0; i < n; ++i)
      values.push_back(m.eigenvalue(i).real());
    return std::make_pair(*std::min_element(values.begin(), values.end()),
                          *std::max_element(values.begin(), values.end()));
  };
  const auto check = [&](const auto &space, const double expected_lower_bound) {
    const LumpedOperator b = make_lumped_mass_operator(space);
    const auto [lowest, highest] = spectrum(space, b);
    EXPECT_LE(b.eigenvalue_lower_bound, expected_lower_bound);
    EXPECT_GE(lowest, expected_lower_bound * (1 - 1e-10));
    EXPECT_NEAR(highest, 1., 1e-10);
    return lowest;
  };
  const auto triangles = test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 6\n"
                                                     "end\nset Cell type = simplex\nset Distortion = 0.25\n",
                                                     1, MPI_COMM_SELF);
  EXPECT_LT(check(*triangles, 0.25), 0.3);
  EXPECT_DOUBLE_EQ(make_lumped_mass_operator(*triangles).eigenvalue_lower_bound, 0.25);
  check(*test_support::make_space<3>("set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n"
                                     "set Cell type = simplex\nset Distortion = 0.2\n",
                                     1, MPI_COMM_SELF),
        0.2);
  check(*test_support::make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 6\nend\n"
                                     "set Cell type = hypercube\n",
                                     1, MPI_COMM_SELF),
        1. / 9);
}
