// Benchmark of the score network: forward and forward+backward time per
// sample and memory per sample against the number of nodes N, for the mesh
// spectral operator (spectral_operator, K modes, on a P1 triangle mesh of the
// unit square in 2D, a Q1 hexahedral mesh of the unit cube in 3D) and a grid
// FNO of the same width, depth and number of modes written here in LibTorch
// (rfftn/irfftn with mode truncation, on a regular g^d grid with g^d ~ N
// points), run side by side in one process with the same batch, dtype
// (float32) and intra-op threads.
//
//   ./benchmarks/network_benchmark [--max-subdivisions 128]
//       [--max-dofs-3d 70000] [--batch 8] [--threads 2] [--blas-threads 1]
//       [--profile trace.json] [--output ../doc/benchmarks_network.md]
//
// (The old positional form `network_benchmark 128 8` still works.)
// --threads: torch's intra-op threads; --blas-threads: OpenBLAS's own
// threads (if libblas.so.3 is the pthreads OpenBLAS; torch's threads already
// fill the cores, more would oversubscribe them). --profile writes a Chrome
// trace (torch's legacy profiler) of two forward+backward passes of the mesh
// operator on the largest 2D mesh.

#include <deal.II/base/mpi.h>

#include "benchmark_utilities.h"
#include <ddo/base/mpi_session.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/torch/network/network_geometry.h>
#include <ddo/torch/network/spectral_neural_operator.h>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <unordered_map>

using namespace ddo;

namespace
{
  /**
   * A plain 2D FNO (Li et al. 2021) on a regular grid, the reference:
   * lifting and projection pointwise, per block
   * h <- GELU(W h + irfft2(R . rfft2(h)[modes])) + h with a pointwise W and
   * the lowest modes x modes Fourier coefficients kept. Two layouts of h:
   * the canonical [B, W, n, n] (W a 1x1 convolution, no permutes inside the
   * blocks) and channels-last [B, n, n, W] (W a linear layer); the benchmark
   * counts the faster.
   */
  template <int dim>
  struct GridFNO : torch::nn::Module
  {
    GridFNO(const int64_t width, const int64_t blocks, const int64_t modes)
      : modes(modes)
    {
      lift = register_module("lift", torch::nn::Linear(1 + dim, width));
      std::vector<int64_t> weight_shape = {width, width};
      for (int d = 0; d < dim; ++d)
        weight_shape.push_back(modes);
      weight_shape.push_back(2);
      for (int64_t b = 0; b < blocks; ++b)
        {
          pointwise.push_back(register_module(
            "pointwise_" + std::to_string(b),
            torch::nn::Conv2d(torch::nn::Conv2dOptions(width, width, 1))));
          weights.push_back(register_parameter("spectral_" + std::to_string(b),
                                               torch::randn(weight_shape) / (width * width)));
        }
      project_hidden = register_module("project_hidden", torch::nn::Linear(width, 2 * width));
      project_out    = register_module("project_out", torch::nn::Linear(2 * width, 1));
    }

    /** @p v: [B, n, ..., n] (dim axes), @p coordinates: [1, n, ..., n, dim]. */
    torch::Tensor
    forward(const torch::Tensor &v, const torch::Tensor &coordinates)
    {
      std::vector<int64_t> shape = v.sizes().vec();
      shape.push_back(dim);
      torch::Tensor h = lift(torch::cat({v.unsqueeze(-1), coordinates.expand(shape)}, -1));
      if (channels_last)
        {
          // [B,n..,W] throughout: the pointwise layers are Linear (one GEMM
          // over B n^dim rows), the FFTs run on a permuted view.
          for (std::size_t b = 0; b < pointwise.size(); ++b)
            {
              torch::Tensor spectral = spectral_convolution(h.movedim(-1, 1), b);
              h = h + torch::gelu(torch::nn::functional::linear(h,
                                                                pointwise[b]->weight.flatten(1),
                                                                pointwise[b]->bias) +
                                  spectral.movedim(1, -1));
            }
          return project_out(torch::gelu(project_hidden(h))).squeeze(-1);
        }
      h = h.movedim(-1, 1).contiguous(); // [B,W,n..]
      for (std::size_t b = 0; b < pointwise.size(); ++b)
        h = h + torch::gelu(pointwise_convolution(h, b) + spectral_convolution(h, b));
      return project_out(torch::gelu(project_hidden(h.movedim(1, -1)))).squeeze(-1);
    }

