// The cost of one Darcy likelihood evaluation (assembly of A(a(u)), its
// factorization, the forward and the adjoint solve), the unit of work of
// every posterior sampler with darcy_point_pressure: ddo::DarcyProblem
// (shape functions tabulated once, CHOLMOD with the ordering and symbolic
// analysis reused) against the straightforward way (FEValues on every
// cell for every field, SparseDirectUMFPACK), side by side in one run: the
// two take turns in every round, so a busy machine slows both alike; the
// ratios are the result. The factorizations alone are timed on the same
// matrix as well, and the pressures of the two ways compared.
//
//   ./benchmarks/darcy_solve_benchmark [--mesh file.msh] [--dim 2]
//       [--fields 50] [--rounds 5] [--output file.md]
// Default mesh: examples/step-4/plate.msh (1370 P1 DoFs); the fields are
// log-permeabilities with a = 3 or 12 at random DoFs (the two phases of
// step-4), p = 0 on boundary id 1.

#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparse_direct.h>

#include <ddo/base/mpi_session.h>
#include <ddo/function_space/function_space.h>
#include <ddo/lac/sparse_cholesky.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/pde/darcy_problem.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include "benchmark_utilities.h"

using namespace dealii;
using namespace ddo;

namespace
{
  struct Options
  {
    std::string  mesh   = std::string(DDO_SOURCE_DIR) + "/examples/step-4/plate.msh";
    unsigned int dim    = 2;
    unsigned int fields = 50;
    unsigned int rounds = 5;
    std::string  output;
  };


  /** The reference: FEValues assembly for every field and UMFPACK, as a plain deal.II program would. */
  template <int dim>
  class ReferenceDarcy
  {
  public:
    explicit ReferenceDarcy(const FunctionSpace<dim> &space)
      : space(space)
    {
      DoFTools::make_zero_boundary_constraints(space.get_dof_handler(), 1, constraints);
      constraints.close();
      DynamicSparsityPattern dsp(space.n_dofs());
      DoFTools::make_sparsity_pattern(space.get_dof_handler(), dsp, constraints, false);
      pattern.copy_from(dsp);
      matrix.reinit(pattern);
      rhs.reinit(space.n_dofs());
      assemble(nullptr, true);
    }

