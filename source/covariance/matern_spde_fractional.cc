// MaternSPDE: fractional orders alpha = nu + d/2 by the rational
// approximation of FractionalPowerQuadrature (see "Fractional orders" in
// matern_spde.h).

#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/direct_factorization.h>
#include <ddo/covariance/shifted_systems.h>

#include <Epetra_MultiVector.h>

#include <algorithm>
#include <cmath>

namespace ddo
{
  template <int dim>
  void
  MaternSPDE<dim>::setup_fractional(const double spectrum_bound)
  {
    // L = M^{-1}A has its spectrum in [kappa^2, spectrum_bound]; the
    // quadrature works on x = L/kappa^2 in [1, Lambda].
    const double kappa2 = kappa_value * kappa_value;
    const double ratio  = std::max(1., spectrum_bound / kappa2);
    quadrature          = std::make_unique<FractionalPowerQuadrature>(
      std::vector<double>{sample_fraction, inverse_fraction}, ratio, parameters.fractional_tolerance);

    std::vector<double> coefficients;
    for (const double d : quadrature->shifts())
      coefficients.push_back(d * kappa2);
    internal::ShiftedSystems::Settings settings;
    settings.direct           = active_solver_type == SolverType::direct;
    settings.direct_solver    = parameters.direct_solver;
    settings.direct_precision = parameters.direct_precision;
    settings.tolerance        = parameters.solver_tolerance;
    settings.amg.elliptic              = true;
    settings.amg.higher_order_elements = space->get_fe().degree > 1;
    settings.amg.smoother_sweeps       = parameters.amg_smoother_sweeps;
    settings.amg.aggregation_threshold = parameters.amg_aggregation_threshold;
    shifted = std::make_unique<internal::ShiftedSystems>(a_matrix, m_matrix, coefficients, settings);
    if (settings.direct && !m_direct)
      m_direct = internal::factorize(m_matrix,
                                     parameters.direct_solver,
                                     internal::precision_of(parameters.direct_precision));
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_fractional_power(const double      p,
                                          const VectorType &rhs,
                                          VectorType &      out,
                                          const bool        accurate) const
  {
    // r_p(L) M^{-1} rhs = kappa^{-2p} (w_inf M^{-1} rhs + w_0 kappa^2 A^{-1} rhs
    //                     + sum_j w_j kappa^2 (A + d_j kappa^2 M)^{-1} rhs).
    const double                              kappa2 = kappa_value * kappa_value;
    const FractionalPowerQuadrature::Weights  w      = quadrature->weights(p);
    VectorType                                x;
    solve_m(rhs, out);
    out *= w.identity;
    solve_a(rhs, x);
    out.add(w.inverse * kappa2, x);
    for (unsigned int j = 0; j < shifted->size(); ++j)
      {
        shifted->solve(j, rhs, x, accurate);
        out.add(w.resolvent[j] * kappa2, x);
      }
    out *= std::pow(kappa2, -p);
    restrict_to_free(out);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_fractional_power(const double              p,
                                          const Epetra_MultiVector &b,
                                          Epetra_MultiVector &      out,
                                          Epetra_MultiVector &      work) const
  {
    // As above, with the stored (sampling precision) factors and one block
    // solve per matrix for all columns.
    const double                             kappa2 = kappa_value * kappa_value;
    const FractionalPowerQuadrature::Weights w      = quadrature->weights(p);
    m_direct->solve(b, out);
    out.Scale(w.identity);
    a_direct->solve(b, work);
    out.Update(w.inverse * kappa2, work, 1.);
    for (unsigned int j = 0; j < shifted->size(); ++j)
      {
        shifted->solve(j, b, work);
        out.Update(w.resolvent[j] * kappa2, work, 1.);
      }
    out.Scale(std::pow(kappa2, -p));
    restrict_to_free(out);
  }


  template <int dim>
  void
  MaternSPDE<dim>::sample_block_fractional(std::vector<VectorType> &out,
                                           const unsigned int       first,
                                           const unsigned int       count,
                                           const std::uint64_t      seed,
                                           const std::uint64_t      first_index) const
  {
    // u = tau^{-1} (A^{-1} M)^k r_s(L) M^{-1} b for a block of white noise b.
    const Epetra_Map &map = a_matrix.trilinos_matrix().RowMap();
    if (!work_block_b || work_block_b->NumVectors() != int(count) || !work_block_y ||
        work_block_y->NumVectors() != int(count))
      {
        work_block_b = std::make_unique<Epetra_MultiVector>(map, count, false);
        work_block_x = std::make_unique<Epetra_MultiVector>(map, count, false);
        work_block_y = std::make_unique<Epetra_MultiVector>(map, count, false);
      }
    Epetra_MultiVector &b = *work_block_b, &x = *work_block_x, &y = *work_block_y;
    draw_noise_block(b, count, seed, first_index);
    apply_fractional_power(sample_fraction, b, x, y);
    finish_block(x, b, sample_power, out, first);
  }


  template <int dim>
  void
  MaternSPDE<dim>::sample_fractional(const VectorType &b, VectorType &u) const
  {
    // u = tau^{-1} (A^{-1} M)^k r_s(L) M^{-1} b.
    VectorType x;
    apply_fractional_power(sample_fraction, b, x, false);
    apply_a_inverse_m(x, sample_power);
    for (const auto i : space->locally_owned_dofs())
      u[i] = x[i] / tau_value;
    u.compress(VectorOperation::insert);
    space->get_constraints().distribute(u);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_reduced_fractional(VectorType &v) const
  {
    // C~ = tau^{-2} L^{-2k} r_s(L) r_s(L) M^{-1}: the covariance of the samples.
    VectorType y, tmp(v);
    apply_fractional_power(sample_fraction, v, y, true);
    m_matrix.vmult(tmp, y);
    apply_fractional_power(sample_fraction, tmp, y, true);
    apply_a_inverse_m(y, 2 * sample_power);
    v = y;
    v *= 1. / (tau_value * tau_value);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_inverse_reduced_fractional(VectorType &v) const
  {
    // C~^{-1} = tau^2 M L^alpha ~ tau^2 M L^{ceil(alpha)} r_t(L),
    // t = ceil(alpha) - alpha, with L x = M^{-1} A x.
    VectorType x, tmp(v);
    m_matrix.vmult(tmp, v);
    apply_fractional_power(inverse_fraction, tmp, x, true);
    const unsigned int n_powers = static_cast<unsigned int>(std::ceil(alpha_value));
    for (unsigned int r = 0; r < n_powers; ++r)
      {
        a_matrix.vmult(tmp, x);
        restrict_to_free(tmp);
        solve_m(tmp, x);
      }
    m_matrix.vmult(v, x);
    restrict_to_free(v);
    v *= tau_value * tau_value;
  }


  // The rest of the class is instantiated with its registration in
  // matern_spde.cc; these members here.
#define DDO_INSTANTIATE_FRACTIONAL(dim)                                                  \
  template void MaternSPDE<dim>::setup_fractional(const double);                         \
  template void MaternSPDE<dim>::apply_fractional_power(const double, const VectorType &, \
                                                        VectorType &, const bool) const; \
  template void MaternSPDE<dim>::apply_fractional_power(const double, const Epetra_MultiVector &, \
                                                        Epetra_MultiVector &,                     \
                                                        Epetra_MultiVector &) const;              \
  template void MaternSPDE<dim>::sample_block_fractional(std::vector<VectorType> &,               \
                                                         const unsigned int, const unsigned int,  \
                                                         const std::uint64_t,                     \
                                                         const std::uint64_t) const;              \
  template void MaternSPDE<dim>::sample_fractional(const VectorType &, VectorType &) const; \
  template void MaternSPDE<dim>::apply_reduced_fractional(VectorType &) const;            \
  template void MaternSPDE<dim>::apply_inverse_reduced_fractional(VectorType &) const;
  DDO_INSTANTIATE_FRACTIONAL(2)
  DDO_INSTANTIATE_FRACTIONAL(3)
#undef DDO_INSTANTIATE_FRACTIONAL
} // namespace ddo
