// Benchmark of the score network: forward and forward+backward time per
// sample against the number of nodes N, for the mesh spectral operator
// (spectral_operator, K modes, on a P1 triangle mesh of the unit square) and
// a grid FNO of the same width, depth and number of modes written here in
// LibTorch (FFT-based, on a regular n x n grid with n^2 ~ N points), run
// side by side in one process. Prints a table, the log-log slopes and the
// time ratio per point.
//
//   ./benchmarks/network_benchmark [max_subdivisions=128] [batch=8]

#include <deal.II/base/mpi.h>
#include <deal.II/base/timer.h>

#include <ddo/mesh_builder.h>
#include <ddo/network_geometry.h>
#include <ddo/spectral_neural_operator.h>

#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>

using namespace ddo;

namespace
{
  /** A plain 2D FNO block stack on a regular grid (the reference). */
  struct GridFNO : torch::nn::Module
  {
    GridFNO(const int64_t width, const int64_t blocks, const int64_t modes)
      : modes(modes)
    {
      lift = register_module("lift", torch::nn::Linear(3, width));
      for (int64_t b = 0; b < blocks; ++b)
        {
          pointwise.push_back(register_module("pointwise_" + std::to_string(b),
                                              torch::nn::Linear(width, width)));
          weights.push_back(register_parameter(
            "spectral_" + std::to_string(b),
            torch::randn({width, width, modes, modes, 2}) / (width * width)));
        }
      project_hidden = register_module("project_hidden", torch::nn::Linear(width, 2 * width));
      project_out    = register_module("project_out", torch::nn::Linear(2 * width, 1));
    }

    torch::Tensor
    forward(const torch::Tensor &v, const torch::Tensor &coordinates)
    {
      const int64_t batch = v.size(0), n = v.size(1);
      torch::Tensor h = lift(torch::cat({v.unsqueeze(-1), coordinates.expand({batch, n, n, 2})}, -1));
      for (std::size_t b = 0; b < pointwise.size(); ++b)
        {
          torch::Tensor x      = h.permute({0, 3, 1, 2});                 // [B,W,n,n]
          torch::Tensor x_hat  = torch::fft::rfft2(x);                    // [B,W,n,n/2+1]
          torch::Tensor w      = torch::view_as_complex(weights[b]);       // [W,W,m,m]
          torch::Tensor low    = x_hat.index({torch::indexing::Slice(), torch::indexing::Slice(),
                                              torch::indexing::Slice(0, modes),
                                              torch::indexing::Slice(0, modes)});
          torch::Tensor out_hat = torch::zeros_like(x_hat);
          out_hat.index_put_({torch::indexing::Slice(), torch::indexing::Slice(),
                              torch::indexing::Slice(0, modes), torch::indexing::Slice(0, modes)},
                             torch::einsum("bixy,ioxy->boxy", {low, w}));
          torch::Tensor spectral = torch::fft::irfft2(out_hat, {n, n}).permute({0, 2, 3, 1});
          h = h + torch::gelu(pointwise[b](h) + spectral);
        }
      return project_out(torch::gelu(project_hidden(h))).squeeze(-1);
    }

    int64_t                           modes;
    torch::nn::Linear                 lift{nullptr}, project_hidden{nullptr}, project_out{nullptr};
    std::vector<torch::nn::Linear>    pointwise;
    std::vector<torch::Tensor>        weights;
  };

  template <typename F>
  double
  seconds_per_call(F &&f, const int repetitions)
  {
    f(); // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repetitions; ++r)
      f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repetitions;
  }

  double
  slope(const std::vector<double> &x, const std::vector<double> &y)
  {
    double mx = 0, my = 0;
    for (unsigned int i = 0; i < x.size(); ++i)
      {
        mx += std::log(x[i]) / x.size();
        my += std::log(y[i]) / x.size();
      }
    double sxy = 0, sxx = 0;
    for (unsigned int i = 0; i < x.size(); ++i)
      {
        sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my);
        sxx += (std::log(x[i]) - mx) * (std::log(x[i]) - mx);
      }
    return sxy / sxx;
  }
} // namespace


