#ifndef ddo_l2_white_noise_covariance_h
#define ddo_l2_white_noise_covariance_h

/**
 * @file
 * The covariance model "white_noise": the identity covariance operator in
 * L2, discretized. For ablations only.
 *
 * @ingroup covariance
 */

#include <deal.II/lac/trilinos_precondition.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>

#include <ddo/covariance/interface.h>
#include <ddo/covariance/white_noise.h>

#include <memory>

namespace ddo
{
  /**
   * The FE discretization of L2 white noise: the field \f$\xi_h\f$ with
   * \f$E[(\xi_h, f)(\xi_h, g)] = (f, g)\f$ for FE functions f, g, i.e.
   * coefficient covariance \f$\tilde C = \tilde M^{-1}\f$ (\f$\tilde M\f$ the
   * mass matrix on the free DoFs). Sampling: \f$\xi = \tilde M^{-1} b\f$ with
   * the exact white noise load \f$\mathrm{Cov}(b) = \tilde M\f$ (WhiteNoise),
   * one CG solve with a Jacobi preconditioner (M is well conditioned
   * independently of h).
   *
   * Not trace class: the expected squared L2 norm of a sample equals the
   * number of free DoFs and grows without bound under refinement. This is
   * the "unpreconditioned" noise of ablation studies; initialize() prints a
   * warning saying so.
   */
  template <int dim>
  class L2WhiteNoiseCovariance : public CovarianceOperator<dim>
  {
  public:
    void
    initialize(const FunctionSpace<dim> &space) override;

    using CovarianceOperator<dim>::sample;
    void
    sample(std::vector<VectorType> &out,
           const std::uint64_t      seed,
           const unsigned int       first_sample_index) const override;
    /** \f$P\tilde M^{-1}Rv\f$ (one CG solve). */
    void
    apply(const VectorType &in, VectorType &out) const override;
    /** \f$P\tilde M R v\f$. */
    void
    apply_inverse(const VectorType &in, VectorType &out) const override;
    /** \f$(Rv)^T\tilde M (Rv)\f$ = the squared L2 norm for FE functions. */
    double
    cameron_martin_norm_squared(const VectorType &v) const override;
    /** Exact diagonal of \f$P\tilde M^{-1}P^T\f$: one solve per DoF (small problems). */
    VectorType
    pointwise_variance() const override;

  private:
    void
    solve_mass(const VectorType &rhs, VectorType &solution) const;
    void
    restrict_to_free(VectorType &v) const;

    const FunctionSpace<dim> *                          space = nullptr;
    std::unique_ptr<WhiteNoise<dim>>                    noise;
    TrilinosWrappers::SparseMatrix                      mass;
    TrilinosWrappers::PreconditionJacobi                jacobi;
  };
} // namespace ddo

#endif
