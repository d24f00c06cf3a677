// SparseCholesky: the supernodal solve against its definition (residual of
// A x = b) and CHOLMOD's solve, blocks of right-hand sides, the single
// precision factor and its iterative refinement, the simplicial path,
// Trilinos input, and errors.

#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>
#include <deal.II/lac/vector.h>

#include <ddo/lac/sparse_cholesky.h>

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  /**
   * shift * I - (7-point Laplacian) on an m^3 grid with random positive
   * edge weights: SPD, 3D fill, so the factor is supernodal with a deep
   * elimination tree. Condition number about 12 * max weight / shift.
   */
  struct GridMatrix
  {
    SparsityPattern      pattern;
    SparseMatrix<double> matrix;

    GridMatrix(const unsigned int m, const double shift, const bool negative_definite = false)
    {
      const unsigned int n     = m * m * m;
      const auto         index = [m](unsigned int i, unsigned int j, unsigned int k) {
        return i + m * (j + m * k);
      };
      DynamicSparsityPattern dsp(n, n);
      std::mt19937           generator(7);
      std::uniform_real_distribution<double> weight(0.5, 1.5);
      std::vector<std::tuple<unsigned int, unsigned int, double>> edges;
      for (unsigned int k = 0; k < m; ++k)
        for (unsigned int j = 0; j < m; ++j)
          for (unsigned int i = 0; i < m; ++i)
            {
              const unsigned int a = index(i, j, k);
              dsp.add(a, a);
              if (i + 1 < m)
                edges.emplace_back(a, index(i + 1, j, k), weight(generator));
              if (j + 1 < m)
                edges.emplace_back(a, index(i, j + 1, k), weight(generator));
              if (k + 1 < m)
                edges.emplace_back(a, index(i, j, k + 1), weight(generator));
            }
      for (const auto &[a, b, w] : edges)
        {
          dsp.add(a, b);
          dsp.add(b, a);
        }
      pattern.copy_from(dsp);
      matrix.reinit(pattern);
      for (unsigned int a = 0; a < n; ++a)
        matrix.add(a, a, negative_definite ? -shift : shift);
      for (const auto &[a, b, w] : edges)
        {
          matrix.add(a, a, w);
          matrix.add(b, b, w);
          matrix.add(a, b, -w);
          matrix.add(b, a, -w);
        }
    }
  };

  /** Columns of standard normal numbers, column j at j * ld. */
  std::vector<double>
  random_columns(const std::size_t n, const unsigned int columns, const std::size_t ld)
  {
    std::mt19937                     generator(11);
    std::normal_distribution<double> normal;
    std::vector<double>              b(ld * columns, 0.);
    for (unsigned int j = 0; j < columns; ++j)
      for (std::size_t i = 0; i < n; ++i)
        b[i + j * ld] = normal(generator);
    return b;
  }

  /** max over columns of |A x_j - b_j| / |b_j|. */
  double
  relative_residual(const SparseMatrix<double> &a, const std::vector<double> &x,
                    const std::vector<double> &b, const unsigned int columns, const std::size_t ld)
  {
    const std::size_t n     = a.m();
    double            worst = 0;
    for (unsigned int j = 0; j < columns; ++j)
      {
        Vector<double> xj(x.begin() + j * ld, x.begin() + j * ld + n);
        Vector<double> bj(b.begin() + j * ld, b.begin() + j * ld + n);
        Vector<double> r(n);
        a.vmult(r, xj);
        r -= bj;
        worst = std::max(worst, r.l2_norm() / bj.l2_norm());
      }
    return worst;
  }

  double
  relative_difference(const std::vector<double> &x, const std::vector<double> &y)
  {
    double difference = 0, norm = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      {
        difference += (x[i] - y[i]) * (x[i] - y[i]);
        norm += y[i] * y[i];
      }
    return std::sqrt(difference / norm);
  }
} // namespace


TEST(SparseCholesky, SupernodalSolveSolvesTheSystemAndAgreesWithCholmodsSolve)
{
  const GridMatrix  grid(18, 0.5); // 5832 unknowns, supernodal
  const std::size_t n = grid.matrix.m();
  const auto        b = random_columns(n, 1, n);

  SparseCholesky cholesky(grid.matrix, SparseCholesky::AdditionalData());
  auto           x = b;
  cholesky.solve(x.data(), 1, n);
  EXPECT_LT(relative_residual(grid.matrix, x, b, 1, n), 1e-13);
  // A second solve reuses the work space and gives the same result.
  auto again = b;
  cholesky.solve(again.data(), 1, n);
  EXPECT_EQ(x, again);

  SparseCholesky::AdditionalData reference_data;
  reference_data.use_cholmod_solve = true;
  SparseCholesky reference(grid.matrix, reference_data);
  EXPECT_EQ(reference.n_factor_entries(), cholesky.n_factor_entries());
  auto y = b;
  reference.solve(y.data(), 1, n);
  EXPECT_LT(relative_difference(x, y), 1e-13);
}