int
main(int argc, char **argv)
{
  Utilities::MPI::MPI_InitFinalize mpi(argc, argv, 1);
  const unsigned int max_subdivisions = argc > 1 ? std::stoi(argv[1]) : 128;
  const int64_t      batch            = argc > 2 ? std::stoi(argv[2]) : 8;
  const int64_t      width = 32, blocks = 4, modes_per_axis = 8, K = modes_per_axis * modes_per_axis;
  at::set_num_threads(2);

  std::cout << "Score network benchmark: width " << width << ", " << blocks << " blocks, K = " << K
            << " modes (grid FNO: " << modes_per_axis << "x" << modes_per_axis
            << "), batch " << batch << ", float32, " << at::get_num_threads() << " threads\n\n"
            << std::setw(8) << "N" << std::setw(14) << "mesh fwd" << std::setw(14) << "mesh f+b"
            << std::setw(14) << "grid fwd" << std::setw(14) << "grid f+b" << std::setw(12)
            << "ratio fwd" << std::setw(12) << "ratio f+b" << "   (ms per sample)\n";

  std::vector<double> n_points, mesh_forward, mesh_both, grid_forward, grid_both;
  for (unsigned int n = 32; n <= max_subdivisions; n *= 2)
    {
      // The mesh operator on an unstructured P1 triangle mesh with (n+1)^2 nodes.
      ParameterHandler prm;
      MeshBuilder<2>::declare_parameters(prm);
      prm.parse_input_from_string("subsection Mesh\nset Cell type = simplex\nset Distortion = 0.2\n"
                                  "subsection box\nset Subdivisions = " + std::to_string(n / 2) +
                                  "\nend\nset Global refinements = 1\nend\n");
      MeshBuilder<2> builder;
      builder.parse_parameters(prm);
      FunctionSpace<2>  space(builder.create(MPI_COMM_SELF), 1);
      SpectralBasis<2>  basis(space, K);
      auto              geometry = make_network_geometry(space, basis, torch::kFloat32);
      SpectralNeuralOperator<2> mesh_network;
      SpectralNeuralOperator<2>::Settings settings;
      settings.width  = width;
      settings.blocks = blocks;
      mesh_network.set_settings(settings);
      mesh_network.build(torch::kFloat32);
      mesh_network.bind(geometry);
      const int64_t N     = geometry->n_local();
      torch::Tensor v     = torch::randn({batch, N});
      torch::Tensor sigma = torch::full({batch}, 0.5);

      // The grid FNO on an (n+1) x (n+1) grid: the same number of points.
      GridFNO       grid(width, blocks, modes_per_axis);
      const int64_t g      = n + 1;
      torch::Tensor grid_v = torch::randn({batch, g, g});
      torch::Tensor axis   = torch::linspace(0, 1, g);
      torch::Tensor coordinates = torch::stack(torch::meshgrid({axis, axis}, "ij"), -1).unsqueeze(0);

      const int reps = N < 5000 ? 10 : 3;
      const double mf = seconds_per_call([&] { torch::NoGradGuard ng; mesh_network.forward(v, sigma); }, reps);
      const double mb = seconds_per_call([&] { mesh_network.forward(v, sigma).sum().backward(); }, reps);
      const double gf = seconds_per_call([&] { torch::NoGradGuard ng; grid.forward(grid_v, coordinates); }, reps);
      const double gb = seconds_per_call([&] { grid.forward(grid_v, coordinates).sum().backward(); }, reps);

      n_points.push_back(N);
      mesh_forward.push_back(mf / batch);
      mesh_both.push_back(mb / batch);
      grid_forward.push_back(gf / batch);
      grid_both.push_back(gb / batch);
      std::cout << std::setw(8) << N << std::fixed << std::setprecision(3) << std::setw(14)
                << 1e3 * mf / batch << std::setw(14) << 1e3 * mb / batch << std::setw(14)
                << 1e3 * gf / batch << std::setw(14) << 1e3 * gb / batch << std::setw(12)
                << mf / gf << std::setw(12) << mb / gb << std::endl;
    }
  std::cout << "\nlog-log slope of time per sample in N: mesh forward " << slope(n_points, mesh_forward)
            << ", mesh forward+backward " << slope(n_points, mesh_both) << ", grid forward "
            << slope(n_points, grid_forward) << ", grid forward+backward " << slope(n_points, grid_both)
            << std::endl;
  return 0;
}
