// Time of one sparse Cholesky solve with one right-hand side (the cost of a
// Matern sample with alpha = 2 after the white noise), side by side in one
// run: CHOLMOD's own solve against SparseCholesky's supernodal solve in
// double and single precision. The variants
// take turns in every round, so a busy machine slows all of them alike;
// the ratios to CHOLMOD are the result.
//
//   ./benchmarks/cholesky_solve_benchmark [--dim 3] [--subdivisions 48]
//       [--threads 2] [--rounds 15] [--output file.md]
// (--threads: deal.II's thread limit; the BLAS threads follow
// OPENBLAS_NUM_THREADS.)
//
// The matrix: kappa^2 M + K with kappa = 20 (rho = 0.1, alpha = 2), Q1 on
// the unit square / cube, as in grf_benchmark.

#include <deal.II/base/multithread_info.h>
#include <deal.II/base/quadrature_lib.h>
#include <deal.II/base/timer.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/tria.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/numerics/matrix_tools.h>

#include <ddo/lac/sparse_cholesky.h>

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include "benchmark_utilities.h"

using namespace dealii;
using namespace ddo;

namespace
{
  struct Options
  {
    unsigned int dim          = 3;
    unsigned int subdivisions = 48;
    unsigned int threads      = 2;
    unsigned int rounds       = 15;
    std::string  output;
  };

  template <int dim>
  void
  assemble(const unsigned int subdivisions, SparsityPattern &pattern, SparseMatrix<double> &a)
  {
    Triangulation<dim> triangulation;
    GridGenerator::subdivided_hyper_cube(triangulation, subdivisions);
    const FE_Q<dim> fe(1);
    DoFHandler<dim> dof_handler(triangulation);
    dof_handler.distribute_dofs(fe);
    DynamicSparsityPattern dsp(dof_handler.n_dofs());
    DoFTools::make_sparsity_pattern(dof_handler, dsp);
    pattern.copy_from(dsp);
    SparseMatrix<double> mass(pattern);
    a.reinit(pattern);
    const QGauss<dim> quadrature(2);
    MatrixCreator::create_laplace_matrix(dof_handler, quadrature, a);
    MatrixCreator::create_mass_matrix(dof_handler, quadrature, mass);
    a.add(400., mass);
  }

  struct Variant
  {
    std::string                     name;
    SparseCholesky::AdditionalData  data;
    std::unique_ptr<SparseCholesky> cholesky;
    double                          setup = 0;
    std::vector<double>             times;
    double                          error = 0;
  };
} // namespace