// refactorize() reuses the ordering and analysis: with other values on the
// same pattern it solves as a fresh factorization does (supernodal and
// simplicial), it reports a matrix that is not positive definite (diagonal
// shifted below zero), recovers on the next SPD matrix, and refuses a
// matrix with another pattern.
TEST(SparseCholesky, RefactorizationWithNewValuesEqualsAFreshFactorization)
{
  for (const bool supernodal : {true, false})
    {
      const GridMatrix  first(12, 0.5), second(12, 2.), indefinite(12, 0.5, true);
      const std::size_t n = first.matrix.m();
      const auto        b = random_columns(n, 1, n);
      SparseCholesky::AdditionalData data;
      data.supernodal = supernodal;
      SparseCholesky cholesky(first.matrix, data);
      // The grid matrices have their own patterns with the same entries: copy the values over.
      SparseMatrix<double> values(first.pattern);
      for (std::size_t k = 0; k < n; ++k)
        for (auto it = second.matrix.begin(k); it != second.matrix.end(k); ++it)
          values.set(k, it->column(), it->value());
      ASSERT_TRUE(cholesky.refactorize(values));
      auto x = b;
      cholesky.solve(x.data(), 1, n);
      SparseCholesky fresh(second.matrix, data);
      auto           y = b;
      fresh.solve(y.data(), 1, n);
      EXPECT_LT(relative_difference(x, y), 1e-13) << (supernodal ? "supernodal" : "simplicial");
      EXPECT_LT(relative_residual(second.matrix, x, b, 1, n), 1e-13);

      // The negative definite grid matrix: for the simplicial LDL^T form
      // (which accepts negative pivots) with a zero diagonal entry.
      SparseMatrix<double> broken(first.pattern);
      for (std::size_t k = 0; k < n; ++k)
        for (auto it = indefinite.matrix.begin(k); it != indefinite.matrix.end(k); ++it)
          broken.set(k, it->column(), supernodal ? it->value() : (k == 0 ? 0. : it->value()));
      if (!supernodal)
        for (auto it = broken.begin(0); it != broken.end(0); ++it)
          {
            broken.set(it->column(), 0, 0.);
            it->value() = 0.;
          }
      EXPECT_FALSE(cholesky.refactorize(broken)) << (supernodal ? "supernodal" : "simplicial");
      ASSERT_TRUE(cholesky.refactorize(values));
      auto again = b;
      cholesky.solve(again.data(), 1, n);
      EXPECT_LT(relative_difference(again, y), 1e-13);

      const GridMatrix other(11, 0.5);
      std::string      message = "no error";
      try
        {
          cholesky.refactorize(other.matrix);
        }
      catch (const ExceptionBase &exc)
        {
          message = test_support::one_line(exc.what());
        }
      EXPECT_NE(message.find("another sparsity pattern"), std::string::npos) << message;

      // A matrix of the same size with another pattern (the diagonal only),
      // as the first refactorization: refused, and the next matrix with the
      // constructor's pattern is still factorized right.
      SparsityPattern diagonal(n, n, 1);
      for (std::size_t k = 0; k < n; ++k)
        diagonal.add(k, k);
      diagonal.compress();
      SparseMatrix<double> identity(diagonal);
      for (std::size_t k = 0; k < n; ++k)
        identity.set(k, k, 1.);
      SparseCholesky second_try(first.matrix, data);
      message = "no error";
      try
        {
          second_try.refactorize(identity);
        }
      catch (const ExceptionBase &exc)
        {
          message = test_support::one_line(exc.what());
        }
      EXPECT_NE(message.find("another sparsity pattern"), std::string::npos) << message;
      ASSERT_TRUE(second_try.refactorize(values));
      auto once_more = b;
      second_try.solve(once_more.data(), 1, n);
      EXPECT_LT(relative_difference(once_more, y), 1e-13);
    }
}