    /** The 1x1(x1) convolution of block @p b on x: [B,W,n..]. */
    torch::Tensor
    pointwise_convolution(const torch::Tensor &x, const std::size_t b)
    {
      if (dim == 2)
        return pointwise[b](x);
      return torch::nn::functional::conv3d(x,
                                           pointwise[b]->weight.unsqueeze(-1),
                                           torch::nn::functional::Conv3dFuncOptions().bias(
                                             pointwise[b]->bias));
    }

    /** irfftn(R . rfftn(x)[low modes]) of x: [B,W,n..]. */
    torch::Tensor
    spectral_convolution(const torch::Tensor &x, const std::size_t b)
    {
      using torch::indexing::Slice;
      std::vector<int64_t>               axes, sizes;
      std::vector<torch::indexing::TensorIndex> low_index = {Slice(), Slice()};
      for (int d = 0; d < dim; ++d)
        {
          axes.push_back(2 + d);
          sizes.push_back(x.size(2 + d));
          low_index.push_back(Slice(0, modes));
        }
      torch::Tensor x_hat   = torch::fft::rfftn(x, c10::nullopt, axes); // [B,W,n..,n/2+1]
      torch::Tensor w       = torch::view_as_complex(weights[b]);
      torch::Tensor low     = x_hat.index(low_index);
      torch::Tensor out_hat = torch::zeros_like(x_hat);
      out_hat.index_put_(low_index,
                         torch::einsum(dim == 2 ? "bixy,ioxy->boxy" : "bixyz,ioxyz->boxyz",
                                       {low, w}));
      return torch::fft::irfftn(out_hat, sizes, axes);
    }

    /** Layout of the hidden state: [B,n..,W] if true, else [B,W,n..]. */
    bool                           channels_last = false;
    int64_t                        modes;
    torch::nn::Linear              lift{nullptr}, project_hidden{nullptr}, project_out{nullptr};
    std::vector<torch::nn::Conv2d> pointwise;
    std::vector<torch::Tensor>     weights;
  };

  template <typename F>
  double
  seconds_per_call(F &&f, const int repetitions)
  {
    f(); // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repetitions; ++r)
      f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
           repetitions;
  }

  /**
   * torch's CPU allocator with a count of the bytes in use and their peak:
   * the memory a call allocates (activations saved for the backward pass,
   * temporaries), independent of the heap's caching. Installed for the
   * whole program; data pointer = context, so raw_allocate() works too.
   */
  class CountingAllocator final : public c10::Allocator
  {
  public:
    c10::DataPtr
    allocate(const std::size_t n) const override
    {
      void *data = c10::alloc_cpu(n);
      {
        std::lock_guard<std::mutex> lock(mutex);
        sizes[data] = n;
        current += n;
        peak = std::max(peak, current);
      }
      return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
    }

    c10::DeleterFnPtr
    raw_deleter() const override
    {
      return &release;
    }

    /** Resets the peak to the bytes in use now; returns them. */
    static std::size_t
    reset_peak()
    {
      std::lock_guard<std::mutex> lock(mutex);
      peak = current;
      return current;
    }

    static std::size_t
    peak_bytes()
    {
      std::lock_guard<std::mutex> lock(mutex);
      return peak;
    }

  private:
    static void
    release(void *data)
    {
      {
        std::lock_guard<std::mutex> lock(mutex);
        const auto it = sizes.find(data);
        if (it != sizes.end())
          {
            current -= it->second;
            sizes.erase(it);
          }
      }
      c10::free_cpu(data);
    }

    static inline std::mutex                              mutex;
    static inline std::unordered_map<void *, std::size_t> sizes;
    static inline std::size_t                             current = 0, peak = 0;
  };