int
main(int argc, char **argv)
{
  try
    {
      Options options;
      for (int i = 1; i < argc; ++i)
        {
          const std::string arg = argv[i];
          AssertThrow(i + 1 < argc, ExcMessage(arg + " needs a value."));
          const std::string value = argv[++i];
          if (arg == "--dim")
            options.dim = std::stoul(value);
          else if (arg == "--subdivisions")
            options.subdivisions = std::stoul(value);
          else if (arg == "--threads")
            options.threads = std::stoul(value);
          else if (arg == "--rounds")
            options.rounds = std::stoul(value);
          else if (arg == "--output")
            options.output = value;
          else
            AssertThrow(false,
                        ExcMessage("unknown option " + arg +
                                   " (--dim, --subdivisions, --threads, --rounds, --output)"));
        }
      AssertThrow(options.dim == 2 || options.dim == 3, ExcMessage("--dim must be 2 or 3."));
      AssertThrow(options.threads >= 1 && options.rounds >= 1,
                  ExcMessage("--threads and --rounds must be positive."));
      MultithreadInfo::set_thread_limit(options.threads);

      SparsityPattern      pattern;
      SparseMatrix<double> a;
      if (options.dim == 2)
        assemble<2>(options.subdivisions, pattern, a);
      else
        assemble<3>(options.subdivisions, pattern, a);
      const std::size_t n = a.m();

      std::vector<Variant> variants(3);
      variants[0].name                   = "CHOLMOD cholmod_solve2, double";
      variants[0].data.use_cholmod_solve = true;
      variants[1].name                   = "SparseCholesky, double";
      variants[2].name                   = "SparseCholesky, single";
      variants[2].data.precision         = SparseCholesky::Precision::single_precision;
      for (auto &variant : variants)
        {
          Timer timer;
          variant.cholesky = std::make_unique<SparseCholesky>(a, variant.data);
          variant.setup    = timer.wall_time();
        }

      std::mt19937                     generator(1);
      std::normal_distribution<double> normal;
      std::vector<double>              b(n), reference(n), x(n);
      for (auto &value : b)
        value = normal(generator);
      reference = b;
      variants[0].cholesky->solve(reference.data(), 1, n);
      double reference_norm = 0;
      for (const double value : reference)
        reference_norm += value * value;

      // One warm-up solve each, then the rounds, variants taking turns.
      for (unsigned int round = 0; round <= options.rounds; ++round)
        for (auto &variant : variants)
          {
            x = b;
            Timer timer;
            variant.cholesky->solve(x.data(), 1, n);
            const double time = timer.wall_time();
            if (round == 0)
              {
                double difference = 0;
                for (std::size_t i = 0; i < n; ++i)
                  difference += (x[i] - reference[i]) * (x[i] - reference[i]);
                variant.error = std::sqrt(difference / reference_norm);
              }
            else
              variant.times.push_back(time);
          }

      std::ostringstream out;
      out << "# Sparse Cholesky solve benchmark\n\n"
          << "Generated by `benchmarks/cholesky_solve_benchmark.cc`: one solve with one "
             "right-hand side (a Matern sample, alpha = 2, after its white noise) of "
             "kappa^2 M + K, kappa = 20, Q1 on the unit "
          << (options.dim == 2 ? "square" : "cube") << " with " << options.subdivisions
          << " cells per axis: N = " << n << ", " << variants[1].cholesky->n_factor_entries()
          << " entries in L (" << variants[1].cholesky->ordering() << " ordering).\n\n"
          << "Machine: " << std::thread::hardware_concurrency() << " hardware threads, CPU `"
          << benchmark_support::cpu_model() << "`; "
          << benchmark_support::first_line_of("/proc/loadavg", "") << " (load average at end)"
          << "; BLAS `" << benchmark_support::blas_library("dgemv_") << "`.\n\n"
          << "Reproduce: `./benchmarks/cholesky_solve_benchmark --dim " << options.dim
          << " --subdivisions " << options.subdivisions << " --threads " << options.threads
          << " --rounds " << options.rounds << "`\n\n"
          << "The variants take turns in each of " << options.rounds
          << " rounds (after one warm-up), so load on the machine hits all alike; median "
             "and best time per solve; ratio = median / median of CHOLMOD's solve. Error: "
             "relative L2 difference to CHOLMOD's solution.\n\n"
          << "| solve | factor [MB] | setup [s] | median [ms] | best [ms] | ratio to CHOLMOD | "
             "error |\n|---|---|---|---|---|---|---|\n";
      double cholmod_median = 0;
      for (auto &variant : variants)
        {
          std::sort(variant.times.begin(), variant.times.end());
          const double median = 1e3 * variant.times[variant.times.size() / 2];
          if (cholmod_median == 0)
            cholmod_median = median;
          out << "| " << variant.name << " | " << std::fixed << std::setprecision(0) << variant.cholesky->factor_memory() / 1e6
              << " | " << std::setprecision(2) << variant.setup << " | " << median << " | "
              << 1e3 * variant.times.front() << " | " << median / cholmod_median << " | "
              << std::scientific << std::setprecision(1) << variant.error << std::fixed
              << " |\n";
        }
      std::cout << out.str();
      if (!options.output.empty())
        {
          std::ofstream file(options.output);
          file << out.str();
          AssertThrow(file, ExcMessage("cannot write " + options.output));
        }
    }
  catch (const std::exception &e)
    {
      std::cerr << "Error: " << e.what() << std::endl;
      return 1;
    }
  return 0;
}
