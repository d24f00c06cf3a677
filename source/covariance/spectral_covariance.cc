#include <ddo/base/hashing.h>
#include <ddo/covariance/spectral_covariance.h>
#include <ddo/covariance/white_noise.h>

namespace ddo
{
  template <int dim>
  void
  SpectralMaternCovariance<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Marginal variance", "1", Patterns::Double(0), "sigma^2 of the Matérn field.");
    prm.declare_entry("Correlation length", "0.1", Patterns::Double(0),
                      "rho: the correlation at distance rho is about 0.13.");
    prm.declare_entry("Smoothness", "1", Patterns::Double(0),
                      "nu > 0 (any real value; alpha = nu + d/2).");
    prm.declare_entry("Number of modes", "64", Patterns::Integer(1),
                      "Number K of Laplacian eigenmodes of the expansion.");
    prm.declare_entry("Cache directory", "", Patterns::Anything(),
                      "Where eigenbases are cached (empty: no cache).");
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::parse_parameters(ParameterHandler &prm)
  {
    set_parameters(MaternScales::from_user_parameters(dim, prm.get_double("Marginal variance"),
                                                      prm.get_double("Correlation length"),
                                                      prm.get_double("Smoothness")),
                   prm.get_integer("Number of modes"), prm.get("Cache directory"));
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::set_parameters(const MaternScales &new_scales,
                                                const unsigned int  new_n_modes,
                                                const std::string & new_cache_directory)
  {
    scales          = new_scales;
    n_modes         = new_n_modes;
    cache_directory = new_cache_directory;
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::initialize(const FunctionSpace<dim> &new_space)
  {
    space = &new_space;
    basis = std::make_unique<SpectralBasis<dim>>(new_space, n_modes, cache_directory);
    variances.resize(basis->n_modes());
    for (unsigned int k = 0; k < basis->n_modes(); ++k)
      variances[k] = scales.spectral_density(std::max(0., basis->eigenvalues()[k]));
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::sample(std::vector<VectorType> &out,
                                        const std::uint64_t      seed,
                                        const unsigned int       first_sample_index) const
  {
    AssertThrow(basis != nullptr, ExcMessage("matern_spectral: call initialize() first."));
    Vector<double> z(variances.size());
    for (unsigned int i = 0; i < out.size(); ++i)
      {
        WhiteNoise<dim>::standard_normal(
          hashing::combine(hashing::combine(hashing::mix(seed), first_sample_index + i),
                           0x5eC7a1ULL),
          z);
        for (unsigned int k = 0; k < z.size(); ++k)
          z[k] *= std::sqrt(variances[k]);
        basis->expand(z, out[i]);
      }
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::apply(const VectorType &in, VectorType &out) const
  {
    const auto &phi = basis->eigenvectors();
    out.reinit(space->locally_owned_dofs(), space->get_mpi_communicator());
    for (unsigned int k = 0; k < phi.size(); ++k)
      out.add(variances[k] * (phi[k] * in), phi[k]);
  }


  template <int dim>
  void
  SpectralMaternCovariance<dim>::apply_inverse(const VectorType &in, VectorType &out) const
  {
    Vector<double> c = basis->project(in);
    for (unsigned int k = 0; k < c.size(); ++k)
      c[k] /= variances[k];
    VectorType expanded;
    basis->expand(c, expanded);
    out.reinit(space->locally_owned_dofs(), space->get_mpi_communicator());
    space->mass_matrix().vmult(out, expanded);
  }


  template <int dim>
  double
  SpectralMaternCovariance<dim>::cameron_martin_norm_squared(const VectorType &v) const
  {
    const Vector<double> c = basis->project(v);
    double               sum = 0;
    for (unsigned int k = 0; k < c.size(); ++k)
      sum += c[k] * c[k] / variances[k];
    return sum;
  }


  template <int dim>
  VectorType
  SpectralMaternCovariance<dim>::pointwise_variance() const
  {
    VectorType variance = space->create_vector(), square = space->create_vector();
    const auto &phi = basis->eigenvectors();
    for (unsigned int k = 0; k < phi.size(); ++k)
      {
        square = phi[k];
        square.scale(phi[k]);
        variance.add(variances[k], square);
      }
    return variance;
  }


  template <int dim>
  const std::vector<double> &
  SpectralMaternCovariance<dim>::mode_variances() const
  {
    return variances;
  }


  template <int dim>
  double
  SpectralMaternCovariance<dim>::captured_variance_fraction() const
  {
    double sum = 0;
    for (const double c : variances)
      sum += c;
    return sum / (scales.variance * space->volume());
  }


  template <int dim>
  const SpectralBasis<dim> &
  SpectralMaternCovariance<dim>::get_basis() const
  {
    return *basis;
  }


} // namespace ddo

DDO_REGISTER_COVARIANCE_MODEL(ddo::SpectralMaternCovariance, "matern_spectral",
                              "Matérn field by a truncated Karhunen-Loève expansion in the "
                              "Laplacian eigenbasis (any smoothness)")
