// The spectral neural operator: discretization convergence in 2D/3D on
// hexahedra and simplices, invariance under DoF renumbering, gradients
// against finite differences, checkpoints, the Gaussian skip connection.

#include <ddo/torch/model/checkpoint.h>
#include <ddo/base/hashing.h>
#include <ddo/torch/torch_bridge.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../network_test_utilities.h"

using namespace ddo;

namespace
{
  template <int dim>
  double
  smooth_input(const Point<dim> &p)
  {
    double value = 0.3 + std::sin(2. * M_PI * p[0]) * std::cos(M_PI * p[1]);
    if (dim == 3)
      value += 0.5 * p[2] * p[2];
    return value;
  }

  /** F(u, sigma) on a mesh, for the smooth input u. */
  template <int dim>
  torch::Tensor
  evaluate(ScoreNetwork<dim> &network, const test_support::BoundSpace<dim> &bound, const double sigma)
  {
    network.bind(bound.geometry);
    const VectorType u = bound.space->interpolate(
      ScalarFunctionFromFunctionObject<dim>([](const Point<dim> &p) { return smooth_input<dim>(p); }));
    return network.forward(torch_bridge::to_tensor(u, torch::kFloat64),
                           torch::full({1}, sigma, torch::kFloat64))[0];
  }

  /**
   * Outputs on @p n_levels nested meshes h, h/2, h/4, ..., compared at the
   * vertices of the coarsest mesh (vertices of all of them) with its
   * quadrature weights: returns the successive differences
   * |F_h/2^r - F_h/2^(r+1)| for r = 0, ..., n_levels - 2, followed by the
   * norm of the finest output.
   */
  template <int dim>
  std::vector<double>
  refinement_study(const std::string &mesh_prm, const unsigned int n_modes, const unsigned int n_levels)
  {
    auto network = test_support::make_network<dim>();
    std::vector<std::unique_ptr<test_support::BoundSpace<dim>>> meshes;
    std::vector<torch::Tensor>                                   outputs;
    for (unsigned int r = 0; r < n_levels; ++r)
      {
        meshes.push_back(std::make_unique<test_support::BoundSpace<dim>>(
          mesh_prm + "set Global refinements = " + std::to_string(r) + "\n", n_modes));
        outputs.push_back(evaluate(*network, *meshes.back(), 0.5));
      }
    // Values at the coarse support points, looked up by position.
    const auto &coarse_points = meshes[0]->space->locally_owned_support_points();
    std::vector<torch::Tensor> at_coarse;
    for (unsigned int r = 0; r < n_levels; ++r)
      {
        std::map<std::uint64_t, std::int64_t> index;
        const auto &points = meshes[r]->space->locally_owned_support_points();
        for (unsigned int i = 0; i < points.size(); ++i)
          index[hashing::of_point(points[i], 1e-9)] = i;
        std::vector<std::int64_t> rows;
        for (const auto &p : coarse_points)
          rows.push_back(index.at(hashing::of_point(p, 1e-9)));
        at_coarse.push_back(outputs[r].index_select(0, torch::tensor(rows)));
      }
    const torch::Tensor w = meshes[0]->geometry->weights;
    auto norm = [&](const torch::Tensor &f) { return std::sqrt((w * f * f).sum().item<double>()); };
    std::vector<double> result;
    for (unsigned int r = 0; r + 1 < n_levels; ++r)
      result.push_back(norm(at_coarse[r] - at_coarse[r + 1]));
    result.push_back(norm(at_coarse.back()));
    return result;
  }

  /**
   * With |F_h - F| ~ C h^p the successive differences fall as 2^-p per
   * level: p is minus the least-squares slope of log2 of the differences
   * over the levels. The modes and the network's quadratures converge at
   * O(h^2); measured 2.04 / 1.77 (2D quadrilaterals / triangles, five
   * levels) and 1.80 / 1.61 (3D, four levels), the step-by-step orders
   * rising towards 2. At least 1.5 excludes first order (p = 1) with
   * margin, and the finest difference must be small.
   */
  void
  expect_convergence(const std::vector<double> &d, const std::string &name)
  {
    const std::size_t n = d.size() - 1; // differences; d.back() is |F_finest|
    double            mean_r = 0, mean_y = 0;
    for (std::size_t r = 0; r < n; ++r)
      {
        mean_r += double(r) / n;
        mean_y += std::log2(d[r]) / n;
      }
    double covariance = 0, variance = 0;
    for (std::size_t r = 0; r < n; ++r)
      {
        covariance += (r - mean_r) * (std::log2(d[r]) - mean_y);
        variance += (r - mean_r) * (r - mean_r);
      }
    const double order = -covariance / variance;
    std::cout << name << ": differences between levels";
    for (std::size_t r = 0; r < n; ++r)
      std::cout << ' ' << d[r];
    std::cout << ", |F_finest| = " << d.back() << ", fitted order " << order << " over " << n + 1
              << " levels" << std::endl;
    EXPECT_GE(n, 3u) << "a rate needs at least three differences";
    EXPECT_GT(order, 1.5) << name;
    EXPECT_LT(d[n - 1], 0.02 * d.back()) << name;
  }
} // namespace


