// Benchmark of the whole-spectrum skip's Chebyshev series, the part of the
// spectral network whose cost grows with the mesh's resolution: the series
// Σ_j c_j T_j(2A/bound − I) r of the lumped operator A = M_L⁻¹K (mass
// iterations m = 0) and of the mass-corrected q_m(M_L⁻¹M) M_L⁻¹K (m = 4), on
// distorted simplex meshes of the unit square from 10³ to 10⁶ DoFs, side by
// side in one run: operator by operator through torch's sparse COO products
// and autograd (whole_spectrum::chebyshev_series_through_torch) against the
// fused compressed-row loops the skip uses (whole_spectrum::chebyshev_series),
// forward and forward+backward, float32, fixed degree and batch. No
// eigenmodes are computed: the series needs only the lumped operators.
//
//   ./benchmarks/whole_spectrum_benchmark [--max-dofs 1100000] [--batch 16]
//       [--degree 16] [--threads 1] [--output ../doc/benchmarks_whole_spectrum.md]

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>

#include "benchmark_utilities.h"
#include <ddo/base/mpi_session.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/torch/network/network_geometry.h>
#include <ddo/torch/network/whole_spectrum_skip.h>
#include <ddo/torch/torch_bridge.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

using namespace ddo;

namespace
{
  struct Options
  {
    double       max_dofs = 1.1e6;
    std::int64_t batch    = 16;
    std::int64_t degree   = 16;
    int          threads  = 1;
    std::string  output;
  };

  struct Row
  {
    std::int64_t dofs = 0;
    unsigned int mass_iterations = 0;
    double       setup = 0, torch_forward = 0, fused_forward = 0, torch_both = 0, fused_both = 0;
  };

  using Clock = std::chrono::steady_clock;

