// Benchmark of the Matérn SPDE Gaussian random field sampler (MaternSPDE):
// setup time, time per sample (batches of 1 and 64), peak memory and the
// scaling of the time per sample with the number of DoFs N, for the direct
// and the AMG solver, on the unit square (2D) and the unit cube (3D) with P1
// (FE_Q 1) elements. sigma^2 = 1, rho = 0.1, alpha = 2 (nu = 1 in 2D,
// nu = 1/2 in 3D), Neumann boundary.
//
// Usage (from the build directory):
//   ./benchmarks/grf_benchmark [--dims 2,3] [--solvers direct,amg]
//       [--min-dofs 0] [--max-dofs 1100000] [--setup-limit 300] [--quick]
//       [--threads 1] [--block-size 32]
//       [--set "Entry = value"]... [--output ../doc/benchmarks_grf.md]
// --set adds a line to the parameter subsection of the model (e.g.
// --set "Solver tolerance = 1e-10"); --quick runs the small meshes only.
// --threads: deal.II threads (white noise of a block of samples) and
// OpenBLAS threads (if libblas.so.3 is OpenBLAS). --block-size: `Direct
// solver block size` of the direct solver (batches of 64 are solved in
// blocks of this many right-hand sides; a batch of 1 is one solve anyway).
// The table goes to stdout; with --output also a Markdown page with the
// machine, the command line, the reference points and which targets are met.

#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>

#include "benchmark_utilities.h"
#include "unit_box_space.h"
#include <ddo/base/mpi_session.h>
#include <ddo/function_space/function_space.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/covariance/white_noise.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

using namespace dealii;
using namespace ddo;

namespace
{
  struct Options
  {
    std::vector<int>         dims         = {2, 3};
    std::vector<std::string> solvers      = {"direct", "amg"};
    double                   max_dofs     = 1.1e6;
    double                   min_dofs     = 0;
    double                   setup_limit  = 300;  // seconds
    double                   config_limit = 600;  // seconds, whole configuration
    bool                     quick        = false;
    unsigned int             threads      = 1;
    unsigned int             block_size   = 32;
    std::vector<std::string> extra_settings;
    std::string              output;
    std::string              command_line;
  };

  struct Result
  {
    int          dim;
    unsigned int subdivisions;
    double       n_dofs;
    std::string  solver;
    bool         skipped = false;
    std::string  note;
    double       setup_s          = 0;
    double       ms_per_sample_1  = 0;
    double       ms_per_sample_64 = 0;
    double       cpu_ms_1         = 0; // process CPU time per sample (all threads)
    double       cpu_ms_64        = 0;
    double       cpu_ms_noise     = 0;
    double       peak_mb          = 0;
    double       ms_noise         = 0; // one white-noise load vector
    double       difference_to_direct = -1; // relative L2, amg vs direct sample
  };

  std::string
  format(const double x, const int precision = 3)
  {
    std::ostringstream out;
    out << std::setprecision(precision) << x;
    return out.str();
  }

  std::string
  fixed(const double x, const int digits)
  {
    std::ostringstream out;
    out << std::fixed << std::setprecision(digits) << x;
    return out.str();
  }