  /** Peak of torch's allocations during one call of @p f beyond those alive before, MB. */
  template <typename F>
  double
  peak_memory_mb(F &&f)
  {
    f(); // warm-up
    const std::size_t before = CountingAllocator::reset_peak();
    f();
    return (CountingAllocator::peak_bytes() - before) / 1048576.;
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

  std::string
  fixed(const double x, const int digits)
  {
    std::ostringstream out;
    out << std::fixed << std::setprecision(digits) << x;
    return out.str();
  }

  struct Row
  {
    int     dim;
    int64_t n_points, grid_points;
    double  mesh_forward, mesh_both, grid_forward, grid_both; // ms per sample
    double  mesh_memory, grid_memory;                         // MB per sample, f+b
  };

  struct Options
  {
    unsigned int max_subdivisions = 128;   // 2D
    double       max_dofs_3d      = 70000; // 3D
    int64_t      batch            = 8;
    int          threads = 2, blas_threads = 1;
    std::string  profile, output;
  };

  constexpr int64_t width = 32, blocks = 4, modes_per_axis_2d = 8, modes_per_axis_3d = 4,
                    n_modes = 64;

  /**
   * The mesh of one row: 2D, an unstructured P1 triangle mesh of the unit
   * square with (2n+1)^2 nodes (n/2 distorted subdivisions into triangles,
   * refined once); 3D,
   * a distorted Q1 hexahedral mesh of the unit cube with (n+1)^3 nodes.
   */
  template <int dim>
  std::string
  mesh_parameters(const unsigned int n)
  {
    if (dim == 2)
      return "subsection Mesh\nset Cell type = simplex\nset Distortion = 0.2\n"
             "subsection box\nset Subdivisions = " +
             std::to_string(n / 2) + "\nend\nset Global refinements = 1\nend\n";
    return "subsection Mesh\nset Distortion = 0.2\nsubsection box\nset Subdivisions = " +
           std::to_string(n) + "\nend\nend\n";
  }

  /** Times both networks on one mesh and its grid; prints and returns the row. */
  template <int dim>
  Row
  measure(const Options &options, const unsigned int n)
  {
    const int64_t batch = options.batch;
    ParameterHandler prm;
    MeshBuilder<dim>::declare_parameters(prm);
    prm.parse_input_from_string(mesh_parameters<dim>(n));
    MeshBuilder<dim> builder;
    builder.parse_parameters(prm);
    FunctionSpace<dim>                    space(builder.create(MPI_COMM_SELF), 1);
    SpectralBasis<dim>                    basis(space, n_modes);
    auto                                  geometry = make_network_geometry(space, basis, torch::kFloat32);
    SpectralNeuralOperator<dim>           mesh_network;
    typename SpectralNeuralOperator<dim>::Settings settings;
    settings.width  = width;
    settings.blocks = blocks;
    mesh_network.set_settings(settings);
    mesh_network.build(torch::kFloat32);
    mesh_network.bind(geometry);
    const int64_t N     = geometry->n_local();
    torch::Tensor v     = torch::randn({batch, N});
    torch::Tensor sigma = torch::full({batch}, 0.5);

    // The grid FNO on a g^dim grid, g the power of two nearest to N^(1/dim)
    // (FFT-friendly, as an FNO is run); its times and memory are scaled by
    // N / g^dim below, per point. It keeps the lowest m^dim Fourier modes,
    // m^dim = K.
    GridFNO<dim>  grid(width, blocks, dim == 2 ? modes_per_axis_2d : modes_per_axis_3d);
    const int64_t g = int64_t(1) << std::lround(std::log2(std::pow(double(N), 1. / dim)));
    int64_t       grid_points = 1;
    std::vector<int64_t> grid_shape = {batch};
    std::vector<torch::Tensor> axes;
    for (int d = 0; d < dim; ++d)
      {
        grid_shape.push_back(g);
        grid_points *= g;
        axes.push_back(torch::linspace(0, 1, g));
      }
    torch::Tensor grid_v      = torch::randn(grid_shape);
    torch::Tensor coordinates = torch::stack(torch::meshgrid(axes, "ij"), -1).unsqueeze(0);

    const auto mesh_forward = [&] {
      torch::NoGradGuard ng;
      mesh_network.forward(v, sigma);
    };
    const auto mesh_both = [&] {
      mesh_network.zero_grad();
      mesh_network.forward(v, sigma).sum().backward();
    };
    // The reference is the faster of the FNO's two layouts, measured
    // separately for forward and forward+backward.
    const auto grid_forward = [&] {
      torch::NoGradGuard ng;
      grid.forward(grid_v, coordinates);
    };
    const auto grid_both = [&] {
      grid.zero_grad();
      grid.forward(grid_v, coordinates).sum().backward();
    };
    const auto grid_seconds = [&](const auto &call, const int reps) {
      double best = 1e300;
      for (const bool channels_last : {false, true})
        {
          grid.channels_last = channels_last;
          best               = std::min(best, seconds_per_call(call, reps));
        }
      return best;
    };

    // Interleaved, best of 3 rounds: the machine is shared, the minimum is
    // the least disturbed measurement of each.
    const int reps = N < 5000 ? 10 : (N < 20000 ? 4 : 2);
    Row       row{dim, N, grid_points, 1e300, 1e300, 1e300, 1e300, 0, 0};
    for (int round = 0; round < 3; ++round)
      {
        row.mesh_forward = std::min(row.mesh_forward, seconds_per_call(mesh_forward, reps));
        row.grid_forward = std::min(row.grid_forward, grid_seconds(grid_forward, reps));
        row.mesh_both    = std::min(row.mesh_both, seconds_per_call(mesh_both, reps));
        row.grid_both    = std::min(row.grid_both, grid_seconds(grid_both, reps));
      }
    const double to_n_points = double(N) / double(grid_points);
    for (double *t : {&row.mesh_forward, &row.mesh_both, &row.grid_forward, &row.grid_both})
      *t *= 1e3 / batch;
    for (double *t : {&row.grid_forward, &row.grid_both})
      *t *= to_n_points;
    row.mesh_memory    = peak_memory_mb(mesh_both) / batch;
    grid.channels_last = false;
    const double grid_memory = peak_memory_mb(grid_both);
    grid.channels_last       = true;
    row.grid_memory = std::min(grid_memory, peak_memory_mb(grid_both)) / batch * to_n_points;
    std::cout << std::setw(4) << dim << std::setw(8) << N << std::fixed << std::setprecision(3)
              << std::setw(12) << row.mesh_forward << std::setw(12) << row.mesh_both
              << std::setw(12) << row.grid_forward << std::setw(12) << row.grid_both
              << std::setw(10) << row.mesh_forward / row.grid_forward << std::setw(10)
              << row.mesh_both / row.grid_both << std::setw(12) << row.mesh_memory
              << std::setw(12) << row.grid_memory << std::endl;

    if (!options.profile.empty() && dim == 2 && 2 * n > options.max_subdivisions)
      {
        mesh_both();
        {
          torch::autograd::profiler::RecordProfile guard(options.profile);
          for (int r = 0; r < 2; ++r)
            mesh_both();
        }
        std::cout << "profile of the mesh operator (N = " << N << ") written to "
                  << options.profile << std::endl;
      }
    return row;
  }

  /** Slopes of log(time) over log N of one dimension's rows: over the
   * meshes with N >= 10^4 when there are two, else over all. */
  struct Slopes
  {
    bool   large;
    double forward, both, all_forward, all_both, grid_forward, grid_both;
  };

  Slopes
  slopes_of(const std::vector<Row> &rows, const int dim)
  {
    std::vector<double> x, mf, mb, gf, gb, xl, mfl, mbl;
    for (const Row &r : rows)
      if (r.dim == dim)
        {
          x.push_back(r.n_points);
          mf.push_back(r.mesh_forward);
          mb.push_back(r.mesh_both);
          gf.push_back(r.grid_forward);
          gb.push_back(r.grid_both);
          if (r.n_points >= 10000)
            {
              xl.push_back(r.n_points);
              mfl.push_back(r.mesh_forward);
              mbl.push_back(r.mesh_both);
            }
        }
    Slopes s;
    s.large        = xl.size() >= 2;
    s.forward      = s.large ? slope(xl, mfl) : slope(x, mf);
    s.both         = s.large ? slope(xl, mbl) : slope(x, mb);
    s.all_forward  = slope(x, mf);
    s.all_both     = slope(x, mb);
    s.grid_forward = slope(x, gf);
    s.grid_both    = slope(x, gb);
    return s;
  }
} // namespace


int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  Options      options;
  unsigned int positional = 0;
  for (int i = 1; i < argc; ++i)
    {
      const std::string arg  = argv[i];
      const auto        next = [&]() -> std::string {
        AssertThrow(i + 1 < argc, ExcMessage("network_benchmark: " + arg + " needs a value."));
        return argv[++i];
      };
      const auto number = [&](const std::string &text) {
        AssertThrow(!text.empty() && std::isdigit(text[0]),
                    ExcMessage("network_benchmark: " + arg + ": a positive number expected, got '" +
                               text + "'."));
        return std::stod(text);
      };
      if (arg == "--max-subdivisions")
        options.max_subdivisions = number(next());
      else if (arg == "--max-dofs-3d")
        options.max_dofs_3d = number(next());
      else if (arg == "--batch")
        options.batch = number(next());
      else if (arg == "--threads")
        options.threads = number(next());
      else if (arg == "--blas-threads")
        options.blas_threads = number(next());
      else if (arg == "--profile")
        options.profile = next();
      else if (arg == "--output")
        options.output = next();
      else if (positional == 0 && std::isdigit(arg[0]))
        options.max_subdivisions = std::stoi(arg), ++positional;
      else if (positional == 1 && std::isdigit(arg[0]))
        options.batch = std::stoi(arg), ++positional;
      else
        AssertThrow(false,
                    ExcMessage("network_benchmark: unknown argument " + arg +
                               "; see the comment at the top of network_benchmark.cc."));
    }
  const std::string command_line =
    "./benchmarks/network_benchmark --max-subdivisions " +
    std::to_string(options.max_subdivisions) + " --max-dofs-3d " +
    std::to_string(std::lround(options.max_dofs_3d)) + " --batch " +
    std::to_string(options.batch) + " --threads " + std::to_string(options.threads) +
    " --blas-threads " + std::to_string(options.blas_threads);

