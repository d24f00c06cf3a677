#ifndef ddo_score_network_h
#define ddo_score_network_h

/**
 * @file
 * The plugin kind "score network": a discretization-agnostic neural operator
 * that approximates the preconditioned score \f$F(v, \sigma) = C\nabla\log
 * p_\sigma(v)\f$ of noisy FE functions (DESIGN.md §1–2).
 *
 * @ingroup network
 */

#include <deal.II/base/parameter_handler.h>

#include <ddo/torch/network/network_geometry.h>
#include <ddo/base/plugin_registry.h>

#include <torch/torch.h>

#include <memory>
#include <string>

namespace ddo
{
  using namespace dealii;

  /**
   * Interface of score networks. A network is a torch::nn::Module whose
   * parameters do not depend on the mesh: it is bound to a NetworkGeometry
   * (coordinates, quadrature weights, eigenbasis) and can be re-bound to
   * another mesh of the same dimension without touching its weights.
   *
   * Life cycle: create (e.g. from ScoreNetworkRegistry), parse_parameters(),
   * build() (creates the layers; deterministic from the seed parameter),
   * bind(), then forward() as often as needed; bind() again for another mesh.
   */
  class ScoreNetworkBase : public torch::nn::Module
  {
  public:
    virtual ~ScoreNetworkBase() = default;

    /** Reads the architecture parameters. */
    virtual void
    parse_parameters(ParameterHandler &prm) = 0;

    /** Creates the layers in @p dtype (float32 or float64). */
    virtual void
    build(torch::Dtype dtype) = 0;

    /** Binds to a mesh. May be called again with another mesh. */
    virtual void
    bind(std::shared_ptr<const NetworkGeometry> geometry) = 0;

    /**
     * \f$F(v, \sigma)\f$ for a batch: @p v `[B, n_local]` coefficient vectors
     * (locally owned rows), @p sigma `[B]` noise levels. Returns `[B, n_local]`.
     * Collective on distributed meshes.
     */
    virtual torch::Tensor
    forward(const torch::Tensor &v, const torch::Tensor &sigma) = 0;

    /**
     * The architecture as `key = value` lines (stored in checkpoints; a
     * network made from these lines has the same parameter shapes).
     */
    virtual std::string
    architecture() const = 0;

    /** The dtype of the parameters. */
    virtual torch::Dtype
    dtype() const = 0;

    /**
     * Whether forward() uses a Gaussian model of the data per eigenmode,
     * which set_mode_variances() provides (the trainer calls it before the
     * first step; the values are buffers, saved in checkpoints).
     */
    virtual bool
    uses_mode_variances() const
    {
      return false;
    }

    /**
     * Per-mode second moments of the (normalized) data,
     * \f$s_k = E[(\phi_k^T M u)^2]\f$, and of the noise,
     * \f$c_k = E[(\phi_k^T M \xi)^2]\f$, at the @p eigenvalues of the bound
     * mesh (all `[K]`, float64). Networks for which uses_mode_variances() is
     * false ignore them.
     */
    virtual void
    set_mode_variances(const torch::Tensor & /*eigenvalues*/,
                       const torch::Tensor & /*data_variance*/,
                       const torch::Tensor & /*noise_variance*/)
    {}

    /**
     * Whether forward() also needs the data's and the noise's variances over
     * the whole spectrum of the training mesh, in the eigenpairs of the
     * lumped operator \f$M_L^{-1}K\f$ (ddo::lumped_eigenpairs()), which
     * set_spectrum_variances() provides.
     */
    virtual bool
    uses_spectrum_variances() const
    {
      return false;
    }

    /**
     * Second moments of the data and the noise in every eigenpair of the
     * lumped operator of the training mesh, at its @p eigenvalues (all
     * `[n_free]`, float64).
     */
    virtual void
    set_spectrum_variances(const torch::Tensor & /*eigenvalues*/,
                           const torch::Tensor & /*data_variance*/,
                           const torch::Tensor & /*noise_variance*/)
    {}

    /**
     * Whether those variances are wanted in the eigenpairs of the
     * consistent pencil (K, M) instead of the lumped operator's (a network
     * whose polynomials act on the mass-corrected operator).
     */
    virtual bool
    spectrum_variances_in_consistent_modes() const
    {
      return false;
    }
  };


  /** Score networks in dimension @p dim (the registry is per dimension). */
  template <int dim>
  class ScoreNetwork : public ScoreNetworkBase
  {
  public:
    /** Name of the plugin kind, used in messages. */
    static std::string
    plugin_kind()
    {
      return "score network (" + std::to_string(dim) + "d)";
    }

    /** Declares the parameters (none by default). */
    static void
    declare_parameters(ParameterHandler &)
    {}
  };

  /** The registry of score networks in dimension @p dim. */
  template <int dim>
  using ScoreNetworkRegistry = PluginRegistry<ScoreNetwork<dim>>;
} // namespace ddo

/**
 * Registers the class template @p Class as a score network for dim = 2 and 3 and
 * instantiates it for both. Use at global scope in a .cc file.
 */
#define DDO_REGISTER_SCORE_NETWORK(Class, name, description) \
  DDO_REGISTER_PLUGIN_FOR_EACH_DIM(::ddo::ScoreNetwork, Class, name, description)

#endif