    /** A(a(u)) into matrix (a = exp(u); a = 1 for nullptr), and the source once. */
    void
    assemble(const Vector<double> *u, const bool with_rhs = false)
    {
      matrix = 0.;
      FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                              update_values | update_gradients | update_JxW_values);
      const unsigned int                   n = space.get_fe().n_dofs_per_cell();
      FullMatrix<double>                   cell_matrix(n, n);
      Vector<double>                       cell_rhs(n);
      std::vector<double>                  u_values(fe_values.n_quadrature_points, 0.);
      std::vector<types::global_dof_index> dofs(n);
      for (const auto &cell : space.get_dof_handler().active_cell_iterators())
        {
          fe_values.reinit(cell);
          if (u != nullptr)
            fe_values.get_function_values(*u, u_values);
          cell_matrix = 0.;
          cell_rhs    = 0.;
          for (unsigned int q = 0; q < u_values.size(); ++q)
            for (unsigned int i = 0; i < n; ++i)
              {
                for (unsigned int j = 0; j < n; ++j)
                  cell_matrix(i, j) += std::exp(u_values[q]) * fe_values.JxW(q) *
                                       (fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q));
                cell_rhs(i) += fe_values.shape_value(i, q) * fe_values.JxW(q);
              }
          cell->get_dof_indices(dofs);
          if (with_rhs)
            constraints.distribute_local_to_global(cell_matrix, cell_rhs, dofs, matrix, rhs);
          else
            constraints.distribute_local_to_global(cell_matrix, dofs, matrix);
        }
    }

    /** One likelihood evaluation's PDE work: the pressure of u and one adjoint solve; the pressure in @p p. */
    void
    evaluate(const Vector<double> &u, Vector<double> &p)
    {
      assemble(&u);
      solver.initialize(matrix);
      p = rhs;
      solver.solve(p);
      constraints.distribute(p);
      Vector<double> z = p;
      constraints.condense(z);
      solver.solve(z);
    }

    const FunctionSpace<dim> &space;
    AffineConstraints<double> constraints;
    SparsityPattern           pattern;
    SparseMatrix<double>      matrix;
    Vector<double>            rhs;
    SparseDirectUMFPACK       solver;
  };


  /** Median of @p times (modified). */
  double
  median(std::vector<double> times)
  {
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }


  template <int dim>
  void
  run(const Options &options)
  {
    ParameterHandler prm;
    MeshBuilder<dim>::declare_parameters(prm);
    prm.parse_input_from_string("subsection Mesh\nset Geometry = gmsh\nset Cell type = simplex\n"
                                "subsection gmsh\nset File name = " +
                                options.mesh + "\nend\nend\n");
    MeshBuilder<dim> builder;
    builder.parse_parameters(prm);
    const FunctionSpace<dim> space(builder.create(MPI_COMM_SELF), 1, builder.periodic_boundaries());

    DarcySettings settings;
    settings.dirichlet_ids = {1};
    settings.map           = DarcySettings::PermeabilityMap::exponential;
    Timer                 timer;
    DarcyProblem<dim>     problem(space, settings, "darcy_solve_benchmark");
    const double          setup_ddo = timer.wall_time();
    timer.restart();
    ReferenceDarcy<dim> reference(space);
    const double        setup_reference = timer.wall_time();

    std::mt19937                fields_generator(1);
    std::bernoulli_distribution phase(0.5);
    std::vector<Vector<double>> fields(options.fields, Vector<double>(space.n_dofs()));
    for (auto &u : fields)
      for (double &v : u)
        v = std::log(phase(fields_generator) ? 12. : 3.);

    std::vector<double> ddo_times, reference_times;
    double              largest_difference = 0;
    Vector<double>      p_ddo, p_reference, z;
    for (unsigned int round = 0; round < options.rounds; ++round)
      {
        timer.restart();
        for (const auto &u : fields)
          {
            AssertThrow(problem.try_solve_pressure(u, p_ddo), ExcInternalError());
            z = p_ddo;
            problem.solve_adjoint(z);
          }
        ddo_times.push_back(timer.wall_time() / fields.size());
        timer.restart();
        for (const auto &u : fields)
          reference.evaluate(u, p_reference);
        reference_times.push_back(timer.wall_time() / fields.size());
        std::cout << "round " << round + 1 << " of " << options.rounds << ": DarcyProblem "
                  << 1e3 * ddo_times.back() << " ms, reference " << 1e3 * reference_times.back() << " ms per field"
                  << std::endl;
      }
    for (const auto &u : fields)
      {
        problem.try_solve_pressure(u, p_ddo);
        reference.evaluate(u, p_reference);
        p_reference -= p_ddo;
        largest_difference = std::max(largest_difference, p_reference.linfty_norm() / p_ddo.linfty_norm());
      }

    // The factorizations alone, on the matrix of the last field.
    std::vector<double> umfpack_times, analyze_times, refactorize_times;
    SparseCholesky::AdditionalData data;
    data.supernodal = false;
    SparseCholesky cholesky(reference.matrix, data);
    for (unsigned int k = 0; k < options.rounds * 10; ++k)
      {
        timer.restart();
        SparseDirectUMFPACK umfpack;
        umfpack.initialize(reference.matrix);
        umfpack_times.push_back(timer.wall_time());
        timer.restart();
        SparseCholesky full(reference.matrix, data);
        analyze_times.push_back(timer.wall_time());
        timer.restart();
        cholesky.refactorize(reference.matrix);
        refactorize_times.push_back(timer.wall_time());
      }

    std::ostringstream page;
    page << std::setprecision(3);
    page << "# Darcy solves: the unit of work of the Darcy likelihood\n\n"
         << "`benchmarks/darcy_solve_benchmark` (built with `-DDDO_BUILD_BENCHMARKS=ON`), mesh `"
         << options.mesh.substr(options.mesh.find_last_of('/') + 1) << "` (" << space.n_dofs() << " P1 DoFs, "
         << space.get_dof_handler().get_triangulation().n_active_cells() << " cells), " << options.fields
         << " log-permeabilities with a = 3 or 12 at random DoFs, medians over " << options.rounds
         << " rounds in which the two ways take turns. Machine: " << benchmark_support::cpu_model()
         << ", one thread.\n\n"
         << "One likelihood evaluation's PDE work (assembly of A(a(u)), factorization, forward and adjoint "
            "solve):\n\n"
         << "| way | ms per field | ratio |\n|---|---|---|\n"
         << "| FEValues assembly for every field, UMFPACK | " << 1e3 * median(reference_times) << " | 1 |\n"
         << "| `ddo::DarcyProblem`: tabulated shape functions, CHOLMOD with the analysis reused | "
         << 1e3 * median(ddo_times) << " | " << median(ddo_times) / median(reference_times) << " |\n\n"
         << "The factorization alone, same matrix (median of " << umfpack_times.size() << "):\n\n"
         << "| factorization | ms | ratio |\n|---|---|---|\n"
         << "| UMFPACK (`SparseDirectUMFPACK::initialize`) | " << 1e3 * median(umfpack_times) << " | 1 |\n"
         << "| CHOLMOD simplicial, ordering + analysis + numeric (`SparseCholesky`) | "
         << 1e3 * median(analyze_times) << " | " << median(analyze_times) / median(umfpack_times) << " |\n"
         << "| CHOLMOD numeric only (`SparseCholesky::refactorize`) | " << 1e3 * median(refactorize_times) << " | "
         << median(refactorize_times) / median(umfpack_times) << " |\n\n"
         << "Largest difference of the pressures of the two ways, relative to the largest pressure: "
         << largest_difference << ". Set-up (tabulation, analysis): " << 1e3 * setup_ddo
         << " ms; the reference's: " << 1e3 * setup_reference << " ms.\n";
    std::cout << "\n" << page.str();
    if (!options.output.empty())
      {
        std::ofstream out(options.output);
        out << page.str();
        AssertThrow(out, ExcMessage("Cannot write " + options.output + "."));
        std::cout << "wrote: " << options.output << std::endl;
      }
  }
} // namespace


int
main(int argc, char **argv)
{
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      Options                          options;
      for (int i = 1; i < argc; ++i)
        {
          const std::string arg = argv[i];
          AssertThrow(i + 1 < argc, ExcMessage(arg + " needs a value."));
          const std::string value = argv[++i];
          if (arg == "--mesh")
            options.mesh = value;
          else if (arg == "--dim")
            options.dim = std::stoul(value);
          else if (arg == "--fields")
            options.fields = std::stoul(value);
          else if (arg == "--rounds")
            options.rounds = std::stoul(value);
          else if (arg == "--output")
            options.output = value;
          else
            AssertThrow(false, ExcMessage("unknown option " + arg + " (--mesh, --dim, --fields, --rounds, --output)"));
        }
      AssertThrow(options.dim == 2 || options.dim == 3, ExcMessage("--dim must be 2 or 3."));
      AssertThrow(options.fields >= 1 && options.rounds >= 1, ExcMessage("--fields and --rounds must be positive."));
      if (options.dim == 2)
        run<2>(options);
      else
        run<3>(options);
    }
  catch (const std::exception &exc)
    {
      std::cerr << "darcy_solve_benchmark: " << exc.what() << std::endl;
      return 1;
    }
  return 0;
}
