#ifndef ddo_spectral_neural_operator_h
#define ddo_spectral_neural_operator_h

/**
 * @file
 * The default score network "spectral_operator".
 *
 * @ingroup network
 */

#include <ddo/torch/network/interface.h>

namespace ddo
{
  /**
   * A spectral neural operator on the mesh (cf. FNO, NORM), parametrized
   * through a denoiser with a skip connection (EDM, Karras et al. 2022):
   * \f[
   *   F(v,\sigma) = \frac{D(v,\sigma) - v}{\sigma^2},\quad
   *   D = c_\text{skip} v + c_\text{out}\,\mathrm{Net}(c_\text{in} v, \log\sigma),
   * \f]
   * \f$c_\text{skip} = \sigma_d^2/(\sigma^2+\sigma_d^2)\f$,
   * \f$c_\text{out} = \sigma\sigma_d/\sqrt{\sigma^2+\sigma_d^2}\f$,
   * \f$c_\text{in} = 1/\sqrt{\sigma^2+\sigma_d^2}\f$, \f$\sigma_d\f$ the data
   * scale. Net: lifting of (value, coordinates) to `Width` channels; `Blocks`
   * blocks
   * \f[
   *   h \leftarrow \mathrm{GELU}\Big(\mathrm{FiLM}_\sigma\big(\mathrm{Norm}(
   *     W h + \Phi\,[\textstyle\sum_j B_j(\sqrt{\lambda}) W_j]\,\Phi^T M h)\big)\Big) + h
   * \f]
   * and a pointwise projection. \f$B_j\f$ are `Filter basis size` Gaussian
   * bumps in \f$\omega = \sqrt\lambda\f$ on \f$[0, \omega_\text{max}]\f$
   * (\f$\omega_\text{max}\f$ = \f$\sqrt{\lambda_K}\f$ of the first mesh bound,
   * then frozen: a buffer saved with the weights); Norm is an instance norm
   * whose means are quadratures (\f$\int h / |\Omega|\f$); FiLM scales and
   * shifts come from an MLP of Fourier features of \f$\log\sigma\f$.
   *
   * With `Skip connection = gaussian` the scalar skip \f$c_\text{skip} v\f$
   * is replaced by the exact denoiser of a Gaussian whose covariance is
   * diagonal in the eigenbasis:
   * \f[
   *   D = \Phi\,[r_k(\sigma)\,a_k] + r_\infty(\sigma)\,(v - \Phi a)
   *       + c_\text{out}\,\mathrm{Net},\quad a = \Phi^T M v,\quad
   *   r(\sigma) = \frac{s(\lambda)}{s(\lambda) + \sigma^2 c(\lambda)},
   * \f]
   * \f$s\f$ and \f$c\f$ the per-mode variances of the data and of the noise
   * (set_mode_variances(), from the training data and noise), stored as
   * tables of \f$\log s\f$, \f$\log c\f$ on a uniform grid in
   * \f$\omega = \sqrt\lambda\f$ (smoothed over neighbouring modes) and
   * interpolated at the eigenvalues of whatever mesh the network is bound
   * to; \f$r_\infty\f$ is the ratio at the largest bound eigenvalue,
   * applied to the part of v outside the modes. With this skip
   * \f$c_\text{out} = \sigma_d\sigma^2/(\sigma^2+\sigma_d^2)\f$: the
   * residual \f$D - D_\text{Gauss}\f$ vanishes like \f$\sigma^2\f$ as
   * \f$\sigma\to 0\f$ (both are \f$v + \sigma^2 C\f$ times a score). The noise-dominated part of
   * the score is then exact, and the network learns the non-Gaussian rest:
   * in the modes where the data are much smoother than the noise, a small
   * relative error of the scalar skip's network output compounds over the
   * probability-flow ODE into a large error of the sampled variance.
   *
   * With `Eigenvalue correction = blended mass` the filters and the skip
   * tables are functions of NetworkGeometry::blended_mass_eigenvalues()
   * instead of \f$\lambda_k\f$: for linear elements these move less
   * between meshes (the consistent-mass P1 eigenvalues lie
   * \f$O(h^2\lambda)\f$ above the continuum ones, 7% at \f$\sqrt\lambda
   * \approx 26\f$ on the Navier-Stokes training mesh; blended, 3%), so
   * sharper filters keep their meaning on another mesh.
   *
   * Discretization-agnostic by construction: no parameter is indexed by a
   * node or an eigen-index; every reduction is a quadrature or
   * \f$\Phi^TM\f$; the filter is a function of \f$\lambda\f$, so it is blind
   * to eigenvector signs and rotations in degenerate eigenspaces and works
   * with any number of modes.
   */
  template <int dim>
  class SpectralNeuralOperator : public ScoreNetwork<dim>
  {
  public:
    /** Declares Width, Blocks, Filter basis size, Fourier features, Data
     * scale, Skip connection, Skip table size, Eigenvalue correction,
     * Precision, Seed. */
    static void
    declare_parameters(ParameterHandler &prm);
    void
    parse_parameters(ParameterHandler &prm) override;

