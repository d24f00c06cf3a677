// Matern fields of fractional order beside the integer orders: setup time,
// time per sample, number of shifted systems and the variance in the middle
// of the domain, on unit squares and cubes of increasing size (Q1, rho =
// 0.1, sigma^2 = 1, Neumann boundary, default solver choice and tolerance).
//
//   fractional_matern_benchmark [--max-dofs-2d N] [--max-dofs-3d N] [--samples S]
//                               [--output page.md]
//
// The variance column is the mean pointwise variance of the samples at the
// DoFs within 0.3 of the centre, over S samples (its standard error is in
// the next column): it must be 1 for every nu, integer or not.

#include <deal.II/base/mpi.h>
#include <deal.II/base/timer.h>

#include <ddo/covariance/matern_spde.h>
#include <ddo/function_space/function_space.h>
#include <ddo/mesh/mesh_builder.h>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "benchmark_utilities.h"

using namespace ddo;

namespace
{
  struct Options
  {
    double       max_dofs_2d = 300000;
    double       max_dofs_3d = 40000;
    unsigned int n_samples   = 40;
    std::string  output;
  };

  struct Row
  {
    int          dim;
    double       nu;
    unsigned int n_dofs;
    unsigned int n_shifts;
    double       setup_s;
    double       sample_s;
    double       variance;
    double       variance_se;
    double       memory_mb; // the stored sparse factors
  };

  template <int dim>
  std::unique_ptr<FunctionSpace<dim>>
  make_unit_box_space(const unsigned int subdivisions)
  {
    ParameterHandler prm;
    MeshBuilder<dim>::declare_parameters(prm);
    prm.parse_input_from_string("subsection Mesh\nset Geometry = box\nsubsection box\n"
                                "set Subdivisions = " +
                                std::to_string(subdivisions) + "\nend\nend\n");
    MeshBuilder<dim> builder;
    builder.parse_parameters(prm);
    return std::make_unique<FunctionSpace<dim>>(builder.create(MPI_COMM_SELF), 1);
  }

  /** Mean over the DoFs near the centre of the samples' squares, and its standard error. */
  template <int dim>
  std::pair<double, double>
  central_variance(const FunctionSpace<dim> &space, const std::vector<VectorType> &samples)
  {
    const std::vector<Point<dim>> &points = space.locally_owned_support_points();
    Point<dim>                    centre;
    for (unsigned int d = 0; d < dim; ++d)
      centre[d] = 0.5;
    std::vector<double> per_sample;
    for (const VectorType &u : samples)
      {
        double sum = 0, count = 0;
        for (unsigned int i = 0; i < points.size(); ++i)
          if (points[i].distance(centre) < 0.3)
            {
              sum += u[i] * u[i];
              count += 1;
            }
        per_sample.push_back(sum / count);
      }
    double mean = 0, square = 0;
    for (const double v : per_sample)
      mean += v / per_sample.size();
    for (const double v : per_sample)
      square += (v - mean) * (v - mean) / (per_sample.size() - 1);
    return {mean, std::sqrt(square / per_sample.size())};
  }

  template <int dim>
  void
  run(const std::vector<double> &nus, const double max_dofs, const Options &options,
      std::vector<Row> &rows)
  {
    for (unsigned int n = dim == 2 ? 64 : 16;; n *= 2)
      {
        const auto space = make_unit_box_space<dim>(n);
        if (space->n_dofs() > max_dofs)
          break;
        for (const double nu : nus)
          {
            typename MaternSPDE<dim>::Parameters p;
            p.smoothness         = nu;
            p.correlation_length = 0.1;
            MaternSPDE<dim> model(p);
            Timer           timer;
            model.initialize(*space);
            const double            setup = timer.wall_time();
            std::vector<VectorType> samples(options.n_samples);
            timer.restart();
            model.sample(samples, 1, 0);
            const double sample = timer.wall_time() / options.n_samples;
            const auto   v      = central_variance(*space, samples);
            rows.push_back({dim, nu, static_cast<unsigned int>(space->n_dofs()),
                            model.fractional_quadrature() ?
                              static_cast<unsigned int>(model.fractional_quadrature()->shifts().size()) :
                              0u,
                            setup, sample, v.first, v.second,
                            model.factor_memory() / 1048576.});
            std::cout << dim << "D N = " << space->n_dofs() << " nu = " << nu
                      << ": setup " << setup << " s, " << sample * 1e3 << " ms/sample, "
                      << rows.back().n_shifts << " shifts, variance " << v.first << " +- "
                      << v.second << ", " << rows.back().memory_mb << " MB" << std::endl;
          }
      }
  }

