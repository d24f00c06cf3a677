// Where does a trained model's excess energy at fine scales come from?
//
//   ns_scale_study <checkpoint> <test set> [samples (100)] [output directory (scale_study)]
//
// On the training mesh of the checkpoint, with all eigenpairs of M^-1 K
// (dense), this runs the probability-flow sampler of the main command with
// several scores and compares the samples' energy per band of sqrt(lambda)
// over the whole spectrum with the test set's (normalized units):
//
// - "Gaussian, exact score": the exact score of the Gaussian whose per-mode
//   variances are the test set's, on every mode; with and without the final
//   denoising step. This separates the sampler from the network.
// - "Gaussian skip of K modes": the exact Gaussian denoiser on the network's
//   K modes and, above them, the ratio of the K-th mode (what the model's
//   skip connection does), with no network: the treatment of the modes
//   above K alone.
// - "trained model": the checkpoint as `ddo sample` uses it.
// - "trained model, whole-spectrum skip": the same network with its skip
//   replaced by the exact Gaussian denoiser on every mode.
//
// Every row is a ratio to the test set's energy per band; the first row is
// the sampling noise (one half of the test set over the other).

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>

#include <ddo/base/mpi_session.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/lac/spectral_basis.h>
#include <ddo/mesh/space_description.h>
#include <ddo/metrics/spectral_bands.h>
#include <ddo/torch/model/gaussian_score.h>
#include <ddo/torch/model/trained_model.h>
#include <ddo/torch/sampler/interface.h>
#include <ddo/torch/torch_bridge.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

using namespace ddo;

namespace
{
  /** The probability-flow sampler with its default settings (those of the main command). */
  std::unique_ptr<Sampler<2>>
  probability_flow(const bool final_denoising)
  {
    ParameterHandler prm;
    SamplerRegistry<2>::instance().declare_parameters(prm, "Sampler", "probability_flow", "");
    prm.parse_input_from_string("set Sampler = probability_flow\nsubsection probability_flow\nset Final denoising = " +
                                std::string(final_denoising ? "true" : "false") + "\nend\n");
    return SamplerRegistry<2>::instance().create_and_parse(prm, "Sampler");
  }


  /**
   * The exact Gaussian denoiser v -> Phi diag(r) Phi^T M v on the first
   * @p n_modes modes of @p exact, r_k = s_k / (s_k + sigma^2 c_k); above
   * them the ratio of the last of those modes times the rest of v (what the
   * 64-mode skip does). Returned as a score (D - v) / sigma^2.
   */
  ScoreFunction
  truncated_gaussian_denoiser(const GaussianScore<2> &exact, const torch::Tensor &mass_modes_t,
                              const torch::Tensor &modes, const unsigned int n_modes)
  {
    const auto   opt = torch::TensorOptions().dtype(torch::kFloat64);
    torch::Tensor s  = torch::tensor(exact.target_variances(), opt).slice(0, 0, n_modes);
    torch::Tensor c  = torch::tensor(exact.noise_variances(), opt).slice(0, 0, n_modes);
    torch::Tensor pt = mass_modes_t.slice(0, 0, n_modes), p = modes.slice(1, 0, n_modes);
    return [=](const torch::Tensor &v, const torch::Tensor &sigma) {
      torch::Tensor s2    = (sigma * sigma).view({-1, 1});                    // [B,1]
      torch::Tensor ratio = s.view({1, -1}) / (s.view({1, -1}) + s2 * c.view({1, -1})); // [B,K]
      torch::Tensor coefficients = torch::mm(v, pt.t());                         // [B,K]
      torch::Tensor low          = torch::mm(ratio * coefficients, p.t());       // [B,N]
      torch::Tensor rest         = v - torch::mm(coefficients, p.t());
      torch::Tensor top          = ratio.select(1, n_modes - 1).view({-1, 1});
      return (low + top * rest - v) / s2;
    };
  }


  std::vector<double>
  rows_of(const torch::Tensor &t)
  {
    torch::Tensor c = t.contiguous().to(torch::kFloat64);
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  }
} // namespace


