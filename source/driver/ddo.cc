// The ddo driver program: `ddo [command] [file.prm]`.

#include <deal.II/base/mpi.h>

#include <ddo/base/mpi_session.h>
#include <ddo/covariance/interface.h>
#include <ddo/generator/interface.h>
#include <ddo/likelihood/interface.h>
#include <ddo/quantity/interface.h>
#include <ddo/mesh/interface.h>
#include <ddo/torch/network/interface.h>
#include <ddo/torch/sampler/interface.h>

#include "commands.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace
{
  /** Every plugin kind with its registered plugins, for `ddo list`. */
  template <int dim>
  std::string
  describe_all_plugins()
  {
    return ddo::MeshGeometryRegistry<dim>::instance().describe() + '\n' +
           ddo::CovarianceRegistry<dim>::instance().describe() + '\n' +
           ddo::GeneratorRegistry<dim>::instance().describe() + '\n' +
           ddo::LikelihoodRegistry<dim>::instance().describe() + '\n' +
           ddo::QuantityRegistry<dim>::instance().describe() + '\n' +
           ddo::ScoreNetworkRegistry<dim>::instance().describe() + '\n' +
           ddo::SamplerRegistry<dim>::instance().describe();
  }


  const char *usage = R"(Usage: ddo [COMMAND] [FILE.prm]

Commands:
  (none)            the main job: the shipped Navier-Stokes model sampled on its training
                    mesh and, zero-shot, on h/2, judged against its test set (metrics over
                    every resolved scale); results in ./ddo_main_job/output
  info FILE.prm     describe the mesh and function space of FILE.prm, write it as VTU
  generate FILE.prm write a data set made by the selected data generator (HDF5)
  train FILE.prm    train a score network on a data set (resumes from its checkpoint)
  sample FILE.prm   sample from a trained model on the mesh of FILE.prm (HDF5 + VTU)
  posterior FILE.prm
                    the trained model as the prior of an inverse problem: truths observed
                    by a likelihood plugin, posterior samples, errors, coverage, PDE solves
  propagate FILE.prm
                    forward uncertainty propagation: a quantity of interest (plugin) of the
                    samples, the test data and a Gaussian baseline, distances against the floor
  metrics FILE.prm  compare samples with a test set: density, spectrum, mean, variance,
                    correlation, against the test-vs-test floor and a Gaussian baseline
  list [FILE.prm]   list the registered plugins (after loading FILE.prm's plugin libraries)
  mesh-demo         the built-in mesh demo (a periodic unstructured triangle mesh, as VTU)
  default-prm       print the parameter file of the mesh demo
  help              this text
)";

  std::string
  read_file(const std::string &file_name)
  {
    std::ifstream in(file_name);
    AssertThrow(in.good(), dealii::ExcMessage("Cannot open the parameter file <" + file_name + ">."));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }


  /**
   * The folder of the shipped Navier-Stokes experiment: $DDO_EXAMPLE_DIR,
   * else the source tree ddo was built from, else the installed copy.
   */
  std::filesystem::path
  main_job_directory()
  {
    std::vector<std::filesystem::path> candidates;
    if (const char *variable = std::getenv("DDO_EXAMPLE_DIR"))
      candidates.emplace_back(variable);
    candidates.emplace_back(DDO_SOURCE_EXAMPLE_DIR);
    candidates.emplace_back(DDO_INSTALLED_EXAMPLE_DIR);
    for (const auto &candidate : candidates)
      if (std::filesystem::exists(candidate / "navier_stokes.prm") && std::filesystem::exists(candidate / "model"))
        return candidate;
    AssertThrow(false, dealii::ExcMessage("The main job needs the shipped Navier-Stokes experiment (navier_stokes.prm, "
                                          "model/, data/); it is in neither <" DDO_SOURCE_EXAMPLE_DIR "> nor <"
                                          DDO_INSTALLED_EXAMPLE_DIR ">. Set DDO_EXAMPLE_DIR to its folder."));
    return {};
  }


  /**
   * `ddo` without a command: sample and metrics of the shipped model on its
   * training mesh and on h/2, in ./ddo_main_job (the parameter files name
   * the model and the test set relative to the working directory).
   */
  void
  run_main_job(const bool root)
  {
    const std::filesystem::path example = main_job_directory();
    const std::filesystem::path work    = std::filesystem::absolute("ddo_main_job");
    if (root)
      {
        std::cout << "ddo: no command given, running the main job: the Navier-Stokes model of <" << example.string()
                  << "> sampled on its training mesh and, zero-shot, on h/2, with metrics against its test set.\n"
                  << "Results in <" << (work / "output").string() << ">. ('ddo help' lists the commands.)\n\n";
        std::filesystem::create_directories(work);
        for (const std::string link : {"model", "data"})
          {
            std::filesystem::remove(work / link);
            std::filesystem::create_directory_symlink(std::filesystem::canonical(example / link), work / link);
          }
      }
    MPI_Barrier(MPI_COMM_WORLD);
    std::filesystem::current_path(work);
    for (const std::string mesh : {"", "_h2"})
      {
        const std::string prm  = (example / ("navier_stokes" + mesh + ".prm")).string();
        const std::string text = read_file(prm);
        ddo::driver::read_preamble(text, prm); // loads the generator plugin the file names
        ddo::driver::run_sample<2>(text, prm);
        ddo::driver::run_metrics<2>(text, prm);
      }
  }


  /**
   * After an error on this rank: with several ranks, the others may wait in
   * a collective call for this one forever, so end them all (exit code 1).
   */
  void
  stop_all_ranks()
  {
    if (dealii::Utilities::MPI::n_mpi_processes(MPI_COMM_WORLD) > 1)
      MPI_Abort(MPI_COMM_WORLD, 1);
  }
} // namespace


