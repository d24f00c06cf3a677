#ifndef ddo_network_geometry_h
#define ddo_network_geometry_h

/**
 * @file
 * What a score network needs to know of a mesh, as torch tensors: the
 * bridge between a FunctionSpace (and its SpectralBasis) and the network.
 *
 * @ingroup network
 */

#include <deal.II/base/mpi.h>

#include <ddo/function_space/function_space.h>
#include <ddo/lac/spectral_basis.h>

#include <torch/torch.h>

#include <memory>

namespace ddo
{
  /**
   * The locally owned rows of the node-indexed data of a mesh, in the order
   * of the locally owned DoFs (so a row of a `[B, n_local]` tensor from
   * torch_bridge lines up with them):
   * - `coordinates` `[n_local, dim]`: support points;
   * - `weights` `[n_local]`: quadrature weights \f$w_i = \int\psi_i\f$;
   * - `modes` `[n_local, K]`: M-orthonormal eigenvectors \f$\Phi\f$;
   * - `mass_modes` `[n_local, K]`: the rows of \f$M\Phi\f$, so that
   *   \f$\Phi^T M v\f$ is a local product plus one all-reduce;
   * - `eigenvalues` `[K]`.
   *
   * All global reductions of a network go through integrate() and
   * project(): quadratures, differentiable, all-reduced across the ranks of
   * a distributed mesh. Nothing is a plain sum over nodes.
   */
  struct NetworkGeometry
  {
    unsigned int  dimension = 0;
    torch::Tensor coordinates;
    torch::Tensor weights;
    torch::Tensor modes;
    torch::Tensor mass_modes;
    torch::Tensor eigenvalues;
    /** \f$(M\Phi)^T\f$ `[K, n_local]`, contiguous, for project(). */
    torch::Tensor mass_modes_transposed;
    double        volume = 0;
    /**
     * The lumped operator \f$M_L^{-1}K\f$ on constraint-satisfying rows
     * (ddo::LumpedOperator) as a sparse `[n_local, n_local]` tensor, and an
     * upper bound of its eigenvalues; for the whole-spectrum filters of a
     * network. Serial meshes only (undefined on distributed ones).
     */
    torch::Tensor lumped_operator;
    double        lumped_eigenvalue_bound = 0;
    /**
     * The lumped-mass preconditioned mass matrix \f$M_L^{-1}M\f$ in the
     * same form (ddo::make_lumped_mass_operator()) and a lower bound of its
     * eigenvalues (its upper bound is 1): polynomials of it approximate
     * \f$M^{-1}M_L\f$, which turns the lumped operator into the consistent
     * \f$M^{-1}K\f$. Serial meshes with elements of degree 1 only.
     */
    torch::Tensor lumped_mass_operator;
    double        mass_eigenvalue_lower_bound = 0;
    /** A rigorous upper bound of the eigenvalues of \f$M^{-1}K\f$ (the largest
     * cell's, ddo::cell_eigenvalue_bound()), set with lumped_mass_operator. */
    double        consistent_eigenvalue_bound = 0;
    /** Polynomial degree of the finite element (the eigenvalue correction
     * of blended_mass_eigenvalues() is for degree 1). */
    unsigned int fe_degree = 1;
    /** Ranks that share the rows (MPI_COMM_SELF for a replicated mesh). */
    MPI_Comm communicator = MPI_COMM_SELF;

    /** Number of locally owned rows. */
    std::int64_t
    n_local() const
    {
      return weights.size(0);
    }

    /** Number of modes K. */
    std::int64_t
    n_modes() const
    {
      return eigenvalues.size(0);
    }

    /** \f$\int f\f$ per batch and channel: `[B, n_local, C]` to `[B, C]`. */
    torch::Tensor
    integrate(const torch::Tensor &f) const;

    /** \f$\Phi^T M h\f$: `[B, n_local, C]` to `[B, K, C]`. */
    torch::Tensor
    project(const torch::Tensor &h) const;

    /** \f$\Phi c\f$: `[B, K, C]` to `[B, n_local, C]`. */
    torch::Tensor
    expand(const torch::Tensor &c) const;

    /**
     * The eigenvalues corrected for the discretization error of linear
     * elements: the Rayleigh quotient of each mode with the average of the
     * consistent and the lumped mass matrix,
     * \f[
     *   \tilde\lambda_k = \frac{\phi_k^T K \phi_k}{\phi_k^T \tfrac12(M + M_L)\phi_k}
     *   = \frac{2\lambda_k}{1 + \sum_i w_i \phi_{ik}^2},
     * \f]
     * `[K]`. With the consistent mass the P1 eigenvalues lie
     * \f$O(h^2\lambda)\f$ above the continuum ones, with the lumped mass
     * \f$O(h^2\lambda)\f$ below; the blend cancels the leading term, so the
     * same continuum mode gets (nearly) the same \f$\tilde\lambda\f$ on
     * every mesh. Collective on distributed meshes.
     */
    torch::Tensor
    blended_mass_eigenvalues() const;

    /** The same geometry with rows reordered: row i of the result is row
     * permutation[i] of this one (a renumbering of the DoFs). */
    NetworkGeometry
    permuted(const torch::Tensor &permutation) const;

    /** A copy in another dtype. */
    NetworkGeometry
    to(torch::Dtype dtype) const;
  };

  /**
   * Sets the lumped operators of @p geometry (NetworkGeometry::lumped_operator
   * and, for elements of degree 1, NetworkGeometry::lumped_mass_operator with
   * their bounds) from the serial @p space, in @p dtype: all that the
   * whole-spectrum polynomials (ddo::whole_spectrum) need of a mesh, without
   * its eigenmodes.
   */
  template <int dim>
  void
  add_lumped_operators(NetworkGeometry &geometry, const FunctionSpace<dim> &space, torch::Dtype dtype);

  /**
   * The geometry of @p space with the modes of @p basis, in @p dtype.
   * The lumped operators (serial meshes; the whole-spectrum filters of a
   * network) only @p with_lumped_operators: their set-up costs a pass over
   * the matrices and a small eigenproblem per cell, which networks that do
   * not use them are spared. Collective on distributed meshes.
   */
  template <int dim>
  std::shared_ptr<NetworkGeometry>
  make_network_geometry(const FunctionSpace<dim> & space,
                        const SpectralBasis<dim> &basis,
                        torch::Dtype              dtype                 = torch::kFloat32,
                        const bool                with_lumped_operators = false);

  /**
   * Sum of @p x over the ranks of @p comm, differentiable: the gradient of
   * the result (replicated on every rank) is summed back over the ranks.
   * The identity on MPI_COMM_SELF or a single rank.
   */
  torch::Tensor
  all_reduce_sum(const torch::Tensor &x, MPI_Comm comm);
} // namespace ddo

#endif
