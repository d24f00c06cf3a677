// The loader of plugin libraries (each registry is defined in the interface.cc
// of its plugin kind).

#include <ddo/base/plugin_registry.h>

#include <dlfcn.h>

#include <filesystem>
#include <set>

namespace ddo
{
  namespace
  {
    /**
     * Where to open @p file_name from: a bare name (no directory) of a
     * library that lies next to the ddo library itself (the plugin libraries
     * ddo builds and installs, e.g. libddo_navier_stokes.so) is taken from
     * there; anything else is left to the dynamic loader (a path, or a name
     * on LD_LIBRARY_PATH and the system's library directories).
     */
    std::string
    resolve_plugin_library(const std::string &file_name)
    {
      if (file_name.find('/') != std::string::npos)
        return file_name;
      Dl_info info;
      if (dladdr(reinterpret_cast<void *>(&load_plugin_libraries), &info) == 0 ||
          info.dli_fname == nullptr)
        return file_name;
      const std::filesystem::path beside =
        std::filesystem::path(info.dli_fname).parent_path() / file_name;
      std::error_code error;
      return std::filesystem::exists(beside, error) ? beside.string() : file_name;
    }
  } // namespace


  void
  load_plugin_libraries(const std::vector<std::string> &file_names)
  {
    static std::set<std::string> loaded;
    for (const std::string &file_name : file_names)
      {
        if (file_name.empty() || loaded.count(file_name) > 0)
          continue;
        // RTLD_GLOBAL: the library's plugins find the registries of libddo.
        void *handle = dlopen(resolve_plugin_library(file_name).c_str(), RTLD_NOW | RTLD_GLOBAL);
        const char *reason = handle == nullptr ? dlerror() : nullptr;
        AssertThrow(handle != nullptr,
                    ExcMessage("Cannot load the plugin library <" + file_name +
                               ">: " + (reason != nullptr ? reason : "unknown reason") +
                               ". Give a path (e.g. ./libmy_plugin.so), put the library "
                               "on LD_LIBRARY_PATH, or install it next to libddo."));
        loaded.insert(file_name);
      }
  }
} // namespace ddo
