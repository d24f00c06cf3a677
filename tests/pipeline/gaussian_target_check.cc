// Checks samples of a Matérn Gaussian target (SPDE, Neumann) against the
// exact statistics of that field on the same mesh:
//
//   gaussian_target_check MESH.msh REFINEMENTS TRAINING_REFINEMENTS SAMPLES.h5 VARIANCE RHO NU
//
// The exact covariance of the SPDE field on a mesh is
// Sigma = sum_k s(lambda_k) phi_k phi_k^T over all eigenpairs of
// K phi = lambda M phi (s: the Matérn spectral density of MaternScales), so
// - the band energies E|P_b u|^2 are sum_{k in b} s(lambda_k), and
// - the two-point covariance at distance r, averaged over the pairs of DoF
//   support points whose distance lies in a bin, is the mean of Sigma_ij
//   over those pairs.
// Each statistic is a mean over the samples of a per-sample quantity
// (|P_b u|^2, mean_pairs u_i u_j), so its standard error is the samples'
// standard deviation / sqrt(n). Every statistic must lie within 3 standard
// errors of its exact value; the program prints the table and exits with
// 1 if one does not.

#include <ddo/base/mpi_session.h>
#include <ddo/covariance/matern.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_space.h>
#include <ddo/lac/spectral_basis.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/metrics/spectral_bands.h>

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

using namespace ddo;

namespace
{
  constexpr double tolerance_in_standard_errors = 3.;

  /** Where the dense eigenpairs of a mesh are kept between the two checks. */
  const std::string eigenpair_cache = "eigenpairs";

  /** Mean and standard error over the samples of each of a set of statistics. */
  struct Estimate
  {
    std::vector<double> mean, standard_error;
  };

  Estimate
  estimate(const std::vector<std::vector<double>> &per_sample)
  {
    const std::size_t n = per_sample.size(), m = per_sample.front().size();
    Estimate          e{std::vector<double>(m, 0.), std::vector<double>(m, 0.)};
    for (const auto &x : per_sample)
      for (std::size_t j = 0; j < m; ++j)
        e.mean[j] += x[j] / n;
    for (const auto &x : per_sample)
      for (std::size_t j = 0; j < m; ++j)
        e.standard_error[j] += (x[j] - e.mean[j]) * (x[j] - e.mean[j]) / (n - 1);
    for (double &s : e.standard_error)
      s = std::sqrt(s / n);
    return e;
  }

  /** The relative tolerance of an extrapolated band. */
  constexpr double extrapolated_tolerance = 0.2;

  /**
   * Prints one row per statistic; returns the number outside the tolerance
   * (@p extrapolated: the statistics held to the relative tolerance instead).
   */
  unsigned int
  report(const std::string &title, const std::vector<std::string> &labels, const std::vector<double> &exact,
         const Estimate &samples, const std::vector<bool> &extrapolated)
  {
    std::cout << title << "\n  " << std::setw(16) << "" << std::setw(13) << "exact" << std::setw(13) << "samples"
              << std::setw(9) << "ratio" << std::setw(9) << "z" << '\n';
    unsigned int failures = 0;
    for (std::size_t j = 0; j < exact.size(); ++j)
      {
        if (exact[j] == 0. && samples.standard_error[j] == 0.)
          {
            std::cout << "  " << std::setw(16) << labels[j] << "   (no modes)\n";
            continue;
          }
        const double z     = (samples.mean[j] - exact[j]) / samples.standard_error[j];
        const double ratio = samples.mean[j] / exact[j];
        const bool   ok    = extrapolated[j] ? std::abs(ratio - 1.) <= extrapolated_tolerance :
                                               std::abs(z) <= tolerance_in_standard_errors;
        failures += ok ? 0 : 1;
        std::cout << "  " << std::setw(16) << labels[j] << std::setprecision(4) << std::setw(13) << exact[j]
                  << std::setw(13) << samples.mean[j] << std::setw(9) << ratio << std::setw(9)
                  << std::setprecision(2) << z << (extrapolated[j] ? "   (above the training mesh: 20%)" : "")
                  << (ok ? "" : "   <- outside") << '\n';
      }
    return failures;
  }

  std::unique_ptr<FunctionSpace<2>>
  make_space(const std::string &mesh_file, const unsigned int refinements)
  {
    ParameterHandler prm;
    MeshBuilder<2>::declare_parameters(prm);
    prm.parse_input_from_string("subsection Mesh\nset Geometry = gmsh\nset Cell type = simplex\n"
                                "subsection gmsh\nset File name = " +
                                mesh_file + "\nend\nset Global refinements = " + std::to_string(refinements) +
                                "\nend\n");
    MeshBuilder<2> builder;
    builder.parse_parameters(prm);
    return std::make_unique<FunctionSpace<2>>(builder.create(MPI_COMM_SELF), 1, builder.periodic_boundaries());
  }

  /** Pairs of DoFs (i < j) per distance bin [b h, (b + 1) h). */
  std::vector<std::vector<std::pair<unsigned int, unsigned int>>>
  pairs_per_bin(const std::vector<Point<2>> &points, const double width, const unsigned int n_bins)
  {
    std::vector<std::vector<std::pair<unsigned int, unsigned int>>> bins(n_bins);
    for (unsigned int i = 0; i < points.size(); ++i)
      for (unsigned int j = i + 1; j < points.size(); ++j)
        {
          const auto b = static_cast<unsigned int>(points[i].distance(points[j]) / width);
          if (b < n_bins)
            bins[b].emplace_back(i, j);
        }
    return bins;
  }

