#ifndef ddo_driver_commands_h
#define ddo_driver_commands_h

// The commands of the `ddo` driver program (private to the driver).

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/exceptions.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>

#include <ddo/function_space/function_space.h>

#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

namespace ddo
{
  namespace driver
  {
    /** What the first pass over a parameter file finds out. */
    struct Preamble
    {
      unsigned int dimension = 2;
    };

    /**
     * Reads `Dimension` and `Plugin libraries` from @p prm_text (ignoring
     * everything else), and loads the plugin libraries.
     */
    Preamble
    read_preamble(const std::string &prm_text, const std::string &source_name);

    /** Declares `Dimension` and `Plugin libraries`. */
    void
    declare_common(ParameterHandler &prm);

    /** Parses @p text into @p prm; errors name @p source. */
    void
    parse(ParameterHandler &prm, const std::string &text, const std::string &source, const bool skip_undefined);

    /**
     * The entries of @p text that @p declare declares, as a parameter text
     * (every entry, no documentation): stored in checkpoints and data sets.
     */
    std::string
    extract_subsections(const std::string &                            text,
                        const std::string &                            source,
                        const std::function<void(ParameterHandler &)> &declare);

    /**
     * What every command starts with: output on rank 0, a timer whose summary
     * closes the run, the parameter file parsed against every section (one
     * file serves all commands; misspelled entries are errors), and the
     * description of its mesh and function space.
     */
    template <int dim>
    struct CommandContext
    {
      CommandContext(const std::string &prm_text, const std::string &source_name);

      /**
       * The function space of the parameter file, built on @p comm
       * (MPI_COMM_SELF: every rank holds the whole serial mesh), timed.
       */
      std::unique_ptr<FunctionSpace<dim>>
      build_space(const MPI_Comm comm = MPI_COMM_SELF);

      const std::string prm_text;
      const std::string source_name;
      ConditionalOStream pcout;
      /** Wall times of rank 0; no communicator, so that an error leaves quietly. */
      TimerOutput      timer;
      ParameterHandler prm;
      /** The `Mesh` and `Finite element` sections (ddo::SpaceDescription text). */
      std::string space_description;
    };

    /** Declares subsection `Network`: a score network and its eigenbasis. */
    template <int dim>
    void
    declare_network(ParameterHandler &prm);

    /**
     * Declares every section any command reads (one parameter file can
     * serve generate, train, sample and info; misspelled entries are still
     * errors).
     */
    template <int dim>
    void
    declare_all(ParameterHandler &prm);

    /** `ddo generate file.prm`: a data set of Gaussian random fields. */
    template <int dim>
    void
    run_generate(const std::string &prm_text, const std::string &source_name);

    /** `ddo train file.prm`: train a score network on a data set. */
    template <int dim>
    void
    run_train(const std::string &prm_text, const std::string &source_name);

    /** `ddo sample file.prm`: sample from a trained model, on any mesh of the domain. */
    template <int dim>
    void
    run_sample(const std::string &prm_text, const std::string &source_name);

    /** `ddo metrics file.prm`: generated samples against a test set. */
    template <int dim>
    void
    run_metrics(const std::string &prm_text, const std::string &source_name);

    /** `ddo posterior file.prm`: posterior samples of an inverse problem with a trained prior. */
    template <int dim>
    void
    run_posterior(const std::string &prm_text, const std::string &source_name);

    /** `ddo propagate file.prm`: a quantity of interest of samples against the data's (forward uncertainty propagation). */
    template <int dim>
    void
    run_propagate(const std::string &prm_text, const std::string &source_name);

    /** `ddo info file.prm`: describe the function space and write it as VTU. */
    template <int dim>
    void
    run_info(const std::string &prm_text, const std::string &source_name);

    /**
     * The message of @p exc meant for a user: for deal.II exceptions only the
     * "additional information", without file, line and stacktrace.
     */
    inline std::string
    user_message(const std::exception &exc)
    {
      if (const auto *dealii_exc = dynamic_cast<const dealii::ExceptionBase *>(&exc))
        {
          std::ostringstream message;
          dealii_exc->print_info(message);
          return message.str();
        }
      return exc.what();
    }

    /** The parameter file of the built-in default run. */
    std::string
    default_parameters();
  } // namespace driver
} // namespace ddo

#endif