int
main(int argc, char **argv)
{
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      AssertThrow(argc >= 3, ExcMessage("usage: ns_scale_study <checkpoint> <test set> [samples] [output directory]"));
      const std::string  checkpoint = argv[1], test_file = argv[2];
      const unsigned int n          = argc > 3 ? std::stoi(argv[3]) : 100;
      const std::string  directory  = argc > 4 ? argv[4] : "scale_study";
      std::filesystem::create_directories(directory);
      Timer timer;

      TrainedModel<2> model({checkpoint});
      const auto      space = build_function_space<2>(model.record().mesh_description, MPI_COMM_SELF, checkpoint);
      model.bind(*space, 0, directory + "/cache");
      const unsigned int K = model.record().n_modes;
      std::cout << space->summary() << "network modes K = " << K << '\n';

      // The test set in the model's units, and every eigenpair.
      const FunctionDatasetReader reader(test_file);
      std::vector<double>         test = reader.read_all();
      const auto &                norm = model.record().normalization;
      for (double &x : test)
        x = (x - norm.mean) / norm.scale;
      const unsigned int n_test = reader.info().n_samples;
      const SpectralBasis<2> all(*space, n_free_dofs(*space), directory + "/cache", SpectralBasis<2>::Method::dense);
      typename SpectralBands<2>::Settings band_settings;
      band_settings.method          = SpectralBands<2>::Method::dense;
      band_settings.cache_directory = directory + "/cache";
      const SpectralBands<2> bands(*space, band_settings);

      // Per-mode variances: the test set's (s_k) and the noise's
      // (c_k = 1 / psi_k^T C^-1 psi_k, exact for a noise diagonal in the modes).
      const unsigned int  n_all = all.n_modes();
      std::vector<double> s(n_all, 0.), c(n_all);
      VectorType          u = space->create_vector();
      for (unsigned int f = 0; f < n_test; ++f)
        {
          for (std::size_t i = 0; i < space->n_dofs(); ++i)
            u[i] = test[f * space->n_dofs() + i];
          const auto a = all.project(u);
          for (unsigned int k = 0; k < n_all; ++k)
            s[k] += a[k] * a[k] / n_test;
        }
      double largest = *std::max_element(s.begin(), s.end());
      for (unsigned int k = 0; k < n_all; ++k)
        {
          s[k] = std::max(s[k], 1e-12 * largest);
          c[k] = 1. / model.noise().cameron_martin_norm_squared(all.eigenvectors()[k]);
        }
      const GaussianScore<2> exact(all, s, c);
      const auto             opt = torch::TensorOptions().dtype(torch::kFloat64);
      torch::Tensor          modes = torch::empty({long(space->n_dofs()), long(n_all)}, opt);
      torch::Tensor          mass_modes_t = torch::empty({long(n_all), long(space->n_dofs())}, opt);
      {
        VectorType m_psi = space->create_vector();
        auto       p     = modes.accessor<double, 2>();
        auto       pt    = mass_modes_t.accessor<double, 2>();
        for (unsigned int k = 0; k < n_all; ++k)
          {
            space->mass_matrix().vmult(m_psi, all.eigenvectors()[k]);
            for (std::size_t i = 0; i < space->n_dofs(); ++i)
              {
                p[i][k]  = all.eigenvectors()[k][i];
                pt[k][i] = m_psi[i];
              }
          }
      }
      std::cout << "eigenpairs and variances: " << timer.wall_time() << " s\n";

      const ScoreFunction whole = exact.score_function();
      const ScoreFunction skip_k = truncated_gaussian_denoiser(exact, mass_modes_t, modes, K);
      const ScoreFunction network = model.score();
      const ScoreFunction network_whole = [&](const torch::Tensor &v, const torch::Tensor &sigma) {
        return network(v, sigma) + whole(v, sigma) - skip_k(v, sigma);
      };

      const std::vector<double> reference = bands.mean_energies(test, n_test);
      std::vector<std::pair<std::string, std::vector<double>>> rows;
      {
        const unsigned int half = n_test / 2;
        const std::vector<double> a(test.begin(), test.begin() + half * space->n_dofs());
        rows.emplace_back("test half A / test (sampling noise)", bands.mean_energies(a, half));
        rows.emplace_back("Gaussian, exact draws", bands.mean_energies(rows_of(exact.sample_target(n, 7)), n));
      }
      const auto with_denoising = probability_flow(true), without_denoising = probability_flow(false);
      const auto run = [&](const std::string &name, const ScoreFunction &score, const Sampler<2> &sampler,
                           const CovarianceOperator<2> &noise, const NoiseRange &range) {
        Timer         t;
        SamplerReport report;
        torch::Tensor samples = sampler.sample(score, *space, noise, range, n, 1, 0, &report);
        rows.emplace_back(name, bands.mean_energies(rows_of(samples), n));
        std::cout << name << ": " << report.summary() << " (" << t.wall_time() << " s)" << std::endl;
      };
      const NoiseRange &training_range = model.record().range;
      run("Gaussian, exact score, PF-ODE", whole, *with_denoising, model.noise(), training_range);
      run("Gaussian, exact score, PF-ODE without final denoising", whole, *without_denoising, model.noise(),
          training_range);
      // The exact score with smoother noise (Matern nu = 2, 3, same
      // correlation length) and smaller sigma_min.
      for (const double nu : {1., 2., 3.})
        for (const double sigma_min : {1e-2, 1e-3})
          {
            MaternSPDE<2>::Parameters parameters;
            parameters.correlation_length = 0.1;
            parameters.smoothness         = nu;
            parameters.direct_precision   = "double";
            MaternSPDE<2> smooth_noise(parameters);
            smooth_noise.initialize(*space);
            std::vector<double> c_nu(n_all);
            for (unsigned int k = 0; k < n_all; ++k)
              c_nu[k] = 1. / smooth_noise.cameron_martin_norm_squared(all.eigenvectors()[k]);
            const GaussianScore<2> exact_nu(all, s, c_nu);
            NoiseRange             range = training_range;
            range.sigma_min              = sigma_min;
            std::ostringstream name;
            name << "Gaussian, exact score, Matern noise nu = " << nu << ", sigma_min = " << sigma_min;
            run(name.str(), exact_nu.score_function(), *with_denoising, smooth_noise, range);
          }
      run("Gaussian skip of K modes (top-mode ratio above), no network", skip_k, *with_denoising, model.noise(),
          training_range);
      run("trained model", network, *with_denoising, model.noise(), training_range);
      // (Meaningful for a model trained with the 64-mode skip only.)
      run("trained model, whole-spectrum Gaussian skip", network_whole, *with_denoising, model.noise(),
          training_range);

      std::ostringstream table;
      table << std::setprecision(3) << "| energy per band / test set | ";
      const auto centres = bands.centres();
      for (std::size_t b = 0; b < centres.size(); ++b)
        table << "√λ " << bands.edges()[b] << "–" << bands.edges()[b + 1] << " | ";
      table << "\n|---|";
      for (std::size_t b = 0; b < centres.size(); ++b)
        table << "---|";
      table << "\n| test set energy | ";
      for (const double e : reference)
        table << e << " | ";
      table << '\n';
      for (const auto &row : rows)
        {
          table << "| " << row.first << " | ";
          for (std::size_t b = 0; b < reference.size(); ++b)
            table << row.second[b] / reference[b] << " | ";
          table << '\n';
        }
      std::cout << '\n' << bands.summary() << "; K = " << K << " network modes up to sqrt(lambda) = "
                << std::sqrt(all.eigenvalues()[K - 1]) << "\n\n"
                << table.str() << "\nwall time " << timer.wall_time() << " s\n";
      std::ofstream(directory + "/scale_study.md") << table.str();
    }
  catch (std::exception &e)
    {
      std::cerr << "ns_scale_study: " << e.what() << std::endl;
      return 1;
    }
  return 0;
}