  /** Band energies: exact, and per sample. */
  unsigned int
  check_bands(const FunctionSpace<2> &space, const MaternScales &law, const std::vector<VectorType> &samples,
              const double training_omega_max)
  {
    SpectralBands<2>::Settings settings;
    settings.method          = SpectralBands<2>::Method::dense;
    settings.cache_directory = eigenpair_cache;
    const SpectralBands<2> bands(space, settings);
    const auto exact = bands.sum_over_bands([&](const double lambda) { return law.spectral_density(lambda); });
    std::vector<std::vector<double>> per_sample;
    for (const auto &u : samples)
      per_sample.push_back(bands.energies(u));
    std::vector<std::string> labels;
    std::vector<bool>        extrapolated;
    for (unsigned int b = 0; b + 1 < bands.edges().size(); ++b)
      {
        std::ostringstream label;
        label << std::setprecision(3) << bands.edges()[b] << "-" << bands.edges()[b + 1];
        labels.push_back(label.str());
        extrapolated.push_back(bands.edges()[b + 1] > training_omega_max * (1 + 1e-6));
      }
    return report("Band energies (sqrt(lambda) bands)", labels, exact, estimate(per_sample), extrapolated);
  }

  /** Two-point covariance per distance bin: exact, and per sample. */
  unsigned int
  check_two_point_covariance(const FunctionSpace<2> &space, const MaternScales &law,
                             const std::vector<VectorType> &samples)
  {
    // The same eigenpairs as the bands' (from the cache they wrote).
    const SpectralBasis<2> all(space, n_free_dofs(space), eigenpair_cache, SpectralBasis<2>::Method::dense);
    const unsigned int     n = space.n_dofs(), n_bins = 10;
    const double           width = 0.1;
    const auto             bins  = pairs_per_bin(space.locally_owned_support_points(), width, n_bins);
    // Sigma_ij = sum_k s(lambda_k) phi_k(i) phi_k(j), dense (n <= a few thousand).
    std::vector<double> sigma(std::size_t(n) * n, 0.);
    for (unsigned int k = 0; k < all.n_modes(); ++k)
      {
        const double      s   = law.spectral_density(all.eigenvalues()[k]);
        const VectorType &phi = all.eigenvectors()[k];
        for (unsigned int i = 0; i < n; ++i)
          for (unsigned int j = 0; j < n; ++j)
            sigma[std::size_t(i) * n + j] += s * phi[i] * phi[j];
      }
    std::vector<double>      exact(n_bins, 0.);
    std::vector<std::string> labels;
    for (unsigned int b = 0; b < n_bins; ++b)
      {
        for (const auto &[i, j] : bins[b])
          exact[b] += sigma[std::size_t(i) * n + j] / bins[b].size();
        std::ostringstream label;
        label << "r in [" << b * width << ", " << (b + 1) * width << ")";
        labels.push_back(label.str());
      }
    std::vector<std::vector<double>> per_sample;
    for (const auto &u : samples)
      {
        std::vector<double> x(n_bins, 0.);
        for (unsigned int b = 0; b < n_bins; ++b)
          for (const auto &[i, j] : bins[b])
            x[b] += u[i] * u[j] / bins[b].size();
        per_sample.push_back(x);
      }
    return report("Two-point covariance (mean over DoF pairs at distance r)", labels, exact, estimate(per_sample),
                  std::vector<bool>(n_bins, false));
  }
} // namespace


int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  try
    {
      AssertThrow(argc == 8, ExcMessage("usage: gaussian_target_check MESH.msh REFINEMENTS TRAINING_REFINEMENTS "
                                        "SAMPLES.h5 VARIANCE CORRELATION_LENGTH SMOOTHNESS"));
      const auto space = make_space(argv[1], std::stoi(argv[2]));
      const auto law   = MaternScales::from_user_parameters(2, std::stod(argv[5]), std::stod(argv[6]),
                                                          std::stod(argv[7]));
      SpectralBands<2>::Settings training_settings;
      training_settings.method = SpectralBands<2>::Method::dense;
      const double training_omega_max =
        std::sqrt(SpectralBands<2>(*make_space(argv[1], std::stoi(argv[3])), training_settings).largest_eigenvalue());
      const FunctionDatasetReader reader(argv[4]);
      reader.check_compatible(*space);
      const std::vector<double> values = reader.read_all();
      std::vector<VectorType>   samples(reader.info().n_samples, space->create_vector());
      for (std::size_t s = 0; s < samples.size(); ++s)
        for (unsigned int i = 0; i < space->n_dofs(); ++i)
          samples[s][i] = values[s * space->n_dofs() + i];
      std::cout << samples.size() << " samples on " << space->n_dofs() << " DoFs; exact: Matérn variance "
                << argv[5] << ", rho " << argv[6] << ", nu " << argv[7]
                << "; the training mesh resolves sqrt(lambda) up to " << training_omega_max << "\n";
      unsigned int failures = check_bands(*space, law, samples, training_omega_max);
      failures += check_two_point_covariance(*space, law, samples);
      std::cout << (failures == 0 ? "every statistic within its tolerance\n" :
                                    std::to_string(failures) + " statistics outside their tolerance\n");
      return failures == 0 ? 0 : 1;
    }
  catch (const std::exception &e)
    {
      std::cerr << "gaussian_target_check: " << e.what() << std::endl;
      return 2;
    }
}
