#ifndef ddo_driver_commands_h
#define ddo_driver_commands_h

// The commands of the `ddo` driver program (private to the driver).

#include <deal.II/base/exceptions.h>
#include <deal.II/base/parameter_handler.h>

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
