// `ddo generate file.prm`: a training (and optionally a test) data set on the
// mesh of the file. Field i is the selected data generator (a plugin, see
// ddo/generator/interface.h) applied to Gaussian random field i of the
// covariance model and mean function of subsection `Generate`.
//
// With several MPI ranks every rank computes its share of the fields (each
// on its own copy of the mesh) and rank 0 writes them. Sample i depends only
// on (seed, i), never on the number of ranks or on interruptions.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/function_parser.h>
#include <deal.II/base/timer.h>

#include <ddo/covariance/interface.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/generator/interface.h>
#include <ddo/mesh/space_description.h>

#include "commands.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      /** One field of the data set from its random stream index. */
      using FieldMaker = std::function<void(const std::uint64_t seed, const unsigned int index, VectorType &out)>;

      /**
       * Writes @p n_samples rows of stream @p seed into @p file (resuming a
       * partial file, skipping a complete one with the same recipe), at most
       * @p max_fields new ones (0: all). Returns whether the file is complete.
       */
      template <int dim>
      bool
      write_data_set(const std::string &       file,
                     const unsigned int        n_samples,
                     const std::uint64_t       seed,
                     const std::string &       recipe,
                     const FunctionSpace<dim> &space,
                     const std::string &       description,
                     const FieldMaker &        make_field,
                     const unsigned int        max_fields,
                     TimerOutput &             timer)
      {
        const MPI_Comm     comm    = MPI_COMM_WORLD;
        const unsigned int rank    = Utilities::MPI::this_mpi_process(comm);
        const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);
        ConditionalOStream pcout(std::cout, rank == 0);

        // A finished file with this recipe is kept; one with another recipe is
        // an error, never silently replaced.
        int skip = 0;
        if (rank == 0 && std::filesystem::exists(file))
          {
            const FunctionDatasetReader existing(file);
            const auto &                info = existing.info();
            AssertThrow(info.description == recipe && info.n_samples == n_samples &&
                          info.fingerprint == space.fingerprint(),
                        ExcMessage("The data set <" + file +
                                   "> exists but was made differently (other mesh, number of samples, "
                                   "seed, or generator parameters). Remove or rename it, or choose "
                                   "another output file."));
            skip = 1;
          }
        if (Utilities::MPI::max(skip, comm) == 1)
          {
            pcout << "<" << file << "> is complete (" << n_samples << " fields): nothing to do\n";
            return true;
          }

        std::unique_ptr<FunctionDatasetWriter> writer;
        std::vector<unsigned int>              missing;
        if (rank == 0)
          {
            writer  = std::make_unique<FunctionDatasetWriter>(file, space, description, n_samples, recipe, true,
                                                              false);
            missing = writer->missing_rows();
          }
        missing = Utilities::MPI::broadcast(comm, missing, 0);
        const bool stopping_early = max_fields > 0 && max_fields < missing.size();
        if (stopping_early)
          missing.resize(max_fields);
        pcout << "Generating " << missing.size() << " of " << n_samples << " fields into <" << file << ">"
              << (missing.size() < n_samples ? " (resuming)" : "") << " on " << n_ranks << " process"
              << (n_ranks > 1 ? "es" : "") << '\n';

        // One field per rank at a time: rank 0 writes (and flushes) them
        // before the next start, so an interruption loses at most the field
        // each rank is computing.
        const std::size_t block = n_ranks;
        const auto        start = std::chrono::steady_clock::now();
        VectorType        field = space.create_vector();
        double            last_report = -1e300;
        for (std::size_t first = 0; first < missing.size(); first += block)
          {
            const std::size_t count = std::min<std::size_t>(block, missing.size() - first);
            std::vector<std::pair<unsigned int, std::vector<double>>> mine;
            for (std::size_t k = rank; k < count; k += n_ranks)
              {
                {
                  TimerOutput::Scope scope(timer, "compute fields");
                  make_field(seed, missing[first + k], field);
                }
                mine.emplace_back(missing[first + k], std::vector<double>(field.begin(), field.end()));
              }
            const auto gathered = Utilities::MPI::gather(comm, mine, 0);
            if (rank == 0)
              {
                TimerOutput::Scope scope(timer, "write");
                for (const auto &part : gathered)
                  for (const auto &row : part)
                    writer->write(row.first, row.second.data());
              }
            const std::size_t done    = first + count;
            const double      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (elapsed - last_report > 10 || done == missing.size())
              {
                last_report = elapsed;
                pcout << "  " << done << '/' << missing.size() << " fields, " << std::fixed << std::setprecision(1)
                      << elapsed << " s, " << elapsed / done << " s per field, about "
                      << elapsed / done * (missing.size() - done) << " s left" << std::defaultfloat << std::endl;
              }
          }
        if (rank == 0)
          {
            const std::string written = writer->finalize();
            if (stopping_early)
              pcout << "stopped after " << missing.size() << " fields (Maximum fields this run); <" << written
                    << "> keeps them, run again to continue\n";
            else
              pcout << "wrote: " << written << '\n';
          }
        return !stopping_early;
      }
    } // namespace


    namespace
    {
      /** The settings of subsection `Generate` besides the plugins. */
      struct GenerateSettings
      {
        std::string         file;
        unsigned int        n_samples;
        std::string         test_file;
        unsigned int        n_test;
        std::uint64_t       seed;
        unsigned int        max_fields;
        std::string         mean_expression;
      };


      /** Reads and checks the plain entries of subsection `Generate` (entered). */
      GenerateSettings
      read_generate_settings(ParameterHandler &prm)
      {
        GenerateSettings settings;
        settings.file            = prm.get("Output file");
        settings.n_samples       = prm.get_integer("Number of samples");
        settings.test_file       = prm.get("Test output file");
        settings.n_test          = prm.get_integer("Number of test samples");
        settings.seed            = prm.get_integer("Seed");
        settings.max_fields      = prm.get_integer("Maximum fields this run");
        settings.mean_expression = prm.get("Mean function");
        AssertThrow(settings.test_file.empty() || settings.n_test > 0,
                    ExcMessage("Generate: 'Test output file' is set but 'Number of test samples' is 0."));
        AssertThrow(settings.test_file.empty() || settings.test_file != settings.file,
                    ExcMessage("Generate: the test set needs its own file, not the training file <" +
                               settings.file + ">."));
        return settings;
      }


      /** The mean function of the random fields, interpolated on @p space. */
      template <int dim>
      VectorType
      interpolate_mean(const FunctionSpace<dim> &space, const std::string &expression)
      {
        FunctionParser<dim> mean;
        const std::string   variables = dim == 2 ? "x,y" : "x,y,z";
        try
          {
            mean.initialize(variables, expression, {{"pi", numbers::PI}});
          }
        catch (const std::exception &e)
          {
            AssertThrow(false,
                        ExcMessage("Generate: invalid Mean function <" + expression + ">: " + user_message(e)));
          }
        return space.interpolate(mean);
      }


      /**
       * How the data were made (generator, seed and every parameter that
       * matters), so that a resumed generation can check it continues the
       * same one.
       */
      template <int dim>
      std::string
      data_set_recipe(const std::string &prm_text, const std::string &source_name, const std::string &generator,
                      const std::uint64_t seed)
      {
        return "ddo generate (" + generator + "): seed " + std::to_string(seed) + ", parameters\n" +
               extract_subsections(prm_text, source_name, [](ParameterHandler &p) {
                 p.enter_subsection("Generate");
                 p.declare_entry("Mean function", "0", Patterns::Anything());
                 CovarianceRegistry<dim>::instance().declare_parameters(p, "Model", "matern", "");
                 GeneratorRegistry<dim>::instance().declare_parameters(p, "Generator", "grf", "");
                 p.leave_subsection();
               });
      }
    } // namespace


    template <int dim>
    void
    run_generate(const std::string &prm_text, const std::string &source_name)
    {
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      // Every rank builds its own serial copy of the space.
      const std::unique_ptr<FunctionSpace<dim>> space       = context.build_space();
      const std::string &                       description = context.space_description;
      prm.enter_subsection("Generate");
      const GenerateSettings settings       = read_generate_settings(prm);
      const std::string      generator_name = prm.get("Generator");
      auto model     = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
      auto generator = GeneratorRegistry<dim>::instance().create_and_parse(prm, "Generator");
      prm.leave_subsection();
      {
        TimerOutput::Scope scope(timer, "set up the covariance");
        model->initialize(*space);
      }
      {
        TimerOutput::Scope scope(timer, "set up the generator");
        generator->initialize(*space);
      }
      const VectorType mean_vector = interpolate_mean(*space, settings.mean_expression);
      const std::string recipe = data_set_recipe<dim>(prm_text, source_name, generator_name, settings.seed);

      auto random_field = std::make_shared<VectorType>(space->create_vector());
      const FieldMaker make_field = [&, random_field](const std::uint64_t s, const unsigned int index,
                                                      VectorType &out) {
        model->sample(*random_field, s, index);
        *random_field += mean_vector;
        generator->generate(*random_field, out);
      };

      const std::string generator_summary = generator->summary();
      if (!generator_summary.empty())
        pcout << generator_summary << '\n';
      pcout << space->summary();
      const bool complete = write_data_set(settings.file, settings.n_samples, settings.seed, recipe + "training set\n",
                                           *space, description, make_field, settings.max_fields, timer);
      if (!settings.test_file.empty() && complete)
        {
          // An independent stream: the test fields never repeat training ones,
          // whatever the numbers of samples.
          const std::uint64_t test_seed = settings.seed + 0x9E3779B97F4A7C15ull;
          write_data_set(settings.test_file, settings.n_test, test_seed, recipe + "test set\n", *space, description,
                         make_field, settings.max_fields, timer);
        }
    }

    template void run_generate<2>(const std::string &, const std::string &);
    template void run_generate<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