int
main(int argc, char **argv)
{
  using namespace dealii;
  ddo::MPISession mpi(argc, argv, 1);
  const bool      root = Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0;
  try
    {
      const std::string command = argc > 1 ? argv[1] : "";
      if (command == "help" || command == "--help" || command == "-h")
        {
          if (root)
            std::cout << usage;
          return 0;
        }
      if (command == "default-prm")
        {
          if (root)
            std::cout << ddo::driver::default_parameters();
          return 0;
        }

      if (command.empty())
        {
          run_main_job(root);
          return 0;
        }

      std::string text, source;
      if (command == "mesh-demo")
        {
          text   = ddo::driver::default_parameters();
          source = "built-in default";
          if (root)
            std::cout << "ddo: the built-in mesh demo ('ddo default-prm' prints its parameters)\n\n";
        }
      else if (command == "info" || command == "list" || command == "generate" || command == "train" ||
               command == "sample" || command == "metrics" || command == "posterior" ||
               command == "propagate")
        {
          AssertThrow(argc == 3 || (command == "list" && argc == 2),
                      ExcMessage("'ddo " + command + "' needs one parameter file.\n" + usage));
          source = argc == 3 ? argv[2] : "";
          text   = argc == 3 ? read_file(source) : "";
        }
      else
        AssertThrow(false, ExcMessage("Unknown command <" + command + ">.\n" + usage));

      const ddo::driver::Preamble preamble = ddo::driver::read_preamble(text, source);
      if (command == "list")
        {
          if (root)
            std::cout << (preamble.dimension == 2 ? describe_all_plugins<2>() : describe_all_plugins<3>());
          return 0;
        }
      const bool two = preamble.dimension == 2;
      if (command == "generate")
        two ? ddo::driver::run_generate<2>(text, source) : ddo::driver::run_generate<3>(text, source);
      else if (command == "train")
        two ? ddo::driver::run_train<2>(text, source) : ddo::driver::run_train<3>(text, source);
      else if (command == "sample")
        two ? ddo::driver::run_sample<2>(text, source) : ddo::driver::run_sample<3>(text, source);
      else if (command == "metrics")
        two ? ddo::driver::run_metrics<2>(text, source) : ddo::driver::run_metrics<3>(text, source);
      else if (command == "posterior")
        two ? ddo::driver::run_posterior<2>(text, source) : ddo::driver::run_posterior<3>(text, source);
      else if (command == "propagate")
        two ? ddo::driver::run_propagate<2>(text, source) : ddo::driver::run_propagate<3>(text, source);
      else
        two ? ddo::driver::run_info<2>(text, source) : ddo::driver::run_info<3>(text, source);
    }
  catch (const std::exception &exc)
    {
      std::cerr << "ddo: error: " << ddo::driver::user_message(exc) << std::endl;
      stop_all_ranks();
      return 1;
    }
  catch (...)
    {
      std::cerr << "ddo: error: unknown exception" << std::endl;
      stop_all_ranks();
      return 1;
    }
  return 0;
}