  static CountingAllocator counting_allocator;
  c10::SetCPUAllocator(&counting_allocator, /*priority*/ 100);
  at::set_num_threads(options.threads);
  using SetThreads = void (*)(int);
  if (const auto set_blas_threads =
        reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas_threads(options.blas_threads);

  std::cout << "Score network benchmark: width " << width << ", " << blocks << " blocks, K = "
            << n_modes << " modes (grid FNO: " << modes_per_axis_2d << "^2 / "
            << modes_per_axis_3d << "^3), batch " << options.batch << ", float32, "
            << at::get_num_threads() << " torch threads, BLAS " << benchmark_support::blas_library("sgemm_") << " ("
            << options.blas_threads << " thread(s))\n\n"
            << std::setw(4) << "dim" << std::setw(8) << "N" << std::setw(12) << "mesh fwd"
            << std::setw(12) << "mesh f+b" << std::setw(12) << "grid fwd" << std::setw(12)
            << "grid f+b" << std::setw(10) << "ratio fwd" << std::setw(10) << "ratio f+b"
            << std::setw(12) << "mesh MB" << std::setw(12) << "grid MB"
            << "   (ms and MB (f+b peak allocation) per sample; grid scaled to N points)\n";

  std::vector<Row> rows;
  for (unsigned int n = 32; n <= options.max_subdivisions; n *= 2)
    rows.push_back(measure<2>(options, n));
  for (const unsigned int n : {16u, 24u, 32u, 40u, 48u, 64u})
    if (std::pow(n + 1., 3) <= options.max_dofs_3d)
      rows.push_back(measure<3>(options, n));

  std::cout << '\n';
  for (const int dim : {2, 3})
    {
      const Slopes s = slopes_of(rows, dim);
      std::cout << dim << "D log-log slope of time per sample in N ("
                << (s.large ? "N >= 10^4" : "all N") << "): mesh forward " << s.forward
                << ", mesh forward+backward " << s.both << "; over all N: mesh "
                << s.all_forward << ", " << s.all_both << ", grid " << s.grid_forward << ", "
                << s.grid_both << std::endl;
    }

  if (!options.output.empty())
    {
      std::ofstream out(options.output);
      AssertThrow(out, ExcMessage("network_benchmark: cannot write " + options.output + "."));
      const std::string cpu = benchmark_support::first_line_of("/proc/cpuinfo", "model name");
      out << "# Score network benchmark\n\n"
          << "Generated by `benchmarks/network_benchmark.cc` (build with "
             "`-DDDO_BUILD_BENCHMARKS=ON`):\n\n    "
          << command_line << " --output ../doc/benchmarks_network.md\n\n"
          << "Machine: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, `"
          << (cpu.empty() ? "unknown" : cpu.substr(cpu.find(':') + 2))
          << "`; load average when the table was written: " << benchmark_support::first_line_of("/proc/loadavg", "")
          << " (a shared machine: other jobs inflate the times). LibTorch " << TORCH_VERSION
          << " (Debian), " << at::get_num_threads() << " intra-op threads, float32; BLAS `"
          << benchmark_support::blas_library("sgemm_") << "` with " << options.blas_threads << " thread(s).\n\n"
          << "Both networks: width " << width << ", " << blocks << " blocks, K = " << n_modes
          << " modes (the grid FNO keeps the lowest " << modes_per_axis_2d << " x "
          << modes_per_axis_2d << " (2D) or " << modes_per_axis_3d << " x " << modes_per_axis_3d
          << " x " << modes_per_axis_3d << " (3D) Fourier modes), batch " << options.batch
          << ", run side by side in one process (interleaved, best of 3 rounds). The mesh operator "
             "runs on an unstructured P1 triangle mesh of the unit square (2D) or a distorted Q1 "
             "hexahedral mesh of the unit cube (3D) with N nodes (and has, unlike the FNO, an "
             "instance norm and FiLM in every block); the grid FNO (rfftn/irfftn, timed in both "
             "layouts, [B, W, n..] with a 1x1 convolution and [B, n.., W] with a linear layer, "
             "the faster counted) on a regular g^d grid, g the power of two nearest to N^(1/d) "
             "(FFT-friendly, as an FNO is run); its times and memory are scaled by N/g^d, so "
             "the ratios are per point. Times in ms per sample; memory: peak of torch's CPU "
             "allocations during one forward+backward call beyond those alive before "
             "(parameters, mesh data), per sample (MB).\n\n"
          << "| dim | N | mesh forward | mesh forward+backward | grid FNO forward | grid FNO "
             "forward+backward | ratio forward | ratio f+b | mesh MB/sample | grid MB/sample |\n"
          << "|---|---|---|---|---|---|---|---|---|---|\n";
      double worst_f = 0, worst_b = 0;
      for (const Row &r : rows)
        {
          out << "| " << r.dim << "D | " << r.n_points << " | " << fixed(r.mesh_forward, 2)
              << " | " << fixed(r.mesh_both, 2) << " | " << fixed(r.grid_forward, 2) << " | "
              << fixed(r.grid_both, 2) << " | " << fixed(r.mesh_forward / r.grid_forward, 2)
              << " | " << fixed(r.mesh_both / r.grid_both, 2) << " | "
              << fixed(r.mesh_memory, 1) << " | " << fixed(r.grid_memory, 1) << " |\n";
          worst_f = std::max(worst_f, r.mesh_forward / r.grid_forward);
          worst_b = std::max(worst_b, r.mesh_both / r.grid_both);
        }
      const auto verdict = [](const bool met) { return met ? "**met**" : "**not met**"; };
      out << "\nLog-log slope of the mesh operator's time per sample in N:\n\n";
      bool slopes_met = true;
      for (const int dim : {2, 3})
        {
          const Slopes s = slopes_of(rows, dim);
          out << "- " << dim << "D (" << (s.large ? "meshes with N >= 10^4" : "all meshes")
              << "): " << fixed(s.forward, 2) << " (forward), " << fixed(s.both, 2)
              << " (forward+backward); over all meshes " << fixed(s.all_forward, 2) << ", "
              << fixed(s.all_both, 2) << " (grid FNO " << fixed(s.grid_forward, 2) << ", "
              << fixed(s.grid_both, 2) << ").\n";
          slopes_met = slopes_met && s.forward <= 1.15 && s.both <= 1.15;
        }
      out << "\n**Target: within 2x of the grid FNO per point, slope <= 1.15.** "
          << "Largest ratio: " << fixed(worst_f, 2) << " (forward) " << verdict(worst_f <= 2)
          << ", " << fixed(worst_b, 2) << " (forward+backward) " << verdict(worst_b <= 2)
          << "; slope " << verdict(slopes_met) << ".\n";
    }
  return 0;
}