    /** Architecture hyper-parameters. */
    struct Settings
    {
      unsigned int width             = 32;
      unsigned int blocks            = 4;
      unsigned int filter_basis_size = 8;
      unsigned int fourier_features  = 8;
      double       data_scale        = 1.;
      /** The Gaussian per-mode skip connection instead of the scalar one. */
      bool         gaussian_skip     = false;
      /** Filters and skip tables in NetworkGeometry::blended_mass_eigenvalues()
       * instead of the eigenvalues (linear elements). */
      bool         blended_mass_eigenvalues = false;
      /** Grid points of the Gaussian skip's tables in omega. */
      unsigned int skip_table_size   = 32;
      /** The Gaussian skip on every mode of the mesh (see the parameter `Skip spectrum`). */
      bool         whole_spectrum_skip    = false;
      /** Its polynomial degree (0: automatic). */
      unsigned int skip_polynomial_degree = 0;
      /** With the whole-spectrum skip: the network's output above the K modes
       * passes through the same Wiener polynomial as v (see the parameter
       * `Network output above modes`). */
      bool         wiener_filtered_output = true;
      /** With the whole-spectrum skip: Chebyshev iterations of the mass
       * correction (0: the lumped operator; see the parameter `Skip mass iterations`). */
      unsigned int skip_mass_iterations = 0;
      /** With the whole-spectrum skip: the polynomials' interval ends at
       * whole_spectrum::checked_eigenvalue_bound() instead of the rigorous
       * bound (see the parameter `Skip eigenvalue bound`). */
      bool         estimated_eigenvalue_bound = false;
      unsigned int seed              = 1;
      torch::Dtype precision         = torch::kFloat32;
    };

    /** Sets the settings directly (instead of parse_parameters()). */
    void
    set_settings(const Settings &settings);

    void
    build(torch::Dtype dtype) override;
    void
    bind(std::shared_ptr<const NetworkGeometry> geometry) override;
    torch::Tensor
    forward(const torch::Tensor &v, const torch::Tensor &sigma) override;
    std::string
    architecture() const override;
    torch::Dtype
    dtype() const override;
    bool
    uses_mode_variances() const override;
    /** Fills the tables of the Gaussian skip (kernel smoothing in omega). */
    void
    set_mode_variances(const torch::Tensor &eigenvalues,
                       const torch::Tensor &data_variance,
                       const torch::Tensor &noise_variance) override;

    bool
    uses_spectrum_variances() const override;
    bool
    spectrum_variances_in_consistent_modes() const override;
    /** Fills the whole-spectrum tables of the Gaussian skip (4 × `Skip table size` points). */
    void
    set_spectrum_variances(const torch::Tensor &eigenvalues,
                           const torch::Tensor &data_variance,
                           const torch::Tensor &noise_variance) override;

    /** The settings in use. */
    const Settings &
    get_settings() const;

  private:
    torch::Tensor
    filter_basis(const torch::Tensor &eigenvalues) const;
    /** The whole-spectrum polynomial's degree for the interval [0, @p eigenvalue_bound]. */
    unsigned int
    whole_spectrum_degree(const double eigenvalue_bound) const;
    /** D^T `[N, B]` with the Gaussian skip, for v^T `[N, B]`, sigma `[B, 1]`
     * and the network's scaled output c_out Net^T `[N, B]`. */
    torch::Tensor
    gaussian_skip(const torch::Tensor &v_transposed,
                  const torch::Tensor &sigma,
                  const torch::Tensor &network_transposed) const;

    Settings                               settings;
    std::shared_ptr<const NetworkGeometry> geometry;
    /** The upper end of the whole-spectrum polynomials' interval on the bound
     * geometry (set by bind(); 0 without the whole-spectrum skip). */
    double spectrum_bound = 0;
    /** The spectral variable of the bound geometry `[K]`: its eigenvalues,
     * or their blended-mass correction. */
    torch::Tensor                          spectral_eigenvalues;
    torch::nn::Linear                      lift{nullptr}, project_hidden{nullptr}, project_out{nullptr};
    torch::nn::Linear                      sigma_hidden{nullptr}, sigma_out{nullptr};
    torch::nn::ModuleList                  pointwise{nullptr};
    std::vector<torch::Tensor>             spectral_weights; // [basis, width, width] per block
    torch::Tensor                          frequency_scale;  // buffer: omega_max
    torch::Tensor                          fourier_frequencies;
    /** Buffers of the Gaussian skip: log s and log c on the omega grid, and
     * whether they were set (1) or not (0). */
    torch::Tensor skip_log_data_variance, skip_log_noise_variance, skip_tables_set;
    /** Buffers of the whole-spectrum skip: log s and log c on the omega grid
     * of the training mesh's whole spectrum, and [omega_max, set]. */
    torch::Tensor skip_whole_log_data, skip_whole_log_noise, skip_whole_state;
    std::int64_t
    whole_table_size() const;
  };
} // namespace ddo

#endif