TEST(SpectralNeuralOperator, OutputsConvergeUnderRefinement2D)
{
  // A 1 x 0.7 rectangle: no degenerate eigenvalues at the cut-off.
  const std::string box = "set Geometry = box\nsubsection box\nset Upper corner = 1, 0.7\n"
                          "set Subdivisions = 5, 4\nend\nset Distortion = 0.2\n";
  expect_convergence(refinement_study<2>(box, 12, 5), "2d hypercube");
  expect_convergence(refinement_study<2>(box + "set Cell type = simplex\n", 12, 5), "2d simplex");
}


TEST(SpectralNeuralOperator, OutputsConvergeUnderRefinement3D)
{
  const std::string box = "set Geometry = box\nsubsection box\nset Upper corner = 1, 0.8, 0.6\n"
                          "set Subdivisions = 3, 2, 2\nend\n";
  expect_convergence(refinement_study<3>(box, 6, 4), "3d hypercube");
  const std::string coarse = "set Geometry = box\nsubsection box\nset Upper corner = 1, 0.8, 0.6\n"
                             "set Subdivisions = 2, 1, 1\nend\nset Cell type = simplex\n";
  expect_convergence(refinement_study<3>(coarse, 6, 4), "3d simplex");
}


TEST(SpectralNeuralOperator, RenumberingTheDofsPermutesTheOutput)
{
  test_support::BoundSpace<2> bound("set Cell type = simplex\nset Global refinements = 2\n", 10);
  auto                        network = test_support::make_network<2>();
  network->bind(bound.geometry);
  torch::manual_seed(5);
  const torch::Tensor v     = torch::randn({3, bound.geometry->n_local()}, torch::kFloat64);
  const torch::Tensor sigma = torch::tensor({0.1, 1., 3.}, torch::kFloat64);
  const torch::Tensor out   = network->forward(v, sigma);

  const torch::Tensor permutation = torch::randperm(bound.geometry->n_local(), torch::kLong);
  network->bind(std::make_shared<NetworkGeometry>(bound.geometry->permuted(permutation)));
  const torch::Tensor permuted_out = network->forward(v.index_select(1, permutation), sigma);
  EXPECT_LT((permuted_out - out.index_select(1, permutation)).abs().max().item<double>(),
            1e-12 * out.abs().max().item<double>());
}


