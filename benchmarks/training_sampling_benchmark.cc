// Benchmark of training and sampling against the mesh size N: the same
// network (spectral_operator, same width, blocks and number of modes K), the
// same number of training steps and the same sampler settings on 3-4
// uniformly refined distorted simplex meshes of the unit square, measured
// side by side in one run. Reports training samples/s (denoising score
// matching with Matérn SPDE noise), the sampling time per sample for the
// probability-flow ODE (fixed Heun steps) and annealed preconditioned
// Langevin (few levels and steps), the cost per step and sample, and their
// ratios to the smallest mesh and log-log slopes in N.
//
//   ./benchmarks/training_sampling_benchmark [n_meshes=4] [threads=1] [--output file.md]
//
// The eigensolve (K modes per mesh, ARPACK above 2000 DoFs) and the SPDE
// factorization are set-up costs, reported separately.

#include <deal.II/base/mpi.h>

#include <ddo/base/mpi_session.h>
#include <ddo/torch/sampler/langevin_sampler.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/torch/sampler/probability_flow_sampler.h>
#include <ddo/torch/network/score_model.h>
#include <ddo/torch/network/spectral_neural_operator.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/torch/training/trainer.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

using namespace ddo;

namespace
{
  constexpr int dim = 2;

  double
  seconds_since(const std::chrono::steady_clock::time_point start)
  {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  struct Row
  {
    unsigned int n_dofs          = 0;
    double       setup_seconds   = 0; // eigenbasis + SPDE factorization
    double       train_samples_per_second = 0;
    double       train_ms_per_sample      = 0;
    double       flow_ms_per_sample       = 0; // whole sample
    double       flow_nfe                 = 0;
    double       langevin_ms_per_sample   = 0;
    double       langevin_nfe             = 0;
  };

  std::unique_ptr<Sampler<dim>>
  make_sampler(const std::string &name, const std::string &body)
  {
    ParameterHandler prm;
    std::unique_ptr<Sampler<dim>> sampler;
    if (name == "langevin")
      {
        LangevinSampler<dim>::declare_parameters(prm);
        sampler = std::make_unique<LangevinSampler<dim>>();
      }
    else
      {
        ProbabilityFlowSampler<dim>::declare_parameters(prm);
        sampler = std::make_unique<ProbabilityFlowSampler<dim>>();
      }
    prm.parse_input_from_string(body);
    sampler->parse_parameters(prm);
    return sampler;
  }

  double
  slope(const std::vector<Row> &rows, double Row::*field)
  {
    // Least-squares slope of log(field) against log(N).
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const auto &r : rows)
      {
        const double x = std::log(double(r.n_dofs)), y = std::log(r.*field);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
      }
    const double n = rows.size();
    return (n * sxy - sx * sy) / (n * sxx - sx * sx);
  }
} // namespace