  /** Least-squares slope of log(y) over log(x). */
  std::optional<double>
  log_log_slope(const std::vector<std::pair<double, double>> &points)
  {
    if (points.size() < 2)
      return {};
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const auto &[x, y] : points)
      {
        const double lx = std::log(x), ly = std::log(y);
        sx += lx;
        sy += ly;
        sxx += lx * lx;
        sxy += lx * ly;
      }
    const double n = points.size();
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }

  template <int dim>
  std::unique_ptr<MaternSPDE<dim>>
  make_model(const std::string &solver, const Options &options)
  {
    ParameterHandler prm;
    MaternSPDE<dim>::declare_parameters(prm);
    std::string text = "set Marginal variance = 1\nset Correlation length = 0.1\n"
                       "set Smoothness = " +
                       std::string(dim == 2 ? "1" : "0.5") + "\nset Solver = " + solver + "\n";
    if (solver == "direct")
      text += "set Direct solver block size = " + std::to_string(options.block_size) + "\n";
    for (const auto &line : options.extra_settings)
      text += "set " + line + "\n";
    prm.parse_input_from_string(text);
    auto model = std::make_unique<MaternSPDE<dim>>();
    model->parse_parameters(prm);
    return model;
  }

  /** Predicted setup time at n_dofs from the earlier runs of the configuration. */
  double
  predict(const std::vector<std::pair<double, double>> &history,
          const double                                  n_dofs,
          const double                                  default_exponent)
  {
    if (history.empty())
      return 0;
    double exponent = default_exponent;
    if (history.size() >= 2)
      {
        const auto &a = history[history.size() - 2], &b = history.back();
        if (a.second > 0.05 && b.second > 0.05)
          exponent = std::max(1., std::log(b.second / a.second) / std::log(b.first / a.first));
      }
    return history.back().second * std::pow(n_dofs / history.back().first, exponent);
  }

  template <int dim>
  void
  run_dimension(const Options &options, std::vector<Result> &results)
  {
    // 2D: 33^2 = 1089 ... 513^2 = 263,169 (the reference mesh), 1025^2 ~ 1.05e6;
    // 321^2 = 103,041 is the ~1e5 point. 3D: 13^3 ... 49^3 = 117,649 (the
    // reference mesh), 65^3 = 274,625.
    std::vector<unsigned int> subdivisions =
      dim == 2 ? std::vector<unsigned int>{32, 64, 128, 256, 320, 512, 1024} :
                 std::vector<unsigned int>{12, 16, 24, 32, 40, 48, 64};
    if (options.quick)
      subdivisions.resize(3);

    std::map<std::string, std::vector<std::pair<double, double>>> setup_history, time_history;
    std::map<std::string, bool> stop;
    for (const unsigned int n : subdivisions)
      {
        const double n_dofs = std::pow(n + 1., dim);
        if (n_dofs > options.max_dofs)
          break;
        if (n_dofs < options.min_dofs)
          continue;
        std::optional<VectorType> direct_sample;
        benchmark_support::reset_peak_memory();
        const auto space = benchmark_support::make_unit_box_space<dim>(n);
        // The white noise alone (part of every sample): mean of 5 draws.
        double ms_noise = 0, cpu_ms_noise = 0;
        {
          WhiteNoise<dim> noise(*space);
          VectorType      b;
          noise.sample(b, 0, 0);
          Timer timer;
          for (unsigned int k = 1; k <= 5; ++k)
            noise.sample(b, 0, k);
          ms_noise     = 1e3 * timer.wall_time() / 5;
          cpu_ms_noise = 1e3 * timer.cpu_time() / 5;
        }
        for (const std::string &solver : options.solvers)
          {
            Result r;
            r.dim          = dim;
            r.subdivisions = n;
            r.n_dofs       = space->n_dofs();
            r.solver       = solver;
            r.ms_noise     = ms_noise;
            r.cpu_ms_noise = cpu_ms_noise;
            const double predicted_setup =
              predict(setup_history[solver], r.n_dofs, solver == "amg" ? 1. : (dim == 2 ? 1.5 : 2.));
            const double predicted_sample =
              predict(time_history[solver], r.n_dofs, solver == "amg" ? 1. : (dim == 2 ? 1.2 : 1.5));
            const double predicted_total = predicted_setup + 80 * predicted_sample;
            if (stop[solver] || predicted_setup > options.setup_limit ||
                predicted_total > options.config_limit)
              {
                r.skipped = true;
                r.note    = stop[solver] ? "skipped: a smaller mesh was skipped" :
                                           "skipped: predicted setup " + format(predicted_setup) +
                                             " s, run " + format(predicted_total) +
                                             " s (limits " + format(options.setup_limit) +
                                             " s, " + format(options.config_limit) + " s)";
                stop[solver] = true;
                std::cout << dim << "D N = " << r.n_dofs << " " << solver << ": " << r.note
                          << std::endl;
                results.push_back(r);
                continue;
              }

            benchmark_support::reset_peak_memory();
            {
              auto  model = make_model<dim>(solver, options);
              Timer timer;
              model->initialize(*space);
              r.setup_s = timer.wall_time();

              // Batch of 1: one warm-up sample, then repeat for >= 1 s (3 to 20 times).
              VectorType sample;
              model->sample(sample, 1, 0);
              if (solver == "direct")
                direct_sample = sample;
              else if (direct_sample)
                {
                  VectorType difference(sample);
                  difference -= *direct_sample;
                  r.difference_to_direct = difference.l2_norm() / direct_sample->l2_norm();
                }
              unsigned int repetitions = 0;
              timer.restart();
              while (repetitions < 20 && (repetitions < 3 || timer.wall_time() < 1.))
                model->sample(sample, 1, 1 + repetitions++);
              r.ms_per_sample_1 = 1e3 * timer.wall_time() / repetitions;
              r.cpu_ms_1        = 1e3 * timer.cpu_time() / repetitions;

              // Batch of 64, per sample.
              std::vector<VectorType> batch(64);
              timer.restart();
              model->sample(batch, 2, 0);
              r.ms_per_sample_64 = 1e3 * timer.wall_time() / batch.size();
              r.cpu_ms_64        = 1e3 * timer.cpu_time() / batch.size();
            }
            r.peak_mb = benchmark_support::peak_memory_mb();
            setup_history[solver].emplace_back(r.n_dofs, r.setup_s);
            time_history[solver].emplace_back(r.n_dofs, r.ms_per_sample_1 / 1e3);
            std::cout << dim << "D N = " << std::setw(8) << r.n_dofs << " " << std::setw(6)
                      << solver << ": setup " << fixed(r.setup_s, 3) << " s, "
                      << fixed(r.ms_per_sample_1, 2) << " ms/sample (batch 1), "
                      << fixed(r.ms_per_sample_64, 2) << " ms/sample (batch 64), noise "
                      << fixed(r.ms_noise, 2) << " ms; CPU " << fixed(r.cpu_ms_1, 2) << ", "
                      << fixed(r.cpu_ms_64, 2) << ", noise " << fixed(r.cpu_ms_noise, 2)
                      << " ms; peak "
                      << fixed(r.peak_mb, 0) << " MB";
            if (r.difference_to_direct >= 0)
              std::cout << ", |amg - direct|/|direct| = " << format(r.difference_to_direct, 2);
            std::cout << std::endl;
            results.push_back(r);
          }
      }
  }

  const Result *
  find(const std::vector<Result> &results, const int dim, const double n_dofs,
       const std::string &solver)
  {
    for (const auto &r : results)
      if (r.dim == dim && r.n_dofs == n_dofs && r.solver == solver && !r.skipped)
        return &r;
    return nullptr;
  }

  std::string
  markdown(const std::vector<Result> &results, const Options &options, const std::string &settings)
  {
    std::ostringstream out;
    out << "# Matérn GRF sampling benchmark\n\n"
        << "Generated by `benchmarks/grf_benchmark.cc`. Model: MaternSPDE, sigma^2 = 1, "
           "rho = 0.1, alpha = 2 (nu = 1 in 2D, nu = 1/2 in 3D), Neumann boundary, P1 (FE_Q 1) "
           "on the unit square / cube, one MPI rank.\n\n"
        << "Machine: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores (`nproc`), CPU `"
        << benchmark_support::cpu_model() << "`, " << fixed(benchmark_support::proc_value("/proc/meminfo", "MemTotal") / 1048576., 0)
        << " GiB memory; load average at start: "
        << benchmark_support::first_line_of("/proc/loadavg", "") << " (other jobs on the machine inflate "
        << "the wall times; the CPU times are less sensitive to them). BLAS: `"
        << benchmark_support::blas_library("dgemm_") << "`; " << options.threads
        << " thread(s) (deal.II and OpenBLAS).\n\n"
        << "Reproduce (from a build configured with `-DCMAKE_BUILD_TYPE=Release "
           "-DDDO_BUILD_BENCHMARKS=ON`, `make grf_benchmark`):\n\n"
        << "    " << options.command_line << "\n\n"
        << "Model settings: " << settings << "\n\n"
        << "Setup = MaternSPDE::initialize() (assembly of A and M, white-noise factors, "
           "factorization or AMG setup); the FunctionSpace is built before and not counted. "
           "Time per sample: a batch of 1 (mean of 3-20 calls after one warm-up) and one call "
           "with a batch of 64, divided by 64; the direct solver solves the batch of 64 in "
           "blocks of `Direct solver block size` = "
        << options.block_size
        << " right-hand sides (the model's default, 1, keeps every sample bitwise independent of "
           "the batch; blocks agree to rounding). CPU: process CPU time per sample (all threads), "
           "batch 1 / batch 64. Peak memory: VmHWM of the process, reset "
           "(`/proc/self/clear_refs`) before each configuration (includes the mesh and "
           "space). `amg-direct`: relative L2 difference of the same sample drawn with both "
           "solvers. `noise`: one white-noise load vector alone (WhiteNoise::sample, part of every "
           "sample).\n\n";

    out << "| dim | cells/axis | N | solver | setup [s] | ms/sample, batch 1 | "
           "ms/sample, batch 64 | samples/s (batch 64) | CPU ms/sample, b1 / b64 | noise [ms] | "
           "peak [MB] | amg-direct |\n"
        << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const auto &r : results)
      {
        out << "| " << r.dim << "D | " << r.subdivisions << " | " << std::size_t(r.n_dofs)
            << " | " << r.solver << " | ";
        if (r.skipped)
          out << r.note << " | | | | | | | |\n";
        else
          out << fixed(r.setup_s, 3) << " | " << fixed(r.ms_per_sample_1, 2) << " | "
              << fixed(r.ms_per_sample_64, 2) << " | " << fixed(1e3 / r.ms_per_sample_64, 1)
              << " | " << fixed(r.cpu_ms_1, 1) << " / " << fixed(r.cpu_ms_64, 1) << " | "
              << fixed(r.ms_noise, 2) << " | " << fixed(r.peak_mb, 0) << " | "
              << (r.difference_to_direct >= 0 ? format(r.difference_to_direct, 2) : "") << " |\n";
      }

    out << "\n## Scaling\n\nLeast-squares slope of log(time per sample) over log N, "
           "meshes with N >= 10^4 (all meshes in brackets):\n\n"
        << "| dim | solver | slope, batch 1 | slope, batch 64 |\n|---|---|---|---|\n";
    std::map<std::pair<int, std::string>, std::pair<double, double>> slopes;
    for (const int dim : options.dims)
      for (const auto &solver : options.solvers)
        {
          std::vector<std::pair<double, double>> b1, b64, b1_all, b64_all;
          for (const auto &r : results)
            if (r.dim == dim && r.solver == solver && !r.skipped)
              {
                b1_all.emplace_back(r.n_dofs, r.ms_per_sample_1);
                b64_all.emplace_back(r.n_dofs, r.ms_per_sample_64);
                if (r.n_dofs >= 1e4)
                  {
                    b1.emplace_back(r.n_dofs, r.ms_per_sample_1);
                    b64.emplace_back(r.n_dofs, r.ms_per_sample_64);
                  }
              }
          const auto s1 = log_log_slope(b1), s64 = log_log_slope(b64);
          const auto a1 = log_log_slope(b1_all), a64 = log_log_slope(b64_all);
          const auto show = [](const std::optional<double> &s, const std::optional<double> &a) {
            return (s ? fixed(*s, 2) : std::string("-")) + " (" +
                   (a ? fixed(*a, 2) : std::string("-")) + ")";
          };
          out << "| " << dim << "D | " << solver << " | " << show(s1, a1) << " | "
              << show(s64, a64) << " |\n";
          if (s1)
            slopes[{dim, solver}] = {*s1, s64 ? *s64 : *s1};
        }

    out << "\n## Reference points and targets\n\n"
        << "On this machine class: hIPPYlib BiLaplacianPrior about 400 ms/sample at 263,169 "
           "DoFs (2D) and about 370 ms/sample at 117,649 DoFs (3D); SciPy sparse LU 42 ms per "
           "right-hand side after a 3.7 s factorization on the 2D mesh.\n\n";
    const auto verdict = [](const bool met) { return met ? "**met**" : "**not met**"; };
    const auto best    = [&](const int dim, const double n_dofs) {
      std::string text;
      double      best_1 = 1e300, best_64 = 1e300;
      for (const auto &solver : options.solvers)
        if (const Result *r = find(results, dim, n_dofs, solver))
          {
            text += solver + ": " + fixed(r->ms_per_sample_1, 1) + " ms (batch 1), " +
                    fixed(r->ms_per_sample_64, 1) + " ms (batch 64); ";
            best_1  = std::min(best_1, r->ms_per_sample_1);
            best_64 = std::min(best_64, r->ms_per_sample_64);
          }
      return std::make_tuple(text, best_1, best_64);
    };
    {
      const auto [text, b1, b64] = best(2, 263169);
      out << "- 2D, N = 263,169, target <= 80 ms/sample: " << text;
      if (b1 < 1e300)
        out << "batch 1 " << verdict(b1 <= 80) << ", batch 64 " << verdict(b64 <= 80)
            << "; batch 64 at least as fast as SciPy LU (42 ms/rhs): " << verdict(b64 <= 42);
      else
        out << "not measured";
      out << "\n";
    }
    {
      const auto [text, b1, b64] = best(3, 117649);
      out << "- 3D, N = 117,649, target <= 75 ms/sample: " << text;
      if (b1 < 1e300)
        out << "batch 1 " << verdict(b1 <= 75) << ", batch 64 " << verdict(b64 <= 75);
      else
        out << "not measured";
      out << "\n";
    }
    for (const auto &[key, s] : slopes)
      {
        const double target = key.second == "amg" ? 1.15 : (key.first == 2 ? 1.3 : 0);
        if (target == 0)
          continue;
        out << "- slope " << key.first << "D " << key.second << " <= " << target
            << ": batch 1 " << fixed(s.first, 2) << " " << verdict(s.first <= target)
            << ", batch 64 " << fixed(s.second, 2) << " " << verdict(s.second <= target)
            << "\n";
      }
    return out.str();
  }
} // namespace


