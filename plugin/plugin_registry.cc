// The single definition of every registry, and the loader of plugin libraries.

#include <ddo/mesh_geometry.h>
#include <ddo/plugin_registry.templates.h>

#include <dlfcn.h>

#include <set>

namespace ddo
{
  template class PluginRegistry<MeshGeometry<2>>;
  template class PluginRegistry<MeshGeometry<3>>;


  void
  load_plugin_libraries(const std::vector<std::string> &file_names)
  {
    static std::set<std::string> loaded;
    for (const std::string &file_name : file_names)
      {
        if (file_name.empty() || loaded.count(file_name) > 0)
          continue;
        // RTLD_GLOBAL: the library's plugins find the registries of libddo.
        void *handle = dlopen(file_name.c_str(), RTLD_NOW | RTLD_GLOBAL);
        const char *reason = handle == nullptr ? dlerror() : nullptr;
        AssertThrow(handle != nullptr,
                    ExcMessage("Cannot load the plugin library <" + file_name +
                               ">: " + (reason != nullptr ? reason : "unknown reason") +
                               ". Give a path (e.g. ./libmy_plugin.so) or put the "
                               "library on LD_LIBRARY_PATH."));
        loaded.insert(file_name);
      }
  }
} // namespace ddo