  std::string
  markdown(const std::vector<Row> &rows, const Options &options, const double total)
  {
    std::ostringstream out;
    out << "# Matern fields of fractional order beside the integer orders\n\n"
        << "Generated by `benchmarks/fractional_matern_benchmark`"
        << " (`cmake -DDDO_BUILD_BENCHMARKS=ON`, then `build/benchmarks/"
           "fractional_matern_benchmark --output doc/benchmarks_fractional_matern.md`)"
        << " in " << std::fixed << std::setprecision(0) << total << " s on "
        << benchmark_support::cpu_model()
        << " (one MPI rank, BLAS " << benchmark_support::blas_library("dgemm_") << ").\n\n"
        << "Unit square / cube, Q1, sigma^2 = 1, rho = 0.1, Neumann boundary, `Solver = "
           "automatic` (CHOLMOD, single precision factors), `Fractional order tolerance = "
           "1e-5`. Integer orders alpha = nu + d/2 are sampled exactly with 1-2 solves; the "
           "others with the rational approximation of matern_spde.h (one solve per shift, "
           "one with A and one with M, plus k = floor(alpha/2) solves with A). Variance: "
           "mean pointwise variance of "
        << options.n_samples
        << " samples within 0.3 of the centre, with its standard error: 1 up to the "
           "discretization error (boundary effects are small there; the coarse 3D meshes have "
           "1.6 and 3.2 cells per correlation length and overestimate it), and a fractional "
           "order between its integer neighbours. Memory: the stored sparse factors (MaternSPDE::factor_memory(): "
           "A, M and the shifted matrices), and in bytes per DoF.\n\n"
        << "| d | N | nu | alpha | shifts | setup [s] | per sample [ms] | sample / integer "
           "alpha = 2 | memory [MB] | [B/DoF] | variance |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const Row &r : rows)
      {
        double reference = 0;
        for (const Row &q : rows)
          if (q.dim == r.dim && q.n_dofs == r.n_dofs && std::abs(q.nu + q.dim / 2. - 2) < 1e-12)
            reference = q.sample_s;
        out << "| " << r.dim << " | " << r.n_dofs << " | " << std::setprecision(2) << r.nu
            << " | " << r.nu + r.dim / 2. << " | " << (r.n_shifts ? std::to_string(r.n_shifts) : "-")
            << " | " << std::setprecision(3) << r.setup_s << " | " << std::setprecision(2)
            << r.sample_s * 1e3 << " | " << std::setprecision(1)
            << (reference > 0 ? r.sample_s / reference : 0.) << " | " << std::setprecision(0)
            << r.memory_mb << " | " << r.memory_mb * 1048576. / r.n_dofs << " | "
            << std::setprecision(3)
            << r.variance << " +- " << r.variance_se << " |\n";
      }
    return out.str();
  }
} // namespace


int
main(int argc, char **argv)
{
  Utilities::MPI::MPI_InitFinalize mpi(argc, argv, 1);
  Options                          options;
  for (int i = 1; i + 1 < argc; i += 2)
    {
      const std::string key = argv[i], value = argv[i + 1];
      if (key == "--max-dofs-2d")
        options.max_dofs_2d = std::stod(value);
      else if (key == "--max-dofs-3d")
        options.max_dofs_3d = std::stod(value);
      else if (key == "--samples")
        options.n_samples = std::stoi(value);
      else if (key == "--output")
        options.output = value;
      else
        {
          std::cerr << "unknown option " << key << '\n';
          return 1;
        }
    }
  Timer            total;
  std::vector<Row> rows;
  run<2>({1., 0.5, 1.7, 2.}, options.max_dofs_2d, options, rows);
  run<3>({0.5, 1., 1.5, 1.7}, options.max_dofs_3d, options, rows);
  const std::string page = markdown(rows, options, total.wall_time());
  std::cout << '\n' << page;
  if (!options.output.empty())
    std::ofstream(options.output) << page;
  std::cout << "Total " << total.wall_time() << " s\n";
  return 0;
}
