#include <deal.II/base/utilities.h>

#include <ddo/torch/model/checkpoint.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace ddo
{
  namespace
  {
    constexpr const char *format_name        = "ddo-checkpoint-1";
    constexpr const char *metadata_file_name = "metadata.json";

    /** A metadata key as a property-tree path: keys contain dots, so '/' separates (none does). */
    boost::property_tree::ptree::path_type
    key_path(const std::string &key)
    {
      return boost::property_tree::ptree::path_type(key, '/');
    }
  } // namespace


  void
  save_checkpoint(const std::string &                path,
                  ScoreNetworkBase &                 network,
                  const std::string &                network_name,
                  const unsigned int                 dimension,
                  const CheckpointMetadata &         extra_metadata,
                  torch::optim::Optimizer *          optimizer,
                  const std::vector<torch::Tensor> * ema_parameters)
  {
    namespace fs = std::filesystem;
    const fs::path target(path), temporary(path + ".tmp"), previous(path + ".old");
    // A complete checkpoint that a crash left in path.tmp must not be
    // removed below: move it into place first.
    recover_interrupted_checkpoint(path);
    fs::remove_all(temporary);
    fs::create_directories(temporary);

    {
      CheckpointMetadata metadata = extra_metadata;
      metadata["format"]    = format_name;
      metadata["dimension"] = std::to_string(dimension);
      metadata["network"]   = network_name;
      std::istringstream architecture(network.architecture());
      for (std::string line; std::getline(architecture, line);)
        {
          const auto equal = line.find(" = ");
          if (equal != std::string::npos)
            metadata["architecture." + line.substr(0, equal)] = line.substr(equal + 3);
        }
      write_checkpoint_metadata(temporary.string(), metadata);
    }
    try
      {
        torch::serialize::OutputArchive archive;
        network.save(archive);
        archive.save_to((temporary / "weights.pt").string());
        if (optimizer != nullptr)
          {
            torch::serialize::OutputArchive optimizer_archive;
            optimizer->save(optimizer_archive);
            optimizer_archive.save_to((temporary / "optimizer.pt").string());
          }
        if (ema_parameters != nullptr)
          {
            // Swap the averages in, save them in the network's own format, swap back.
            torch::NoGradGuard no_grad;
            auto               parameters = network.parameters();
            AssertThrow(ema_parameters->size() == parameters.size(),
                        ExcMessage("save_checkpoint: the averaged weights do not match the network."));
            std::vector<torch::Tensor> raw;
            for (std::size_t i = 0; i < parameters.size(); ++i)
              {
                raw.push_back(parameters[i].detach().clone());
                parameters[i].copy_((*ema_parameters)[i]);
              }
            // The archive holds references to the tensors until save_to():
            // write the file before the raw weights go back.
            const auto restore_raw = [&]() {
              for (std::size_t i = 0; i < parameters.size(); ++i)
                parameters[i].copy_(raw[i]);
            };
            try
              {
                torch::serialize::OutputArchive ema_archive;
                network.save(ema_archive);
                ema_archive.save_to((temporary / "ema.pt").string());
              }
            catch (...)
              {
                restore_raw();
                throw;
              }
            restore_raw();
          }
      }
    catch (const c10::Error &e)
      {
        AssertThrow(false, ExcMessage("Cannot write the checkpoint <" + path + ">: " + e.what_without_backtrace()));
      }

    // Replace the old checkpoint only once the new one is complete.
    fs::remove_all(previous);
    if (fs::exists(target))
      fs::rename(target, previous);
    fs::rename(temporary, target);
    fs::remove_all(previous);
  }


  bool
  recover_interrupted_checkpoint(const std::string &path)
  {
    namespace fs = std::filesystem;
    const fs::path target(path), temporary(path + ".tmp"), previous(path + ".old");
    std::error_code error;
    // save_checkpoint() moves path to path.old only once path.tmp is complete.
    if (fs::exists(target) || !fs::exists(previous) || !fs::exists(temporary / metadata_file_name))
      return false;
    fs::rename(temporary, target, error);
    // Another rank may have done it in the meantime; that is as good.
    AssertThrow(!error || fs::exists(target / metadata_file_name),
                ExcMessage("Cannot complete the interrupted checkpoint write of <" + path + ">: moving <" +
                           temporary.string() + "> into place failed: " + error.message()));
    fs::remove_all(previous, error);
    return true;
  }


  void
  write_checkpoint_metadata(const std::string &path, const CheckpointMetadata &metadata)
  {
    boost::property_tree::ptree tree;
    for (const auto &entry : metadata)
      tree.put(key_path(entry.first), entry.second);
    const std::string file = path + "/" + metadata_file_name;
    try
      {
        boost::property_tree::write_json(file, tree);
      }
    catch (const boost::property_tree::json_parser_error &e)
      {
        AssertThrow(false, ExcMessage("Cannot write " + file + ": " + e.message()));
      }
  }


  CheckpointMetadata
  read_checkpoint_metadata(const std::string &path)
  {
    recover_interrupted_checkpoint(path);
    const std::string file = path + "/" + metadata_file_name;
    AssertThrow(std::filesystem::exists(file),
                ExcMessage("Cannot read the checkpoint <" + path + ">: " + file +
                           " is missing (is this a ddo checkpoint directory?)."));
    boost::property_tree::ptree tree;
    try
      {
        boost::property_tree::read_json(file, tree);
      }
    catch (const boost::property_tree::json_parser_error &e)
      {
        AssertThrow(false, ExcMessage("Corrupt checkpoint metadata " + file + ", line " + std::to_string(e.line()) +
                                        ": " + e.message() + "."));
      }
    CheckpointMetadata metadata;
    for (const auto &entry : tree)
      {
        AssertThrow(entry.second.empty(),
                    ExcMessage("Corrupt checkpoint metadata " + file + ": <" + entry.first +
                               "> is not a plain value."));
        metadata[entry.first] = entry.second.data();
      }
    AssertThrow(metadata["format"] == format_name,
                ExcMessage("<" + path + "> is not a checkpoint of this version of ddo (format <" +
                           metadata["format"] + ">, expected <" + format_name + ">)."));
    return metadata;
  }


  bool
  checkpoint_has_ema(const std::string &path)
  {
    return std::filesystem::exists(path + "/ema.pt");
  }


  void
  load_checkpoint_weights(const std::string &path, const std::string &file_name, ScoreNetworkBase &network)
  {
    // LibTorch's load() silently takes the stored shapes: remember ours.
    std::map<std::string, std::vector<std::int64_t>> expected_shapes;
    for (const auto &p : network.named_parameters())
      expected_shapes[p.key()] = p.value().sizes().vec();
    for (const auto &b : network.named_buffers())
      expected_shapes[b.key()] = b.value().sizes().vec();
    try
      {
        torch::serialize::InputArchive archive;
        archive.load_from(path + "/" + file_name);
        network.load(archive);
      }
    catch (const c10::Error &e)
      {
        AssertThrow(false, ExcMessage("Cannot load the weights " + file_name + " of the checkpoint <" + path +
                                      ">: the file is missing, corrupt or does not match the "
                                      "architecture in metadata.json (" +
                                      std::string(e.what_without_backtrace()).substr(0, 300) + ")."));
      }
    auto check_shape = [&](const std::string &name, const torch::Tensor &t) {
      AssertThrow(expected_shapes[name] == t.sizes().vec(),
                  ExcMessage("Cannot load the weights of the checkpoint <" + path + ">: tensor <" + name +
                             "> does not match the architecture in metadata.json."));
    };
    for (const auto &p : network.named_parameters())
      check_shape(p.key(), p.value());
    for (const auto &b : network.named_buffers())
      check_shape(b.key(), b.value());
  }


  void
  load_optimizer_state(const std::string &path, torch::optim::Optimizer &optimizer)
  {
    try
      {
        torch::serialize::InputArchive archive;
        archive.load_from(path + "/optimizer.pt");
        optimizer.load(archive);
      }
    catch (const c10::Error &e)
      {
        AssertThrow(false, ExcMessage("Cannot load the optimizer state of the checkpoint <" + path +
                                      ">: optimizer.pt is missing or corrupt (" +
                                      std::string(e.what_without_backtrace()).substr(0, 300) + ")."));
      }
  }


  template <int dim>
  std::unique_ptr<ScoreNetwork<dim>>
  load_checkpoint(const std::string &path, CheckpointMetadata *metadata_out, torch::optim::Optimizer *optimizer,
                  const bool use_ema)
  {
    const CheckpointMetadata metadata = read_checkpoint_metadata(path);
    const auto               dimension = metadata.find("dimension");
    AssertThrow(dimension != metadata.end() && dimension->second == std::to_string(dim),
                ExcMessage("The checkpoint <" + path + "> holds a network for dimension " +
                           (dimension == metadata.end() ? std::string("?") : dimension->second) +
                           ", but this run is " + std::to_string(dim) + "-dimensional."));
    const auto name = metadata.find("network");
    AssertThrow(name != metadata.end(), ExcMessage("The checkpoint <" + path + "> names no network."));

    // The architecture through the plugin's own parameter declarations.
    const auto &      entry = ScoreNetworkRegistry<dim>::instance().get(name->second);
    ParameterHandler prm;
    entry.declare_parameters(prm);
    for (const auto &m : metadata)
      if (m.first.rfind("architecture.", 0) == 0)
        {
          try
            {
              prm.set(m.first.substr(13), m.second);
            }
          catch (const std::exception &e)
            {
              AssertThrow(false, ExcMessage("The checkpoint <" + path + "> has an invalid architecture entry <" +
                                            m.first + " = " + m.second + ">."));
            }
        }
    std::unique_ptr<ScoreNetwork<dim>> network = entry.create();
    network->parse_parameters(prm);
    network->build(prm.get("Precision") == "float64" ? torch::kFloat64 : torch::kFloat32);

    load_checkpoint_weights(path, use_ema && checkpoint_has_ema(path) ? "ema.pt" : "weights.pt", *network);
    if (optimizer != nullptr)
      load_optimizer_state(path, *optimizer);
    if (metadata_out != nullptr)
      *metadata_out = metadata;
    return network;
  }

  template std::unique_ptr<ScoreNetwork<2>>
  load_checkpoint(const std::string &, CheckpointMetadata *, torch::optim::Optimizer *, const bool);
  template std::unique_ptr<ScoreNetwork<3>>
  load_checkpoint(const std::string &, CheckpointMetadata *, torch::optim::Optimizer *, const bool);
} // namespace ddo