int
main(int argc, char **argv)
{
  try
    {
      Options options;
      for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--threads")
          options.threads = std::stoi(argv[i + 1]);
      ddo::MPISession mpi(argc, argv, options.threads);
      // OpenBLAS's own threads (CHOLMOD's dense kernels), if it is the BLAS.
      using SetThreads = void (*)(int);
      if (const auto set_threads =
            reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set_threads(options.threads);
      options.command_line = "./benchmarks/grf_benchmark";
      for (int i = 1; i < argc; ++i)
        {
          const std::string arg  = argv[i];
          const auto        next = [&]() -> std::string {
            AssertThrow(i + 1 < argc, ExcMessage("grf_benchmark: " + arg + " needs a value."));
            return argv[++i];
          };
          const auto ints = [](const std::string &list) {
            std::vector<int> v;
            for (const auto &s : Utilities::split_string_list(list))
              v.push_back(std::stoi(s));
            return v;
          };
          if (arg == "--dims")
            options.dims = ints(next());
          else if (arg == "--solvers")
            options.solvers = Utilities::split_string_list(next());
          else if (arg == "--max-dofs")
            options.max_dofs = std::stod(next());
          else if (arg == "--min-dofs")
            options.min_dofs = std::stod(next());
          else if (arg == "--setup-limit")
            options.setup_limit = std::stod(next());
          else if (arg == "--quick")
            options.quick = true;
          else if (arg == "--threads")
            next();
          else if (arg == "--block-size")
            options.block_size = std::stoi(next());
          else if (arg == "--set")
            options.extra_settings.push_back(next());
          else if (arg == "--output")
            options.output = next();
          else
            AssertThrow(false,
                        ExcMessage("grf_benchmark: unknown argument " + arg +
                                   "; see the comment at the top of grf_benchmark.cc."));
          if (arg != "--output")
            {
              options.command_line += " " + arg;
              if (arg != "--quick")
                options.command_line += " '" + std::string(argv[i]) + "'";
            }
        }
      if (!options.output.empty())
        options.command_line += " --output ../doc/benchmarks_grf.md";

      std::string settings = "defaults of MaternSPDE";
      for (const auto &line : options.extra_settings)
        settings += "; " + line;

      std::cout << "Matern GRF benchmark on " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, "
                << benchmark_support::cpu_model() << "; " << settings << "; BLAS " << benchmark_support::blas_library("dgemm_") << ", "
                << options.threads << " thread(s), direct solver block size "
                << options.block_size << std::endl;
      std::vector<Result> results;
      for (const int dim : options.dims)
        {
          AssertThrow(dim == 2 || dim == 3, ExcMessage("grf_benchmark: --dims takes 2 and 3."));
          if (dim == 2)
            run_dimension<2>(options, results);
          else
            run_dimension<3>(options, results);
        }
      const std::string page = markdown(results, options, settings);
      std::cout << "\n" << page;
      if (!options.output.empty())
        {
          std::ofstream file(options.output);
          AssertThrow(file, ExcMessage("grf_benchmark: cannot write " + options.output + "."));
          file << page;
        }
    }
  catch (const std::exception &e)
    {
      std::cerr << "grf_benchmark: " << e.what() << std::endl;
      return 1;
    }
  return 0;
}
