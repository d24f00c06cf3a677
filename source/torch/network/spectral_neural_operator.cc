#include <ddo/torch/network/spectral_neural_operator.h>
#include <ddo/torch/network/whole_spectrum_skip.h>

#include <sstream>

namespace ddo
{
  namespace
  {
    /**
     * The data's and the noise's second moments of @p what (one per
     * eigenvalue, @p n of them) as float64 vectors, checked (finite, the
     * noise's positive, the data's non-negative); modes with (almost) no
     * data variance (e.g. the constant of mean-free data) get a floor of
     * 1e-12 of the largest, so that log s is finite.
     */
    std::pair<torch::Tensor, torch::Tensor>
    checked_variances(const torch::Tensor &data_variance, const torch::Tensor &noise_variance,
                      const std::int64_t n, const std::string &what)
    {
      AssertThrow(n > 0 && data_variance.numel() == n && noise_variance.numel() == n,
                  ExcMessage("spectral_operator: " + what + " needs one data and one noise variance per "
                             "eigenvalue."));
      torch::Tensor s = data_variance.to(torch::kFloat64).flatten();
      torch::Tensor c = noise_variance.to(torch::kFloat64).flatten();
      AssertThrow(torch::isfinite(s).all().item<bool>() && torch::isfinite(c).all().item<bool>() &&
                    (c > 0).all().item<bool>() && (s >= 0).all().item<bool>(),
                  ExcMessage("spectral_operator: the variances of " + what +
                             " must be finite, the noise's positive and the data's non-negative."));
      return {torch::clamp_min(s, 1e-12 * s.max().item<double>() + 1e-300), c};
    }
  } // namespace


