#ifndef ddo_finite_h
#define ddo_finite_h

/**
 * @file
 * The entrywise finiteness check of the likelihoods and the posterior
 * samplers.
 */

#include <deal.II/lac/vector.h>

#include <algorithm>
#include <cmath>

namespace ddo
{
  /**
   * True when every entry of @p v is finite (neither infinite nor NaN).
   * Checked entry by entry, not through a norm: the l2 norm of a vector of
   * large but finite entries overflows.
   */
  inline bool
  all_finite(const dealii::Vector<double> &v)
  {
    return std::all_of(v.begin(), v.end(), [](const double x) { return std::isfinite(x); });
  }
} // namespace ddo

#endif
