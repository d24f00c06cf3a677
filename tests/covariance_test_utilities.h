#ifndef ddo_tests_covariance_test_utilities_h
#define ddo_tests_covariance_test_utilities_h

// Dense reference computations for covariance models on tiny serial meshes:
// dense copies of matrices, the constraint extension P, empirical second
// moments with their standard errors, and the dense matrix of apply().

#include <deal.II/lac/full_matrix.h>

#include <ddo/covariance/interface.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/function_space/function_space.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test_utilities.h"

namespace ddo
{
  namespace test_support
  {
  /** Dense copy of a (serial) Trilinos matrix. */
  inline FullMatrix<double>
  to_dense(const TrilinosWrappers::SparseMatrix &matrix)
  {
    FullMatrix<double> dense(matrix.m(), matrix.n());
    for (unsigned int r = 0; r < matrix.m(); ++r)
      for (auto it = matrix.begin(r); it != matrix.end(r); ++it)
        dense(r, it->column()) = it->value();
    return dense;
  }

  /**
   * The N x N matrix P that extends free values by the constraints (columns
   * of constrained DoFs are zero), from the constraint lines: independent of
   * the condensation in the library.
   */
  template <int dim>
  FullMatrix<double>
  extension_matrix(const FunctionSpace<dim> &space)
  {
    const unsigned int  n = space.n_dofs();
    const auto &        constraints = space.get_constraints();
    FullMatrix<double>  p(n, n);
    for (unsigned int i = 0; i < n; ++i)
      {
        const auto *entries = constraints.get_constraint_entries(i);
        if (!constraints.is_constrained(i))
          p(i, i) = 1.;
        else if (entries != nullptr)
          for (const auto &e : *entries)
            p(i, e.first) = e.second;
      }
    return p;
  }

  /** P^T X P for the dense matrices P and X. */
  inline FullMatrix<double>
  condense(const FullMatrix<double> &p, const FullMatrix<double> &x)
  {
    FullMatrix<double> result(p.n(), p.n());
    result.triple_product(x, p, p, true, false);
    return result;
  }

  template <int dim>
  std::vector<bool>
  free_dofs(const FunctionSpace<dim> &space)
  {
    std::vector<bool> result(space.n_dofs());
    for (unsigned int i = 0; i < space.n_dofs(); ++i)
      result[i] = !space.get_constraints().is_constrained(i);
    return result;
  }

  /** Sums of x and of x x^T over samples with known mean zero. */
  struct SecondMoments
  {
    explicit SecondMoments(const unsigned int n)
      : sum(n)
      , outer(n, n)
    {}

    void
    add(const VectorType &v)
    {
      const unsigned int n = sum.size();
      std::vector<double> x(n);
      for (unsigned int i = 0; i < n; ++i)
        x[i] = v[i];
      for (unsigned int i = 0; i < n; ++i)
        {
          sum[i] += x[i];
          for (unsigned int j = 0; j < n; ++j)
            outer(i, j) += x[i] * x[j];
        }
      ++count;
    }

    /**
     * Largest deviation of the empirical second moments from @p exact (over
     * rows i and columns j where @p use is true) in units of the standard
     * error sqrt((C_ii C_jj + C_ij^2) / S) of a Gaussian; likewise for the
     * mean, with standard error sqrt(C_ii / S).
     */
    std::pair<double, double>
    max_standardized_deviation(const FullMatrix<double> &exact,
                               const std::vector<bool> & use_row,
                               const std::vector<bool> & use_column) const
    {
      const double s          = count;
      double       max_cov    = 0, max_mean = 0;
      for (unsigned int i = 0; i < sum.size(); ++i)
        if (use_row[i])
          {
            max_mean = std::max(max_mean, std::abs(sum[i] / s) / std::sqrt(exact(i, i) / s));
            for (unsigned int j = 0; j < sum.size(); ++j)
              if (use_column[j])
                {
                  const double se = std::sqrt(
                    (exact(i, i) * exact(j, j) + exact(i, j) * exact(i, j)) / s);
                  max_cov = std::max(max_cov, std::abs(outer(i, j) / s - exact(i, j)) / se);
                }
          }
      return {max_cov, max_mean};
    }

    std::vector<double> sum;
    FullMatrix<double>  outer;
    unsigned int        count = 0;
  };

  template <int dim>
  typename MaternSPDE<dim>::Parameters
  matern_parameters(const double nu, const double rho = 0.3, const double variance = 1.)
  {
    typename MaternSPDE<dim>::Parameters p;
    p.smoothness         = nu;
    p.correlation_length = rho;
    p.marginal_variance  = variance;
    return p;
  }

  /** The matrix of apply(): column j = apply(e_j). */
  template <int dim>
  FullMatrix<double>
  dense_apply(const FunctionSpace<dim> &space, const CovarianceOperator<dim> &model)
  {
    const unsigned int n = space.n_dofs();
    FullMatrix<double> c(n, n);
    VectorType         e = space.create_vector(), column;
    for (unsigned int j = 0; j < n; ++j)
      {
        e    = 0.;
        e[j] = 1.;
        e.compress(VectorOperation::insert);
        model.apply(e, column);
        for (unsigned int i = 0; i < n; ++i)
          c(i, j) = column[i];
      }
    return c;
  }

  /**
   * Draws 20000 samples of @p model (stream @p seed, batches of 500) and
   * holds their second moments to @p exact (rows: all DoFs, columns: the
   * @p free ones) and their mean to zero, within Bonferroni thresholds of
   * the standard errors; returns the last batch.
   */
  template <int dim>
  std::vector<VectorType>
  expect_sample_moments(const CovarianceOperator<dim> &model,
                        const FullMatrix<double> &     exact,
                        const std::vector<bool> &      free,
                        const std::uint64_t            seed,
                        const std::string &            reference)
  {
    const unsigned int      n         = exact.m();
    const unsigned int      n_samples = 20000;
    SecondMoments           moments(n);
    std::vector<VectorType> batch(500);
    for (unsigned int s = 0; s < n_samples; s += batch.size())
      {
        model.sample(batch, seed, s);
        for (const VectorType &u : batch)
          moments.add(u);
      }
    const std::vector<bool> all(n, true);
    const auto              deviation = moments.max_standardized_deviation(exact, all, free);
    EXPECT_LT(deviation.first, bonferroni_threshold(n * n))
      << "empirical covariance differs from " << reference;
    EXPECT_LT(deviation.second, bonferroni_threshold(n)) << "empirical mean differs from zero";
    return batch;
  }
  /**
   * The covariance model @p name with the settings @p subsection_text (the
   * lines inside its subsection), created through the registry as the driver
   * does and initialized on @p space.
   */
  template <int dim>
  std::unique_ptr<CovarianceOperator<dim>>
  make_covariance(const FunctionSpace<dim> &space, const std::string &name, const std::string &subsection_text)
  {
    ParameterHandler prm;
    CovarianceRegistry<dim>::instance().declare_parameters(prm, "Model", name, "");
    prm.parse_input_from_string("subsection " + name + "\n" + subsection_text + "end\n");
    auto covariance = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
    covariance->initialize(space);
    return covariance;
  }
  } // namespace test_support
} // namespace ddo

#endif