TEST(SpectralNeuralOperator, GradientsMatchFiniteDifferences)
{
  test_support::BoundSpace<2> bound("set Global refinements = 2\n", 8);
  auto                        network = test_support::make_network<2>();
  network->bind(bound.geometry);
  torch::manual_seed(11);
  {
    // FiLM starts as the identity (zero last layer): make it active, so that
    // the gradients of the sigma embedding are not trivially zero.
    torch::NoGradGuard no_grad;
    for (auto &parameter : network->named_parameters())
      if (parameter.key().rfind("sigma_out", 0) == 0)
        parameter.value().normal_(0., 0.1);
  }
  const auto          n     = bound.geometry->n_local();
  torch::Tensor       v     = torch::randn({2, n}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor sigma = torch::tensor({0.3, 2.}, torch::kFloat64);
  const torch::Tensor r     = torch::randn({2, n}, torch::kFloat64);
  auto loss = [&](const torch::Tensor &input) { return (network->forward(input, sigma) * r).sum(); };

  network->zero_grad();
  loss(v).backward();
  const torch::Tensor direction = torch::randn({2, n}, torch::kFloat64);
  const double        eps       = 1e-6;
  {
    torch::NoGradGuard no_grad;
    const double fd = (loss(v + eps * direction) - loss(v - eps * direction)).item<double>() / (2 * eps);
    const double ad = (v.grad() * direction).sum().item<double>();
    EXPECT_NEAR(fd, ad, 1e-6 * std::abs(ad)) << "input gradient";
  }
  // Every parameter tensor, along a random direction.
  for (auto &parameter : network->named_parameters())
    {
      const torch::Tensor grad = parameter.value().grad().clone();
      const torch::Tensor d    = torch::randn_like(parameter.value());
      torch::NoGradGuard  no_grad;
      parameter.value().add_(eps * d);
      const double plus = loss(v).item<double>();
      parameter.value().add_(-2 * eps * d);
      const double minus = loss(v).item<double>();
      parameter.value().add_(eps * d);
      const double fd = (plus - minus) / (2 * eps);
      const double ad = (grad * d).sum().item<double>();
      // Central differences: O(eps^2) truncation, O(1e-16 |L| / eps) round-off.
      EXPECT_NEAR(fd, ad, 1e-6 * std::abs(ad) + 1e-8) << parameter.key();
      EXPECT_GT(std::abs(ad), 1e-6) << parameter.key() << ": a gradient that vanishes tests nothing";
    }
}


TEST(SpectralNeuralOperator, CheckpointRoundTripIsBitForBitAndBadCheckpointsAreRejected)
{
  namespace fs = std::filesystem;
  const std::string path = "checkpoint_test.ddo";
  fs::remove_all(path);
  test_support::BoundSpace<2> bound("set Global refinements = 1\n", 6);
  auto                        network = test_support::make_network<2>(17);
  network->bind(bound.geometry);
  torch::manual_seed(2);
  const torch::Tensor v     = torch::randn({2, bound.geometry->n_local()}, torch::kFloat64);
  const torch::Tensor sigma = torch::tensor({0.2, 0.9}, torch::kFloat64);
  const torch::Tensor out   = network->forward(v, sigma);

  save_checkpoint(path, *network, "spectral_operator", 2, {{"sigma max", "10"}, {"step", "42"}});
  save_checkpoint(path, *network, "spectral_operator", 2, {{"sigma max", "10"}, {"step", "42"}}); // replaces
  CheckpointMetadata metadata;
  auto               loaded = load_checkpoint<2>(path, &metadata);
  EXPECT_EQ(metadata.at("step"), "42");
  EXPECT_EQ(metadata.at("architecture.Width"), "8");
  loaded->bind(bound.geometry);
  EXPECT_TRUE(torch::equal(loaded->forward(v, sigma), out));

  auto message = [](const std::function<void()> &f) {
    try
      {
        f();
      }
    catch (const std::exception &e)
      {
        return std::string(e.what());
      }
    return std::string();
  };
  // Wrong dimension, missing directory.
  EXPECT_NE(message([&] { load_checkpoint<3>(path); }).find("dimension 2"), std::string::npos);
  EXPECT_NE(message([&] { load_checkpoint<2>("no_such_checkpoint"); }).find("metadata.json"), std::string::npos);
  // Metadata that does not fit the weights.
  fs::copy(path, path + "_bad", fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  {
    CheckpointMetadata metadata         = read_checkpoint_metadata(path + "_bad");
    metadata["architecture.Width"]      = "16";
    write_checkpoint_metadata(path + "_bad", metadata);
  }
  EXPECT_NE(message([&] { load_checkpoint<2>(path + "_bad"); }).find("Cannot load the weights"), std::string::npos);
  // Truncated weights.
  fs::copy_file(path + "/metadata.json", path + "_bad/metadata.json", fs::copy_options::overwrite_existing);
  fs::resize_file(path + "_bad/weights.pt", fs::file_size(path + "_bad/weights.pt") / 2);
  EXPECT_NE(message([&] { load_checkpoint<2>(path + "_bad"); }).find("Cannot load the weights"), std::string::npos);
  fs::remove_all(path);
  fs::remove_all(path + "_bad");
}


namespace
{
  /** The Gaussian skip test below, for the network's spectral variable
   * (eigenvalues or their blended-mass correction) and table size. */
  void
  check_gaussian_skip(const bool blended_mass_eigenvalues, const unsigned int skip_table_size)
  {
    // With the output layer zeroed, F = (D_gauss - v) / sigma^2. Data and
    // noise variances that are the same in every mode (s = 2, c = 0.5) make
    // the smoothing and the interpolation exact: D_gauss = s/(s + sigma^2 c) v
    // in every mode and in the residual outside the modes.
    test_support::BoundSpace<2> bound("set Cell type = simplex\nset Global refinements = 1\n", 10);
    auto network = test_support::make_network<2>(5, /*gaussian_skip*/ true, blended_mass_eigenvalues,
                                                 skip_table_size);
    network->bind(bound.geometry);
    ASSERT_TRUE(network->uses_mode_variances());
    torch::manual_seed(9);
    const torch::Tensor v     = torch::randn({3, bound.geometry->n_local()}, torch::kFloat64);
    const torch::Tensor sigma = torch::tensor({0.05, 1., 8.}, torch::kFloat64);
    // Before the variances are set: a clear error, not garbage.
    EXPECT_THROW(network->forward(v, sigma), std::exception);
    const auto K = bound.geometry->n_modes();
    network->set_mode_variances(bound.geometry->eigenvalues,
                                torch::full({K}, 2., torch::kFloat64),
                                torch::full({K}, 0.5, torch::kFloat64));
    {
      torch::NoGradGuard no_grad;
      for (const auto &p : network->named_parameters())
        if (p.key().rfind("project_out", 0) == 0)
          p.value().zero_();
    }
    const torch::Tensor f        = network->forward(v, sigma);
    const torch::Tensor s2       = (sigma * sigma).unsqueeze(1);
    const torch::Tensor expected = -0.5 / (2. + 0.5 * s2) * v;
    EXPECT_LT((f - expected).abs().max().item<double>(), 1e-12 * expected.abs().max().item<double>());

    // Mode-dependent variances: in mode k the skip scales the coefficient by
    // s_k / (s_k + sigma^2 c_k) with s, c interpolated from the smoothed
    // tables. For s_k = exp(-omega_k / 10) (log s linear in omega) and c_k = 1
    // the ratio matches the exact one to the smoothing's bias.
    const torch::Tensor omega = torch::sqrt(torch::clamp_min(
      blended_mass_eigenvalues ? bound.geometry->blended_mass_eigenvalues() : bound.geometry->eigenvalues, 0.));
    const torch::Tensor s     = torch::exp(-omega / 10.);
    network->set_mode_variances(bound.geometry->eigenvalues, s, torch::ones({K}, torch::kFloat64));
    const torch::Tensor coefficients = torch::mm(v, bound.geometry->mass_modes);                  // [B,K]
    const torch::Tensor out_coefficients = torch::mm(network->forward(v, sigma), bound.geometry->mass_modes);
    const torch::Tensor ratio_exact = s.unsqueeze(0) / (s.unsqueeze(0) + s2);                     // [B,K]
    const torch::Tensor ratio_seen  = 1. + s2 * out_coefficients / coefficients;                  // D = v + s^2 F
    EXPECT_LT((ratio_seen - ratio_exact).abs().max().item<double>(), 0.05)
      << "largest deviation of the per-mode skip ratio";

    // The tables are buffers: a checkpoint round trip reproduces the output.
    namespace fs           = std::filesystem;
    const std::string path = "checkpoint_gaussian_skip_" + std::to_string(skip_table_size) + ".ddo";
    fs::remove_all(path);
    save_checkpoint(path, *network, "spectral_operator", 2, {});
    auto loaded = load_checkpoint<2>(path);
    EXPECT_TRUE(loaded->uses_mode_variances());
    const auto &loaded_settings = dynamic_cast<SpectralNeuralOperator<2> &>(*loaded).get_settings();
    EXPECT_EQ(loaded_settings.blended_mass_eigenvalues, blended_mass_eigenvalues);
    EXPECT_EQ(loaded_settings.skip_table_size, skip_table_size);
    loaded->bind(bound.geometry);
    EXPECT_TRUE(torch::equal(loaded->forward(v, sigma), network->forward(v, sigma)));
    fs::remove_all(path);
  }
} // namespace


TEST(SpectralNeuralOperator, GaussianSkipIsTheExactGaussianDenoiserWhenTheNetworkOutputIsZero)
{
  check_gaussian_skip(false, 32);
}


TEST(SpectralNeuralOperator, GaussianSkipInBlendedMassEigenvaluesWithAFinerTable)
{
  check_gaussian_skip(true, 64);
}
