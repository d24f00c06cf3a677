// `ddo generate file.prm`: a data set of Gaussian random fields (plus a mean
// function) on the mesh of the file: synthetic data with known statistics.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/function_parser.h>
#include <deal.II/base/timer.h>

#include <ddo/covariance_operator.h>
#include <ddo/function_dataset.h>
#include <ddo/mesh_builder.h>
#include <ddo/space_description.h>

#include "commands.h"

#include <chrono>
#include <iostream>

namespace ddo
{
  namespace driver
  {
    template <int dim>
    void
    run_generate(const std::string &prm_text, const std::string &source_name)
    {
      const bool         root = Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0;
      ConditionalOStream pcout(std::cout, root);
      TimerOutput        timer(pcout, TimerOutput::summary, TimerOutput::wall_times);

      ParameterHandler prm;
      declare_all<dim>(prm);
      parse(prm, prm_text, source_name, false);
      if (!root)
        return; // the file is written by one process

      const std::string description = extract_space_description<dim>(prm_text, source_name);
      std::unique_ptr<FunctionSpace<dim>> space;
      {
        TimerOutput::Scope scope(timer, "build mesh and space");
        space = build_function_space<dim>(description, MPI_COMM_SELF, source_name);
      }
      prm.enter_subsection("Generate");
      const std::string  file      = prm.get("Output file");
      const unsigned int n_samples = prm.get_integer("Number of samples");
      const unsigned int seed      = prm.get_integer("Seed");
      FunctionParser<dim> mean;
      const std::string   variables = dim == 2 ? "x,y" : "x,y,z";
      try
        {
          mean.initialize(variables, prm.get("Mean function"), {});
        }
      catch (const std::exception &e)
        {
          AssertThrow(false, ExcMessage("Generate: invalid Mean function <" + prm.get("Mean function") +
                                        ">: " + user_message(e)));
        }
      auto model = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
      prm.leave_subsection();
      {
        TimerOutput::Scope scope(timer, "set up the covariance");
        model->initialize(*space);
      }
      const VectorType mean_vector = space->interpolate(mean);

      // The description records how the data were made, so that a resumed
      // generation can check it continues the same one.
      const std::string recipe = "ddo generate: " + std::to_string(n_samples) + " samples, seed " +
                                 std::to_string(seed) + ", covariance and mean from\n" +
                                 extract_subsections(prm_text, source_name, [](ParameterHandler &p) {
                                   p.enter_subsection("Generate");
                                   p.declare_entry("Mean function", "0", Patterns::Anything());
                                   CovarianceRegistry<dim>::instance().declare_parameters(p, "Model", "matern", "");
                                   p.leave_subsection();
                                 });
      FunctionDatasetWriter writer(file, *space, description, n_samples, recipe, true, true);
      const auto            missing = writer.missing_rows();
      pcout << space->summary() << "Generating " << missing.size() << " of " << n_samples << " fields into <"
            << file << ">" << (missing.size() < n_samples ? " (resuming)" : "") << '\n';

      const unsigned int      block = 16;
      std::vector<VectorType> samples;
      const auto              start = std::chrono::steady_clock::now();
      for (std::size_t first = 0; first < missing.size(); first += block)
        {
          const std::size_t count = std::min<std::size_t>(block, missing.size() - first);
          for (std::size_t k = 0; k < count; ++k)
            {
              // Row i is sample i of the stream: independent of the blocking.
              samples.resize(1);
              {
                TimerOutput::Scope scope(timer, "sample");
                model->sample(samples, seed, missing[first + k]);
              }
              samples[0] += mean_vector;
              TimerOutput::Scope scope(timer, "write");
              writer.write(missing[first + k], samples[0]);
            }
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          const std::size_t done = first + count;
          pcout << "  " << done << '/' << missing.size() << " fields, " << elapsed << " s, about "
                << elapsed / done * (missing.size() - done) << " s left" << std::endl;
        }
      pcout << "wrote: " << writer.finalize() << '\n';
    }

    template void run_generate<2>(const std::string &, const std::string &);
    template void run_generate<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
