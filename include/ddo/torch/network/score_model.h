#ifndef ddo_score_model_h
#define ddo_score_model_h

/**
 * @file
 * A score network bound to a function space, with everything training and
 * sampling need around it: the eigenbasis, the constraints, the mass-matrix
 * norm and the data normalization.
 *
 * @ingroup network
 */

#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_space.h>
#include <ddo/torch/network/network_geometry.h>
#include <ddo/torch/network/interface.h>
#include <ddo/lac/spectral_basis.h>

#include <torch/torch.h>

#include <memory>
#include <string>

namespace ddo
{
  /**
   * A ScoreNetwork bound to a serial (replicated) FunctionSpace.
   *
   * - forward() is the network followed by the projection onto
   *   constraint-satisfying vectors (\f$PR\f$: a constrained DoF, e.g. the
   *   periodic image of a node, takes the value its constraint gives it).
   *   The network sees coordinates, which differ between a node and its
   *   periodic image, so without this step an output would not be an FE
   *   function of the space.
   * - mass_norm_squared() is \f$r^T M r\f$ per batch row, differentiable:
   *   the loss of denoising score matching is measured in the mesh L² norm.
   * - The network works on normalized data \f$(u-\mu)/s\f$ (see
   *   DataNormalization); the noise covariance is defined in those units.
   *
   * The eigenbasis is computed once per mesh (or read from the disk cache).
   */
  template <int dim>
  class ScoreModel
  {
  public:
    /**
     * Binds @p network to @p space with @p n_modes eigenpairs (computed, or
     * read from @p cache_directory when not empty). Computation happens in
     * the network's dtype.
     */
    ScoreModel(std::shared_ptr<ScoreNetwork<dim>> network,
               const FunctionSpace<dim> &         space,
               const unsigned int                 n_modes,
               const std::string &                cache_directory = "");

    /** F(v, σ) for normalized `[B, N]` v and `[B]` σ, differentiable, network dtype. */
    torch::Tensor
    forward(const torch::Tensor &v, const torch::Tensor &sigma) const;

    /** \f$r_b^T M r_b\f$ for each row of `[B, N]` @p r (differentiable). */
    torch::Tensor
    mass_norm_squared(const torch::Tensor &r) const;

    /**
     * F(v, σ) without gradients, for samplers: float64 `[B, N]` in and out,
     * evaluated in chunks of at most @p max_batch rows.
     */
    torch::Tensor
    evaluate(const torch::Tensor &v, const torch::Tensor &sigma, const unsigned int max_batch = 64) const;

    /**
     * \f$E[(\phi_k^T M u)^2]\f$ over the rows u of @p rows `[B, N]`:
     * `[K]`, float64 (the per-mode second moments of a set of functions).
     */
    torch::Tensor
    mode_second_moments(const torch::Tensor &rows) const;

    /** The eigenvalues \f$\lambda_k\f$ of the bound eigenbasis: `[K]`, float64. */
    torch::Tensor
    eigenvalue_tensor() const;

    /** The network. */
    ScoreNetwork<dim> &
    network() const;

    /** The space. */
    const FunctionSpace<dim> &
    space() const;

    /** The eigenbasis. */
    const SpectralBasis<dim> &
    basis() const;

    /** Network dtype. */
    torch::Dtype
    dtype() const;

  private:
    std::shared_ptr<ScoreNetwork<dim>>  score_network;
    const FunctionSpace<dim> &          function_space;
    std::unique_ptr<SpectralBasis<dim>> spectral_basis;
    std::shared_ptr<NetworkGeometry>    geometry;
    torch::Tensor                       mass;        // sparse COO [N, N]
    torch::Tensor                       constraints; // sparse COO [N, N] (P R), undefined if none
  };
} // namespace ddo

#endif