int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  unsigned int n_meshes = 4, threads = 1;
  std::string  output_file;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--output" && i + 1 < argc)
      output_file = argv[++i];
    else
      positional.push_back(argv[i]);
  if (positional.size() > 0)
    n_meshes = std::stoi(positional[0]);
  if (positional.size() > 1)
    threads = std::stoi(positional[1]);
  torch::set_num_threads(threads);

  // The fixed work: network, modes, training steps, samplers.
  const unsigned int n_modes = 64, width = 32, blocks = 4, batch = 16;
  const unsigned int warmup_steps = 3, timed_steps = 20, n_samples = 16;
  const std::string  flow_prm     = "set Method = HEUN\nset Step control = fixed\nset Number of steps = 10\n"
                                    "set Batch size = 16\n";
  const std::string  langevin_prm = "set Number of levels = 2\nset Steps per level = 5\nset Step size = 4e-4\n"
                                    "set Batch size = 16\n";
  const NoiseRange   range{20., 0.02};

  std::vector<Row> rows;
  for (unsigned int r = 0; r < n_meshes; ++r)
    {
      Row        row;
      const auto start_setup = std::chrono::steady_clock::now();
      ParameterHandler prm;
      MeshBuilder<dim>::declare_parameters(prm);
      prm.parse_input_from_string("subsection Mesh\nset Geometry = box\nsubsection box\nset Subdivisions = 6\n"
                                  "end\nset Cell type = simplex\nset Distortion = 0.2\nset Global refinements = " +
                                  std::to_string(r) + "\nend\n");
      MeshBuilder<dim> builder;
      builder.parse_parameters(prm);
      auto             triangulation = builder.create(MPI_COMM_SELF);
      FunctionSpace<dim> space(triangulation, 1);
      row.n_dofs = space.n_dofs();

      MaternSPDE<dim>::Parameters noise_parameters;
      noise_parameters.correlation_length = 0.15;
      noise_parameters.solver             = MaternSPDE<dim>::SolverType::direct;
      MaternSPDE<dim> noise(noise_parameters);
      noise.initialize(space);
      MaternSPDE<dim>::Parameters data_parameters;
      data_parameters.correlation_length = 0.3;
      data_parameters.smoothness         = 2;
      data_parameters.solver             = MaternSPDE<dim>::SolverType::direct;
      MaternSPDE<dim>         target(data_parameters);
      target.initialize(space);
      std::vector<VectorType> samples(64, space.create_vector());
      target.sample(samples, 1, 0);
      std::vector<const VectorType *> pointers;
      for (const auto &v : samples)
        pointers.push_back(&v);
      const torch::Tensor data = torch_bridge::to_tensor(pointers, torch::kFloat64);

      std::shared_ptr<ScoreNetwork<dim>> network(
        ScoreNetworkRegistry<dim>::instance().create("spectral_operator").release());
      SpectralNeuralOperator<dim>::Settings settings;
      settings.width  = width;
      settings.blocks = blocks;
      dynamic_cast<SpectralNeuralOperator<dim> &>(*network).set_settings(settings);
      network->build(torch::kFloat32);
      ScoreModel<dim> model(network, space, n_modes);
      row.setup_seconds = seconds_since(start_setup);

      // Training: a few warm-up steps (allocations), then the timed ones.
      TrainingSettings training;
      training.batch_size   = batch;
      training.warmup_steps = 1;
      training.sigma_min    = range.sigma_min;
      training.sigma_max    = range.sigma_max;
      training.n_steps      = warmup_steps;
      Trainer<dim>(model, noise, "spectral_operator", training, {}, MPI_COMM_SELF).train(data, false);
      training.n_steps  = timed_steps;
      const auto report = Trainer<dim>(model, noise, "spectral_operator", training, {}, MPI_COMM_SELF).train(data, false);
      row.train_samples_per_second = report.samples_per_second;
      row.train_ms_per_sample      = 1e3 / report.samples_per_second;

      const ScoreFunction score = [&model](const torch::Tensor &v, const torch::Tensor &s) {
        return model.evaluate(v, s, 16);
      };
      SamplerReport flow_report, langevin_report;
      make_sampler("probability_flow", flow_prm)->sample(score, space, noise, range, n_samples, 3, 0, &flow_report);
      make_sampler("langevin", langevin_prm)->sample(score, space, noise, range, n_samples, 3, 0, &langevin_report);
      row.flow_ms_per_sample     = 1e3 * flow_report.wall_time / n_samples;
      row.flow_nfe               = flow_report.evaluations_per_sample();
      row.langevin_ms_per_sample = 1e3 * langevin_report.wall_time / n_samples;
      row.langevin_nfe           = langevin_report.evaluations_per_sample();
      rows.push_back(row);
      std::cout << "N = " << row.n_dofs << ": setup " << row.setup_seconds << " s, training "
                << row.train_samples_per_second << " samples/s, PF-ODE " << row.flow_ms_per_sample
                << " ms/sample (" << row.flow_nfe << " NFE), Langevin " << row.langevin_ms_per_sample
                << " ms/sample (" << row.langevin_nfe << " NFE)" << std::endl;
    }

  std::ostringstream md;
  md << std::fixed;
  md << "| N | set-up (s) | training samples/s | training ms/sample | ratio | PF-ODE ms/sample | ms/NFE | ratio | "
        "Langevin ms/sample | ms/NFE | ratio |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto &r : rows)
    md << "| " << r.n_dofs << " | " << std::setprecision(1) << r.setup_seconds << " | " << std::setprecision(0)
       << r.train_samples_per_second << " | " << std::setprecision(2) << r.train_ms_per_sample << " | "
       << r.train_ms_per_sample / rows[0].train_ms_per_sample << " | " << r.flow_ms_per_sample << " | "
       << r.flow_ms_per_sample / r.flow_nfe << " | " << r.flow_ms_per_sample / rows[0].flow_ms_per_sample << " | "
       << r.langevin_ms_per_sample << " | " << r.langevin_ms_per_sample / r.langevin_nfe << " | "
       << r.langevin_ms_per_sample / rows[0].langevin_ms_per_sample << " |\n";
  md << std::setprecision(2) << "\nLog-log slopes in N: training " << slope(rows, &Row::train_ms_per_sample)
     << ", PF-ODE " << slope(rows, &Row::flow_ms_per_sample) << ", Langevin "
     << slope(rows, &Row::langevin_ms_per_sample) << ".\n";
  md << "\nFixed work on every mesh: spectral_operator width " << width << ", " << blocks << " blocks, K = "
     << n_modes << " modes, float32, " << threads << " torch thread(s); training batch " << batch << ", "
     << timed_steps << " timed steps after " << warmup_steps << " warm-up steps; " << n_samples
     << " samples per sampler: PF-ODE Heun, 10 fixed steps (" << rows[0].flow_nfe
     << " NFE), Langevin 2 levels x 5 steps + Tweedie (" << rows[0].langevin_nfe << " NFE).\n";
  std::cout << '\n' << md.str();
  if (!output_file.empty())
    std::ofstream(output_file) << md.str();
  return 0;
}