  double
  seconds_since(const Clock::time_point start)
  {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  /** The least of a few timings of @p f (at least 3, about 2 s in all). */
  template <typename F>
  double
  best_time(F &&f)
  {
    double best = 1e300, total = 0;
    for (int k = 0; k < 3 || (total < 2. && k < 20); ++k)
      {
        const auto start = Clock::now();
        f();
        const double t = seconds_since(start);
        best           = std::min(best, t);
        total += t;
      }
    return best;
  }

  /** A distorted simplex mesh of the unit square with (2s+1)² nodes. */
  std::unique_ptr<FunctionSpace<2>>
  make_space(const unsigned int subdivisions)
  {
    ParameterHandler prm;
    MeshBuilder<2>::declare_parameters(prm);
    prm.parse_input_from_string("subsection Mesh\nset Cell type = simplex\nset Distortion = 0.2\n"
                                "subsection box\nset Subdivisions = " +
                                std::to_string(subdivisions) + "\nend\nend\n");
    MeshBuilder<2> builder;
    builder.parse_parameters(prm);
    return std::make_unique<FunctionSpace<2>>(builder.create(MPI_COMM_SELF), 1);
  }

  /** Times both forms of the series on one mesh, for m = 0 and 4. */
  std::vector<Row>
  measure(const Options &options, const unsigned int subdivisions)
  {
    const auto      start = Clock::now();
    const auto      space = make_space(subdivisions);
    NetworkGeometry geometry;
    geometry.weights = torch_bridge::to_tensor(space->quadrature_weights(), torch::kFloat32)[0];
    add_lumped_operators(geometry, *space, torch::kFloat32);
    const double setup = seconds_since(start);

    const std::int64_t N = geometry.n_local(), B = options.batch, J = options.degree;
    torch::manual_seed(1);
    const torch::Tensor rest         = torch::randn({N, B});
    const torch::Tensor weights      = torch::randn({N, B});
    const torch::Tensor coefficients = torch::randn({B, J + 1}, torch::kFloat64) /
                                       (1. + torch::arange(J + 1, torch::kFloat64)).view({1, -1});
    std::vector<Row> rows;
    for (const unsigned int m : {0u, 4u})
      {
        const whole_spectrum::SpectrumOperator op(geometry, m);
        const double                           bound = op.eigenvalue_bound();
        const auto forward = [&](const bool fused) {
          torch::NoGradGuard no_grad;
          return fused ? whole_spectrum::chebyshev_series(geometry, m, rest, coefficients, bound) :
                         whole_spectrum::chebyshev_series_through_torch(op, rest, coefficients, bound);
        };
        const auto both = [&](const bool fused) {
          torch::Tensor x = rest.clone().requires_grad_(true);
          torch::Tensor y = fused ? whole_spectrum::chebyshev_series(geometry, m, x, coefficients, bound) :
                                    whole_spectrum::chebyshev_series_through_torch(op, x, coefficients, bound);
          (y * weights).sum().backward();
        };
        Row row;
        row.dofs            = N;
        row.mass_iterations = m;
        row.setup           = setup;
        row.torch_forward   = best_time([&] { forward(false); });
        row.fused_forward   = best_time([&] { forward(true); });
        row.torch_both      = best_time([&] { both(false); });
        row.fused_both      = best_time([&] { both(true); });
        const double per = 1e6 / double(J * B);
        std::cout << std::setw(8) << N << " DoFs, m = " << m << ": forward " << std::fixed << std::setprecision(2)
                  << row.torch_forward * per << " -> " << row.fused_forward * per << " us, forward+backward "
                  << row.torch_both * per << " -> " << row.fused_both * per
                  << " us per degree and sample (torch -> fused); set-up " << setup << " s" << std::endl;
        rows.push_back(row);
      }
    return rows;
  }

  /** Least-squares slope of log y against log x. */
  double
  log_slope(const std::vector<double> &x, const std::vector<double> &y)
  {
    double mx = 0, my = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      mx += std::log(x[i]) / x.size(), my += std::log(y[i]) / x.size();
    double sxy = 0, sxx = 0;
    for (std::size_t i = 0; i < x.size(); ++i)
      sxy += (std::log(x[i]) - mx) * (std::log(y[i]) - my), sxx += std::pow(std::log(x[i]) - mx, 2);
    return sxy / sxx;
  }

  std::string
  page(const Options &options, const std::vector<Row> &rows, const double total)
  {
    std::ostringstream out;
    const double       per = 1e6 / double(options.degree * options.batch);
    out << std::fixed << std::setprecision(2);
    out << "# Benchmark: the whole-spectrum skip's Chebyshev series\n\n"
        << "Generated by `benchmarks/whole_spectrum_benchmark` (`--max-dofs " << static_cast<long>(options.max_dofs) << " --batch "
        << options.batch << " --degree " << options.degree << " --threads " << options.threads
        << " --output ...`). Machine: " << benchmark_support::cpu_model() << ", " << options.threads
        << " torch thread(s), float32.\n\n"
        << "The series Σ_j c_j T_j(2A/bound − I) r that the whole-spectrum skip (`Skip spectrum = whole`) applies "
           "above the network's eigenmodes, at degree "
        << options.degree << " and batch " << options.batch
        << ", on distorted simplex meshes of the unit square. Two forms side by side in this run: operator by "
           "operator through torch's sparse COO products and autograd (`chebyshev_series_through_torch`, what "
           "the skip evaluated before), and fused loops over compressed rows with the adjoint series as its "
           "backward (`chebyshev_series`, what it evaluates now; equal to rounding, test "
           "`WholeSpectrumSkip.TheFusedSeriesAndItsGradientEqualTheSeriesThroughTorch`). Times are microseconds "
           "per degree and per sample (best of at least three runs); m is the number of mass iterations (m = 4: "
           "the mass-corrected operator, four sparse products per degree). Set-up: the mesh and its lumped "
           "operators, no eigenmodes.\n\n"
        << "| DoFs | m | forward, torch | forward, fused | speed-up | forward + backward, torch | forward + "
           "backward, fused | speed-up | set-up (s) |\n"
        << "|---|---|---|---|---|---|---|---|---|\n";
    for (const Row &row : rows)
      out << "| " << row.dofs << " | " << row.mass_iterations << " | " << row.torch_forward * per << " | "
          << row.fused_forward * per << " | " << row.torch_forward / row.fused_forward << " | "
          << row.torch_both * per << " | " << row.fused_both * per << " | " << row.torch_both / row.fused_both
          << " | " << row.setup << " |\n";
    out << "\nSlopes of log time against log DoFs (1 is linear):\n\n";
    for (const unsigned int m : {0u, 4u})
      {
        std::vector<double> dofs, torch_both, fused_both;
        for (const Row &row : rows)
          if (row.mass_iterations == m)
            dofs.push_back(row.dofs), torch_both.push_back(row.torch_both), fused_both.push_back(row.fused_both);
        if (dofs.size() >= 2)
          out << "- m = " << m << ": forward + backward, torch " << log_slope(dofs, torch_both) << ", fused "
              << log_slope(dofs, fused_both) << ".\n";
      }
    out << "\nThe polynomial's degree is not fixed in the network: it grows with the square root of the "
           "interval's end, so as 1/h on a refined mesh (`whole_spectrum::automatic_degree`). Total run time "
        << total << " s.\n";
    return out.str();
  }
} // namespace


int
main(int argc, char **argv)
{
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      Options         options;
      for (int i = 1; i < argc; ++i)
        {
          const std::string arg = argv[i];
          AssertThrow(i + 1 < argc, ExcMessage(arg + " needs a value."));
          const std::string value = argv[++i];
          if (arg == "--max-dofs")
            options.max_dofs = std::stod(value);
          else if (arg == "--batch")
            options.batch = std::stol(value);
          else if (arg == "--degree")
            options.degree = std::stol(value);
          else if (arg == "--threads")
            options.threads = std::stoi(value);
          else if (arg == "--output")
            options.output = value;
          else
            AssertThrow(false,
                        ExcMessage("unknown option " + arg + " (--max-dofs, --batch, --degree, --threads, --output)"));
        }
      AssertThrow(options.batch >= 1 && options.degree >= 1 && options.threads >= 1,
                  ExcMessage("--batch, --degree and --threads must be positive."));
      torch::set_num_threads(options.threads);
      const auto       start = Clock::now();
      std::vector<Row> rows;
      // (2s + 1)² nodes: about 10³, 10⁴, 10⁵ and 10⁶.
      for (const unsigned int subdivisions : {16u, 50u, 158u, 500u})
        if (std::pow(2. * subdivisions + 1., 2) <= options.max_dofs)
          for (const Row &row : measure(options, subdivisions))
            rows.push_back(row);
      const std::string text = page(options, rows, seconds_since(start));
      std::cout << "\n" << text;
      if (!options.output.empty())
        std::ofstream(options.output) << text;
      std::cout << "whole_spectrum_benchmark: " << std::fixed << std::setprecision(1) << seconds_since(start)
                << " s in all." << std::endl;
    }
  catch (const std::exception &exc)
    {
      std::cerr << "whole_spectrum_benchmark: " << exc.what() << std::endl;
      return 1;
    }
  return 0;
}