TEST(SparseCholesky, BlocksOfRightHandSidesWithPaddingEqualSingleSolves)
{
  const GridMatrix   grid(14, 0.1);
  const std::size_t  n       = grid.matrix.m();
  const std::size_t  ld      = n + 5;
  const unsigned int columns = 7;
  const auto         b       = random_columns(n, columns, ld);
  SparseCholesky cholesky(grid.matrix, SparseCholesky::AdditionalData());

  auto block = b;
  cholesky.solve(block.data(), columns, ld);
  EXPECT_LT(relative_residual(grid.matrix, block, b, columns, ld), 1e-13);
  for (unsigned int j = 0; j < columns; ++j)
    {
      // The padding is not touched.
      for (std::size_t i = n; i < ld; ++i)
        EXPECT_EQ(block[i + j * ld], 0.);
      std::vector<double> single(b.begin() + j * ld, b.begin() + j * ld + n);
      cholesky.solve(single.data(), 1, n);
      std::vector<double> column(block.begin() + j * ld, block.begin() + j * ld + n);
      EXPECT_LT(relative_difference(column, single), 1e-13);
    }
}


TEST(SparseCholesky, SinglePrecisionFactorIsAccurateToSinglePrecisionTimesConditioning)
{
  // shift 0.05: condition number up to ~12 * 1.5 / 0.05 = 360.
  const GridMatrix  grid(18, 0.05);
  const std::size_t n = grid.matrix.m();
  const auto        b = random_columns(n, 3, n);

  SparseCholesky::AdditionalData data;
  SparseCholesky                 exact(grid.matrix, data);
  data.precision = SparseCholesky::Precision::single_precision;
  SparseCholesky single(grid.matrix, data);
  EXPECT_EQ(single.n_factor_entries(), exact.n_factor_entries());
  EXPECT_LT(single.factor_memory(), 0.6 * exact.factor_memory());

  auto x = b, y = b;
  exact.solve(x.data(), 3, n);
  single.solve(y.data(), 3, n);
  const double error = relative_difference(y, x);
  // Rounding the factor and the solves to float: about eps_float * cond.
  EXPECT_LT(error, 360 * 6e-8);
  EXPECT_GT(error, 1e-12) << "the solve must really be in single precision";
  // Not just the same error everywhere: the residual is small as well.
  EXPECT_LT(relative_residual(grid.matrix, y, b, 3, n), 1e-5);

  // Iterative refinement recovers double precision: a step or two, each
  // reducing the error by about the single precision error above.
  auto refined = b;
  const unsigned int steps = single.solve_refined(refined.data(), 3, n);
  EXPECT_GE(steps, 1u);
  EXPECT_LE(steps, 3u);
  EXPECT_LT(relative_residual(grid.matrix, refined, b, 3, n), 1e-13);
  EXPECT_LT(relative_difference(refined, x), 1e-12);
  // A double factor needs none.
  auto direct = b;
  EXPECT_EQ(exact.solve_refined(direct.data(), 3, n), 0u);
  EXPECT_EQ(direct, x);
}


TEST(SparseCholesky, SimplicialFactorAndTrilinosInputGiveTheSameSolution)
{
  const GridMatrix  grid(10, 0.3);
  const std::size_t n = grid.matrix.m();
  const auto        b = random_columns(n, 2, n);

  SparseCholesky::AdditionalData data;
  data.supernodal        = false;
  data.try_amd_and_metis = false;
  SparseCholesky simplicial(grid.matrix, data);
  EXPECT_EQ(simplicial.ordering(), "METIS");
  auto x = b;
  simplicial.solve(x.data(), 2, n);
  EXPECT_LT(relative_residual(grid.matrix, x, b, 2, n), 1e-13);

  TrilinosWrappers::SparseMatrix trilinos;
  trilinos.reinit(grid.matrix);
  SparseCholesky supernodal(trilinos, SparseCholesky::AdditionalData());
  auto y = b;
  supernodal.solve(y.data(), 2, n);
  EXPECT_LT(relative_difference(y, x), 1e-13);
}


TEST(SparseCholesky, IndefiniteMatrixIsAClearError)
{
  const GridMatrix grid(6, 20., true); // diagonal shifted to negative values
  try
    {
      SparseCholesky cholesky(grid.matrix, SparseCholesky::AdditionalData());
      FAIL() << "an indefinite matrix must be rejected";
    }
  catch (const std::exception &e)
    {
      EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos)
        << e.what();
    }
}
