#ifndef ddo_benchmark_utilities_h
#define ddo_benchmark_utilities_h

/**
 * @file
 * Small helpers shared by the benchmark programs: reading /proc files and
 * naming the BLAS library in use (for the machine description of the
 * generated pages).
 */

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>

#include <fstream>
#include <string>

namespace ddo
{
  namespace benchmark_support
  {
    /** The first line of @p file that starts with @p key ("" if none). */
    inline std::string
    first_line_of(const std::string &file, const std::string &key)
    {
      std::ifstream in(file);
      std::string   line;
      while (std::getline(in, line))
        if (line.rfind(key, 0) == 0)
          return line;
      return "";
    }

    /** A number after the first ':' of a /proc line (kB for memory entries). */
    inline double
    proc_value(const std::string &file, const std::string &key)
    {
      const std::string line = first_line_of(file, key);
      if (line.empty())
        return 0;
      return std::atof(line.substr(line.find(':') + 1).c_str());
    }

    /** Resets the peak resident set size (VmHWM) of this process. */
    inline void
    reset_peak_memory()
    {
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5" << std::endl;
    }

    /** The peak resident set size (VmHWM) of this process in MB. */
    inline double
    peak_memory_mb()
    {
      return proc_value("/proc/self/status", "VmHWM") / 1024.;
    }

    /** The current resident set size (VmRSS) of this process in MB. */
    inline double
    resident_memory_mb()
    {
      return proc_value("/proc/self/status", "VmRSS") / 1024.;
    }

    /** The processor's model name from /proc/cpuinfo. */
    inline std::string
    cpu_model()
    {
      const std::string line  = first_line_of("/proc/cpuinfo", "model name");
      const auto        colon = line.find(':');
      return colon == std::string::npos ?
               "unknown" :
               line.substr(line.find_first_not_of(" \t", colon + 1));
    }

    /**
     * The file of the library that the BLAS routine @p symbol (e.g. "dgemm_")
     * resolves to, links resolved: shows whether libblas.so.3 is OpenBLAS or
     * the reference BLAS.
     */
    inline std::string
    blas_library(const char *symbol)
    {
      Dl_info info;
      void *  address = dlsym(RTLD_DEFAULT, symbol);
      if (address == nullptr || dladdr(address, &info) == 0 || info.dli_fname == nullptr)
        return "unknown";
      char resolved[PATH_MAX];
      return realpath(info.dli_fname, resolved) != nullptr ? resolved : info.dli_fname;
    }
  } // namespace benchmark_support
} // namespace ddo

#endif