  template <int dim>
  void
  SpectralNeuralOperator<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Width", "32", Patterns::Integer(1), "Channels of the hidden layers.");
    prm.declare_entry("Blocks", "4", Patterns::Integer(1), "Number of spectral blocks.");
    prm.declare_entry("Filter basis size", "8", Patterns::Integer(2),
                      "Smooth functions of sqrt(lambda) that span each spectral filter.");
    prm.declare_entry("Fourier features", "8", Patterns::Integer(1),
                      "Frequencies of the Fourier features of log(sigma).");
    prm.declare_entry("Data scale", "1", Patterns::Double(0),
                      "sigma_d of the denoiser parametrization: the typical size of "
                      "the (normalized) data.");
    prm.declare_entry("Skip connection", "scalar", Patterns::Selection("scalar|gaussian"),
                      "scalar: D = c_skip v + c_out Net (EDM); gaussian: the scalar skip is "
                      "replaced by the exact denoiser of a Gaussian with the data's and the "
                      "noise's per-eigenmode variances (measured by the trainer), so the "
                      "network learns only the non-Gaussian rest.");
    prm.declare_entry("Skip spectrum", "modes", Patterns::Selection("modes|whole"),
                      "Where the Gaussian skip acts as the exact Gaussian denoiser. modes: on the "
                      "K eigenmodes; every mode above them gets the ratio of the K-th. whole: on "
                      "every mode of the mesh, above the K modes as a Chebyshev polynomial of the "
                      "lumped operator M_L^-1 K (sparse products, no eigenvectors) with the data's "
                      "and the noise's variances over the training mesh's whole spectrum "
                      "(measured by the trainer; training meshes of at most 5000 free DoFs; "
                      "serial meshes).");
    prm.declare_entry("Skip polynomial degree", "0", Patterns::Integer(0),
                      "Degree of that polynomial (0: 6 pi sqrt(mu_max) / sqrt(lambda_K), which "
                      "resolves a twelfth of the K-th mode's scale; it grows like 1/h).");
    prm.declare_entry("Network output above modes", "wiener", Patterns::Selection("wiener|free"),
                      "With 'Skip spectrum = whole': what becomes of the network's output above "
                      "the K modes. wiener: it passes through the same Wiener polynomial as v, "
                      "so that a mode whose data variance is far below the noise's gets "
                      "(almost) nothing from the network either; free: it is added as it is "
                      "(doc/navier_stokes_results.md, \"The whole-spectrum skip with the network's "
                      "output filtered\").");
    prm.declare_entry("Skip mass iterations", "0", Patterns::Integer(0, 16),
                      "With 'Skip spectrum = whole': 0 applies the polynomial in the lumped operator "
                      "M_L^-1 K, whose eigenvectors differ from the consistent modes at the fine "
                      "scales (a Gaussian target's top bands came out 4-8% high); m > 0 corrects "
                      "it to M^-1 K with m Chebyshev iterations of M_L^-1 M (error 1/T_m(5/3) on "
                      "linear triangles: 0.025 for m = 4) at m + 1 sparse products per degree, and "
                      "the trainer measures the variances in the consistent modes. Degree 1 only.");
    prm.declare_entry("Skip eigenvalue bound", "rigorous", Patterns::Selection("rigorous|estimated"),
                      "With 'Skip spectrum = whole': where the polynomial's interval [0, mu_max] ends "
                      "(the automatic degree grows like sqrt(mu_max)). rigorous: the largest cell's "
                      "eigenvalue bound, which can lie far above the spectrum on unstructured "
                      "meshes; estimated: 1.1 times a power-iteration estimate of the largest "
                      "eigenvalue, taken only where a Chebyshev check on the mesh confirms that no "
                      "eigenvalue lies above it (else the rigorous bound): a lower degree, so a "
                      "faster network, with the same resolution in sqrt(mu).");
    prm.declare_entry("Skip table size", "32", Patterns::Integer(2),
                      "Grid points in sqrt(lambda) of the Gaussian skip's tables of the "
                      "data's and the noise's per-mode variances (kernel smoothing over one "
                      "grid spacing): more points resolve neighbouring eigenvalue shells.");
    prm.declare_entry("Eigenvalue correction", "none", Patterns::Selection("none|blended mass"),
                      "The spectral variable of the filters and the skip tables. none: the "
                      "eigenvalues lambda_k (K phi = lambda M phi); blended mass: lambda_k "
                      "corrected by the Rayleigh quotient with (M + M_lumped)/2, which "
                      "cancels most of the O(h^2) error of linear elements, so that a mode "
                      "gets nearly the same value on every mesh. Degree 1 only.");
    prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of the weight initialization.");
    prm.declare_entry("Precision", "float32", Patterns::Selection("float32|float64"),
                      "Floating point type of the network.");
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::parse_parameters(ParameterHandler &prm)
  {
    Settings s;
    s.width             = prm.get_integer("Width");
    s.blocks            = prm.get_integer("Blocks");
    s.filter_basis_size = prm.get_integer("Filter basis size");
    s.fourier_features  = prm.get_integer("Fourier features");
    s.data_scale        = prm.get_double("Data scale");
    s.gaussian_skip     = prm.get("Skip connection") == "gaussian";
    s.skip_table_size   = prm.get_integer("Skip table size");
    s.whole_spectrum_skip    = prm.get("Skip spectrum") == "whole";
    s.skip_polynomial_degree = prm.get_integer("Skip polynomial degree");
    s.wiener_filtered_output = prm.get("Network output above modes") == "wiener";
    s.skip_mass_iterations   = prm.get_integer("Skip mass iterations");
    s.estimated_eigenvalue_bound = prm.get("Skip eigenvalue bound") == "estimated";
    AssertThrow(!s.whole_spectrum_skip || s.gaussian_skip,
                ExcMessage("spectral_operator: 'Skip spectrum = whole' needs 'Skip connection = gaussian'."));
    s.blended_mass_eigenvalues = prm.get("Eigenvalue correction") == "blended mass";
    s.seed              = prm.get_integer("Seed");
    s.precision         = prm.get("Precision") == "float64" ? torch::kFloat64 : torch::kFloat32;
    AssertThrow(s.data_scale > 0, ExcMessage("spectral_operator: 'Data scale' must be positive."));
    set_settings(s);
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::set_settings(const Settings &new_settings)
  {
    settings = new_settings;
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::build(torch::Dtype dtype)
  {
    settings.precision = dtype;
    torch::manual_seed(settings.seed);
    const int64_t w = settings.width;
    lift            = this->register_module("lift", torch::nn::Linear(1 + dim, w));
    pointwise       = this->register_module("pointwise", torch::nn::ModuleList());
    for (unsigned int b = 0; b < settings.blocks; ++b)
      {
        // No bias: the instance norm that follows removes any constant.
        pointwise->push_back(torch::nn::Linear(torch::nn::LinearOptions(w, w).bias(false)));
        spectral_weights.push_back(this->register_parameter(
          "spectral_" + std::to_string(b),
          torch::randn({static_cast<int64_t>(settings.filter_basis_size), w, w}) /
            (w * std::sqrt(double(settings.filter_basis_size)))));
      }
    const int64_t n_features = 2 * settings.fourier_features + 1;
    sigma_hidden = this->register_module("sigma_hidden", torch::nn::Linear(n_features, 4 * w));
    sigma_out    = this->register_module("sigma_out", torch::nn::Linear(4 * w, 2 * w * settings.blocks));
    // Start with FiLM = identity: zero output layer of the sigma MLP.
    torch::NoGradGuard no_grad;
    sigma_out->weight.zero_();
    sigma_out->bias.zero_();
    project_hidden = this->register_module("project_hidden", torch::nn::Linear(w, 2 * w));
    project_out    = this->register_module("project_out", torch::nn::Linear(2 * w, 1));
    frequency_scale     = this->register_buffer("frequency_scale", torch::zeros({1}));
    fourier_frequencies = this->register_buffer(
      "fourier_frequencies",
      torch::pow(2., torch::arange(static_cast<int64_t>(settings.fourier_features)).to(torch::kFloat64)) *
        0.25);
    if (settings.gaussian_skip)
      {
        skip_log_data_variance =
          this->register_buffer("skip_log_data_variance",
                                torch::zeros({int64_t(settings.skip_table_size)}));
        skip_log_noise_variance =
          this->register_buffer("skip_log_noise_variance",
                                torch::zeros({int64_t(settings.skip_table_size)}));
        skip_tables_set = this->register_buffer("skip_tables_set", torch::zeros({1}));
      }
    if (settings.whole_spectrum_skip)
      {
        const int64_t T = whole_table_size();
        skip_whole_log_data  = this->register_buffer("skip_whole_log_data", torch::zeros({T}));
        skip_whole_log_noise = this->register_buffer("skip_whole_log_noise", torch::zeros({T}));
        // [omega_max of the tables, 1 once set]
        skip_whole_state = this->register_buffer("skip_whole_state", torch::zeros({2}));
      }
    this->to(dtype);
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::bind(std::shared_ptr<const NetworkGeometry> new_geometry)
  {
    AssertThrow(lift, ExcMessage("spectral_operator: call build() before bind()."));
    AssertThrow(new_geometry != nullptr && new_geometry->dimension == dim,
                ExcMessage("spectral_operator: the geometry is of dimension " +
                           std::to_string(new_geometry ? new_geometry->dimension : 0) +
                           ", the network of dimension " + std::to_string(dim) + "."));
    AssertThrow(new_geometry->n_modes() > 0, ExcMessage("spectral_operator: the geometry has no modes."));
    AssertThrow(!settings.blended_mass_eigenvalues || new_geometry->fe_degree == 1,
                ExcMessage("spectral_operator: 'Eigenvalue correction = blended mass' is for "
                           "linear elements; the mesh has elements of degree " +
                           std::to_string(new_geometry->fe_degree) + "."));
    geometry = std::make_shared<const NetworkGeometry>(new_geometry->to(settings.precision));
    {
      torch::NoGradGuard no_grad;
      spectral_eigenvalues =
        settings.blended_mass_eigenvalues ? geometry->blended_mass_eigenvalues() : geometry->eigenvalues;
    }
    if (frequency_scale.item<double>() == 0.)
      {
        // First binding (training mesh): fix the filter's frequency range.
        torch::NoGradGuard no_grad;
        frequency_scale.fill_(std::sqrt(std::max(spectral_eigenvalues.max().item<double>(), 1e-12)));
      }
    // (Without the lumped operators the whole-spectrum skip says so when it
    // is evaluated.)
    spectrum_bound = 0;
    if (settings.whole_spectrum_skip && geometry->lumped_operator.defined() &&
        (settings.skip_mass_iterations == 0 || geometry->lumped_mass_operator.defined()))
      {
        const whole_spectrum::SpectrumOperator op(*geometry, settings.skip_mass_iterations);
        spectrum_bound = settings.estimated_eigenvalue_bound ?
                           whole_spectrum::checked_eigenvalue_bound(
                             op, [&](const double bound) { return whole_spectrum_degree(bound); }) :
                           op.eigenvalue_bound();
      }
  }


  template <int dim>
  unsigned int
  SpectralNeuralOperator<dim>::whole_spectrum_degree(const double eigenvalue_bound) const
  {
    if (settings.skip_polynomial_degree > 0)
      return settings.skip_polynomial_degree;
    const double omega_floor = std::sqrt(std::max(spectral_eigenvalues.max().item<double>(), 0.));
    return whole_spectrum::automatic_degree(eigenvalue_bound, omega_floor);
  }


  template <int dim>
  torch::Tensor
  SpectralNeuralOperator<dim>::filter_basis(const torch::Tensor &eigenvalues) const
  {
    const int64_t n       = settings.filter_basis_size;
    torch::Tensor omega   = torch::sqrt(torch::clamp_min(eigenvalues, 0.)).unsqueeze(1); // [K,1]
    torch::Tensor spacing = frequency_scale / double(n - 1);
    torch::Tensor centers = torch::arange(n, eigenvalues.options()).unsqueeze(0) * spacing; // [1,n]
    return torch::exp(-0.5 * torch::pow((omega - centers) / spacing, 2));                  // [K,n]
  }


  template <int dim>
  torch::Tensor
  SpectralNeuralOperator<dim>::forward(const torch::Tensor &v_in, const torch::Tensor &sigma_in)
  {
    AssertThrow(geometry != nullptr, ExcMessage("spectral_operator: call bind() before forward()."));
    AssertThrow(v_in.dim() == 2 && v_in.size(1) == geometry->n_local(),
                ExcMessage("spectral_operator: input of shape [B, " + std::to_string(geometry->n_local()) +
                           "] expected."));
    AssertThrow(sigma_in.dim() == 1 && sigma_in.size(0) == v_in.size(0),
                ExcMessage("spectral_operator: one noise level per batch entry expected."));
    const auto    dtype = settings.precision;
    torch::Tensor v     = v_in.to(dtype);
    torch::Tensor s     = sigma_in.to(dtype).view({-1, 1});
    const double  sd2   = settings.data_scale * settings.data_scale;
    torch::Tensor c_in   = torch::rsqrt(s * s + sd2);
    torch::Tensor c_skip = sd2 / (s * s + sd2);
    // The Gaussian skip leaves a residual D - D_gauss that vanishes like
    // sigma^2 as sigma -> 0 (Tweedie: both denoisers are v + sigma^2 C times
    // a score), and is of the data's size for large sigma: then
    // c_out = sigma_d sigma^2 / (sigma^2 + sigma_d^2). (With the scalar skip
    // c_out ~ sigma: a fixed error of Net would grow like 1/sigma in F.)
    torch::Tensor c_out = settings.gaussian_skip ? settings.data_scale * s * s / (s * s + sd2) :
                                                   s * settings.data_scale * c_in;

    // The hidden state is node-major, h: [N, B, W] (contiguous), so that
    // every product with the mesh is one large GEMM over [N, B*W]:
    // Phi^T M h is [K, N] x [N, B*W], Phi c is [N, K] x [K, B*W], and the
    // quadratures of the norm are [1, N] x [N, B*W]. (With [B, N, W] these
    // are B small GEMMs or strided passes.) Pointwise layers act on the
    // last dimension in either layout.
    const int64_t batch = v.size(0), n = v.size(1), w = settings.width;
    const int64_t n_modes = geometry->n_modes();

    // Lifting of (c_in v, x): Linear(1 + dim, W) split into its value
    // column and the coordinate part, which does not depend on the batch.
    torch::Tensor value_weight = lift->weight.select(1, 0); // [W]
    torch::Tensor coordinate_part =
      torch::addmm(lift->bias, geometry->coordinates, lift->weight.slice(1, 1).t()); // [N,W]
    torch::Tensor h = torch::addcmul(coordinate_part.unsqueeze(1),
                                     (v * c_in).t().contiguous().unsqueeze(-1),
                                     value_weight)
                        .contiguous(); // [N,B,W]

    torch::Tensor log_sigma = torch::log(s);                                  // [B,1]
    torch::Tensor phase     = log_sigma * fourier_frequencies.unsqueeze(0);  // [B,F]
    torch::Tensor features  = torch::cat({torch::sin(phase), torch::cos(phase), log_sigma}, -1);
    torch::Tensor film =
      sigma_out(torch::gelu(sigma_hidden(features))).view({batch, int64_t(settings.blocks), 2, w});

    torch::Tensor basis              = filter_basis(spectral_eigenvalues); // [K,J]
    torch::Tensor quadrature_weights = geometry->weights.view({1, n});      // [1,N]
    // The quadrature w^T f / |Omega| per batch entry and channel: [1,B,W].
    // A [1, N] x [N, B*W] GEMM rather than a matrix-vector product with
    // f^T: the gradient w (dL/dq) is then a contiguous [N, B*W] product, not
    // a transposed view that makes every elementwise operation of the
    // backward pass strided (3x slower overall).
    const auto quadrature = [&](const torch::Tensor &f) {
      return all_reduce_sum(torch::mm(quadrature_weights, f.view({n, batch * w})),
                            geometry->communicator)
               .view({1, batch, w}) /
             geometry->volume;
    };
    for (unsigned int b = 0; b < settings.blocks; ++b)
      {
        const torch::Tensor &weights = spectral_weights[b]; // [J,W,W]
        torch::Tensor kernel = torch::mm(basis, weights.view({weights.size(0), -1}))
                                 .view({n_modes, w, w}); // [K,W,W]
        torch::Tensor coefficients =
          all_reduce_sum(torch::mm(geometry->mass_modes_transposed, h.view({n, batch * w})),
                         geometry->communicator)
            .view({n_modes, batch, w}); // Phi^T M h
        // Per mode k a W x W matrix: [K,B,W] x [K,W,W] -> [K,B,W].
        torch::Tensor filtered = torch::bmm(coefficients, kernel);
        // W h + Phi filtered: the expansion accumulates into the pointwise
        // product (one pass over [N,B,W] instead of two).
        torch::Tensor y =
          torch::addmm(torch::nn::functional::linear(h, pointwise[b]->as<torch::nn::Linear>()->weight)
                         .view({n, batch * w}),
                       geometry->modes,
                       filtered.view({n_modes, batch * w}))
            .view({n, batch, w});
        // Instance norm (means are quadratures) and FiLM in one pass: the
        // norm's 1/std and FiLM's scale (1 + a) multiply first, on [1,B,W].
        torch::Tensor centered = y - quadrature(y);
        torch::Tensor variance = quadrature(centered * centered);
        torch::Tensor film_b   = film.select(1, b); // [B,2,W]
        torch::Tensor scale    = torch::rsqrt(variance + 1e-6) * (1. + film_b.select(1, 0));
        y = torch::addcmul(film_b.select(1, 1).unsqueeze(0), centered, scale);
        h = h + torch::gelu(y);
      }
    torch::Tensor net = project_out(torch::gelu(project_hidden(h))).view({n, batch}); // [N,B]
    torch::Tensor denoised = settings.gaussian_skip ? gaussian_skip(v.t(), s, net * c_out.t()).t() :
                                                      c_skip * v + c_out * net.t();
    return ((denoised - v) / (s * s)).contiguous();
  }


  template <int dim>
  torch::Tensor
  SpectralNeuralOperator<dim>::gaussian_skip(const torch::Tensor &v_transposed,
                                             const torch::Tensor &sigma,
                                             const torch::Tensor &network_transposed) const
  {
    AssertThrow(skip_tables_set.item<double>() != 0.,
                ExcMessage("spectral_operator: 'Skip connection = gaussian' needs the per-mode "
                           "variances of the data and the noise. The trainer sets them before "
                           "its first step, and checkpoints store them: train the network, or "
                           "load a trained checkpoint."));
    // log s and log c at the bound eigenvalues: linear interpolation on the
    // uniform omega grid [0, omega_max], constant beyond its ends.
    const int64_t T        = settings.skip_table_size;
    torch::Tensor omega    = torch::sqrt(torch::clamp_min(spectral_eigenvalues, 0.));       // [K]
    torch::Tensor position = torch::clamp(omega / frequency_scale * double(T - 1), 0., double(T - 1));
    torch::Tensor lower    = torch::floor(position).clamp_max(double(T - 2));
    torch::Tensor fraction = (position - lower).unsqueeze(1);                              // [K,1]
    torch::Tensor index    = lower.to(torch::kInt64);
    const auto    at_modes = [&](const torch::Tensor &table) {
      return torch::lerp(table.index_select(0, index).unsqueeze(1),
                         table.index_select(0, index + 1).unsqueeze(1),
                         fraction);
    };
    torch::Tensor data_variance  = torch::exp(at_modes(skip_log_data_variance));  // [K,1]
    torch::Tensor noise_variance = torch::exp(at_modes(skip_log_noise_variance)); // [K,1]
    torch::Tensor ratio =
      data_variance / (data_variance + noise_variance * (sigma * sigma).view({1, -1})); // [K,B]
    torch::Tensor coefficients =
      all_reduce_sum(torch::mm(geometry->mass_modes_transposed, v_transposed), geometry->communicator);
    if (settings.whole_spectrum_skip)
      {
        // Above the modes: the Wiener ratio of every mode, as a polynomial of
        // the lumped operator applied to the rest of v.
        AssertThrow(skip_whole_state[1].item<double>() != 0.,
                    ExcMessage("spectral_operator: 'Skip spectrum = whole' needs the data's and the noise's "
                               "variances over the whole spectrum. The trainer sets them before its first "
                               "step, and checkpoints store them."));
        const double       omega_floor = std::sqrt(std::max(spectral_eigenvalues.max().item<double>(), 0.));
        const unsigned int degree      = whole_spectrum_degree(spectrum_bound);
        // With the filtered output, the network's output takes the same
        // path as v: kept on the modes, the Wiener polynomial above them (one
        // application serves both, the polynomial is linear).
        torch::Tensor mode_part = ratio * coefficients;
        torch::Tensor rest      = v_transposed - torch::mm(geometry->modes, coefficients);
        if (settings.wiener_filtered_output)
          {
            const torch::Tensor network_coefficients =
              all_reduce_sum(torch::mm(geometry->mass_modes_transposed, network_transposed), geometry->communicator);
            mode_part = mode_part + network_coefficients;
            rest      = rest + network_transposed - torch::mm(geometry->modes, network_coefficients);
          }
        torch::Tensor high = whole_spectrum::apply_wiener_polynomial(*geometry, rest, sigma.flatten(),
                                                                     skip_whole_log_data, skip_whole_log_noise,
                                                                     skip_whole_state[0].item<double>(),
                                                                     omega_floor, degree,
                                                                     settings.skip_mass_iterations, spectrum_bound);
        if (!settings.wiener_filtered_output)
          high = high + network_transposed;
        return torch::addmm(high, geometry->modes, mode_part);
      }
    // The part of v outside the modes is scaled by the ratio of the largest
    // bound eigenvalue.
    torch::Tensor residual_ratio =
      ratio.select(0, spectral_eigenvalues.argmax().item<int64_t>()).unsqueeze(0); // [1,B]
    return torch::addmm(torch::addcmul(network_transposed, residual_ratio, v_transposed),
                        geometry->modes,
                        (ratio - residual_ratio) * coefficients);
  }


  template <int dim>
  bool
  SpectralNeuralOperator<dim>::uses_mode_variances() const
  {
    return settings.gaussian_skip;
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::set_mode_variances(const torch::Tensor &eigenvalues,
                                                  const torch::Tensor &data_variance,
                                                  const torch::Tensor &noise_variance)
  {
    if (!settings.gaussian_skip)
      return;
    AssertThrow(frequency_scale.item<double>() > 0.,
                ExcMessage("spectral_operator: bind() before set_mode_variances()."));
    const int64_t K = eigenvalues.numel();
    const auto [s, c] = checked_variances(data_variance, noise_variance, K, "set_mode_variances()");
    // The tables are functions of the network's spectral variable: with the
    // blended-mass correction, that of the bound geometry's modes, which
    // are the modes the variances were measured in.
    torch::Tensor lambda = eigenvalues.to(torch::kFloat64).flatten();
    if (settings.blended_mass_eigenvalues)
      {
        AssertThrow(geometry != nullptr && geometry->n_modes() == K,
                    ExcMessage("spectral_operator: with 'Eigenvalue correction = blended mass', "
                               "set_mode_variances() takes the variances of the modes of the "
                               "bound geometry."));
        lambda = spectral_eigenvalues.to(torch::kFloat64);
      }
    // Nadaraya-Watson smoothing of log s and log c in omega with a Gaussian
    // kernel of one grid spacing; a grid point with no mode near it takes the
    // nearest mode's value.
    const int64_t      T     = settings.skip_table_size;
    torch::Tensor      omega = torch::sqrt(torch::clamp_min(lambda, 0.));
    torch::NoGradGuard no_grad;
    skip_log_data_variance.copy_(whole_spectrum::smooth_log_table(omega, s, T, frequency_scale.item<double>()));
    skip_log_noise_variance.copy_(whole_spectrum::smooth_log_table(omega, c, T, frequency_scale.item<double>()));
    skip_tables_set.fill_(1.);
  }


  template <int dim>
  bool
  SpectralNeuralOperator<dim>::uses_spectrum_variances() const
  {
    return settings.whole_spectrum_skip;
  }


  template <int dim>
  bool
  SpectralNeuralOperator<dim>::spectrum_variances_in_consistent_modes() const
  {
    return settings.whole_spectrum_skip && settings.skip_mass_iterations > 0;
  }


  template <int dim>
  std::int64_t
  SpectralNeuralOperator<dim>::whole_table_size() const
  {
    return 4 * static_cast<std::int64_t>(settings.skip_table_size);
  }


  template <int dim>
  void
  SpectralNeuralOperator<dim>::set_spectrum_variances(const torch::Tensor &eigenvalues,
                                                      const torch::Tensor &data_variance,
                                                      const torch::Tensor &noise_variance)
  {
    if (!settings.whole_spectrum_skip)
      return;
    AssertThrow(eigenvalues.numel() > 1,
                ExcMessage("spectral_operator: set_spectrum_variances() needs the whole spectrum (more than one "
                           "eigenvalue)."));
    const auto [s, c] =
      checked_variances(data_variance, noise_variance, eigenvalues.numel(), "set_spectrum_variances()");
    torch::Tensor lambda = torch::clamp_min(eigenvalues.to(torch::kFloat64).flatten(), 0.);
    const double  omega_max = std::sqrt(lambda.max().item<double>());
    torch::Tensor omega     = torch::sqrt(lambda);
    torch::NoGradGuard no_grad;
    skip_whole_log_data.copy_(whole_spectrum::smooth_log_table(omega, s, whole_table_size(), omega_max));
    skip_whole_log_noise.copy_(whole_spectrum::smooth_log_table(omega, c, whole_table_size(), omega_max));
    skip_whole_state[0].fill_(omega_max);
    skip_whole_state[1].fill_(1.);
  }


  template <int dim>
  std::string
  SpectralNeuralOperator<dim>::architecture() const
  {
    std::ostringstream out;
    out << "Width = " << settings.width << '\n'
        << "Blocks = " << settings.blocks << '\n'
        << "Filter basis size = " << settings.filter_basis_size << '\n'
        << "Fourier features = " << settings.fourier_features << '\n'
        << "Data scale = " << std::setprecision(17) << settings.data_scale << '\n'
        // Only when not the default, so that checkpoints written before the
        // option existed keep their architecture text.
        << (settings.gaussian_skip ? "Skip connection = gaussian\n" : "")
        << (settings.whole_spectrum_skip ? "Skip spectrum = whole\n" : "")
        << (settings.whole_spectrum_skip && !settings.wiener_filtered_output ? "Network output above modes = free\n" :
                                                                               "")
        << (settings.whole_spectrum_skip && settings.skip_mass_iterations > 0 ?
              "Skip mass iterations = " + std::to_string(settings.skip_mass_iterations) + "\n" :
              std::string())
        << (settings.whole_spectrum_skip && settings.estimated_eigenvalue_bound ? "Skip eigenvalue bound = estimated\n" :
                                                                                 "")
        << (settings.skip_polynomial_degree > 0 ?
              "Skip polynomial degree = " + std::to_string(settings.skip_polynomial_degree) + "\n" :
              "")
        << (settings.skip_table_size != 32 ?
              "Skip table size = " + std::to_string(settings.skip_table_size) + "\n" :
              std::string())
        << (settings.blended_mass_eigenvalues ? "Eigenvalue correction = blended mass\n" : "")
        << "Seed = " << settings.seed << '\n'
        << "Precision = " << (settings.precision == torch::kFloat64 ? "float64" : "float32") << '\n';
    return out.str();
  }


  template <int dim>
  torch::Dtype
  SpectralNeuralOperator<dim>::dtype() const
  {
    return settings.precision;
  }


  template <int dim>
  const typename SpectralNeuralOperator<dim>::Settings &
  SpectralNeuralOperator<dim>::get_settings() const
  {
    return settings;
  }


} // namespace ddo

DDO_REGISTER_SCORE_NETWORK(ddo::SpectralNeuralOperator, "spectral_operator",
                           "spectral neural operator in the Laplacian eigenbasis of the mesh "
                           "(filters smooth in the eigenvalue, quadrature-weighted norms, FiLM in sigma)")
