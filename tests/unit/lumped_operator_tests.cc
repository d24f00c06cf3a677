// The lumped operator M_L^-1 K on constraint-satisfying functions, and its
// dense eigenpairs (ddo::make_lumped_operator, ddo::lumped_eigenpairs).

#include <deal.II/lac/vector.h>

#include <ddo/lac/lumped_operator.h>

#include <gtest/gtest.h>

#include "../test_utilities.h"

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
