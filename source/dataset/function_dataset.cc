// HDF5 data sets of FE functions. Written with the HDF5 C API rather than
// deal.II's HDF5 wrappers: resumable generation flushes every row (H5Fflush)
// and reopens partial files for writing, and damaged or foreign files must give
// a clear message (H5Fis_hdf5, HDF5's own error printing silenced); deal.II
// 9.4's HDF5::File offers no flush and reports failures as internal errors.

#include <ddo/dataset/function_dataset.h>
#include <ddo/base/output.h>

#include <hdf5.h>

#include <filesystem>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ddo
{
  namespace
  {
    const char *format_name = "ddo-function-dataset 1";

    /**
     * Silences HDF5's own error printing while alive: every failure is
     * turned into an exception with a message naming the file instead.
     */
    class SilenceHdf5Errors
    {
    public:
      SilenceHdf5Errors()
      {
        H5Eget_auto2(H5E_DEFAULT, &function, &data);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
      }
      ~SilenceHdf5Errors()
      {
        H5Eset_auto2(H5E_DEFAULT, function, data);
      }

    private:
      H5E_auto2_t function = nullptr;
      void *      data     = nullptr;
    };


    /** An HDF5 identifier closed by @p close when it goes out of scope. */
    class Hid
    {
    public:
      Hid() = default;
      Hid(const hid_t id, herr_t (*close)(hid_t))
        : id(id)
        , close(close)
      {}
      Hid(const Hid &) = delete;
      Hid &
      operator=(const Hid &) = delete;
      Hid(Hid &&other) noexcept
        : id(other.id)
        , close(other.close)
      {
        other.id = -1;
      }
      Hid &
      operator=(Hid &&other) noexcept
      {
        reset();
        id       = other.id;
        close    = other.close;
        other.id = -1;
        return *this;
      }
      ~Hid()
      {
        reset();
      }
      void
      reset()
      {
        if (id >= 0 && close != nullptr)
          close(id);
        id = -1;
      }
      /** Closes the object; false if the library reports an error (a file: its last flush failed). */
      bool
      close_checked()
      {
        const bool closed = id < 0 || close == nullptr || close(id) >= 0;
        id                = -1;
        return closed;
      }
      bool
      valid() const
      {
        return id >= 0;
      }
      operator hid_t() const
      {
        return id;
      }

    private:
      hid_t id = -1;
      herr_t (*close)(hid_t) = nullptr;
    };


    bool
    file_exists(const std::string &name)
    {
      std::error_code error;
      return std::filesystem::exists(name, error);
    }


    std::string
    where(const std::string &file)
    {
      return "Data set file <" + file + ">: ";
    }


    void
    write_string_attribute(const hid_t object, const std::string &name, const std::string &value,
                           const std::string &file)
    {
      Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(type, std::max<std::size_t>(1, value.size()));
      H5Tset_strpad(type, H5T_STR_NULLPAD);
      Hid space(H5Screate(H5S_SCALAR), H5Sclose);
      Hid attribute(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
      AssertThrow(attribute.valid(), ExcMessage(where(file) + "cannot create attribute <" + name + ">."));
      const std::string padded = value.empty() ? std::string(1, '\0') : value;
      AssertThrow(H5Awrite(attribute, type, padded.data()) >= 0,
                  ExcMessage(where(file) + "cannot write attribute <" + name + ">."));
    }


    void
    write_integer_attribute(const hid_t object, const std::string &name, const std::uint64_t value,
                            const std::string &file)
    {
      Hid space(H5Screate(H5S_SCALAR), H5Sclose);
      Hid attribute(H5Acreate2(object, name.c_str(), H5T_STD_U64LE, space, H5P_DEFAULT, H5P_DEFAULT),
                    H5Aclose);
      AssertThrow(attribute.valid() && H5Awrite(attribute, H5T_NATIVE_UINT64, &value) >= 0,
                  ExcMessage(where(file) + "cannot write attribute <" + name + ">."));
    }


    std::string
    read_string_attribute(const hid_t object, const std::string &name, const std::string &file)
    {
      AssertThrow(H5Aexists(object, name.c_str()) > 0,
                  ExcMessage(where(file) + "the attribute <" + name +
                             "> is missing: not a ddo data set, or a damaged one."));
      Hid attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
      Hid type(H5Aget_type(attribute), H5Tclose);
      AssertThrow(attribute.valid() && type.valid() && H5Tget_class(type) == H5T_STRING,
                  ExcMessage(where(file) + "the attribute <" + name + "> is not a string."));
      if (H5Tis_variable_str(type) > 0)
        {
          char *buffer = nullptr;
          Hid   memory_type(H5Tget_native_type(type, H5T_DIR_ASCEND), H5Tclose);
          AssertThrow(H5Aread(attribute, memory_type, &buffer) >= 0,
                      ExcMessage(where(file) + "cannot read attribute <" + name + ">."));
          const std::string value = buffer != nullptr ? buffer : "";
          H5free_memory(buffer);
          return value;
        }
      const std::size_t size = H5Tget_size(type);
      std::string       value(size, '\0');
      AssertThrow(H5Aread(attribute, type, &value[0]) >= 0,
                  ExcMessage(where(file) + "cannot read attribute <" + name + ">."));
      value.resize(std::strlen(value.c_str()));
      return value;
    }


    std::uint64_t
    read_integer_attribute(const hid_t object, const std::string &name, const std::string &file)
    {
      AssertThrow(H5Aexists(object, name.c_str()) > 0,
                  ExcMessage(where(file) + "the attribute <" + name +
                             "> is missing: not a ddo data set, or a damaged one."));
      Hid           attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), H5Aclose);
      std::uint64_t value = 0;
      AssertThrow(attribute.valid() && H5Aread(attribute, H5T_NATIVE_UINT64, &value) >= 0,
                  ExcMessage(where(file) + "cannot read attribute <" + name + ">."));
      return value;
    }


    std::vector<hsize_t>
    dataset_extent(const hid_t dataset)
    {
      Hid                  space(H5Dget_space(dataset), H5Sclose);
      const int            rank = H5Sget_simple_extent_ndims(space);
      std::vector<hsize_t> extent(std::max(rank, 0));
      if (rank > 0)
        H5Sget_simple_extent_dims(space, extent.data(), nullptr);
      return extent;
    }


    Hid
    open_dataset(const hid_t file_id, const std::string &name, const std::vector<hsize_t> &extent,
                 const std::string &file)
    {
      AssertThrow(H5Lexists(file_id, name.c_str(), H5P_DEFAULT) > 0,
                  ExcMessage(where(file) + "the data set </" + name + "> is missing."));
      Hid dataset(H5Dopen2(file_id, name.c_str(), H5P_DEFAULT), H5Dclose);
      AssertThrow(dataset.valid(), ExcMessage(where(file) + "cannot open </" + name + ">."));
      AssertThrow(dataset_extent(dataset) == extent,
                  ExcMessage(where(file) + "</" + name +
                             "> does not have the size the header announces (damaged file?)."));
      return dataset;
    }


    Hid
    create_dataset(const hid_t file_id, const std::string &name, const std::vector<hsize_t> &extent,
                   const hid_t type, const std::vector<hsize_t> &chunk, const std::string &file)
    {
      Hid space(H5Screate_simple(extent.size(), extent.data(), nullptr), H5Sclose);
      Hid properties(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
      if (!chunk.empty())
        H5Pset_chunk(properties, chunk.size(), chunk.data());
      Hid dataset(H5Dcreate2(file_id, name.c_str(), type, space, H5P_DEFAULT, properties, H5P_DEFAULT),
                  H5Dclose);
      AssertThrow(dataset.valid(), ExcMessage(where(file) + "cannot create </" + name + ">."));
      return dataset;
    }


    /** Reads or writes the rectangle [offset, offset + count) of @p dataset. */
    herr_t
    transfer_block(const hid_t dataset, const hid_t memory_type, const std::vector<hsize_t> &offset,
                   const std::vector<hsize_t> &count, void *data, const bool write)
    {
      Hid file_space(H5Dget_space(dataset), H5Sclose);
      H5Sselect_hyperslab(file_space, H5S_SELECT_SET, offset.data(), nullptr, count.data(), nullptr);
      Hid memory_space(H5Screate_simple(count.size(), count.data(), nullptr), H5Sclose);
      return write ? H5Dwrite(dataset, memory_type, memory_space, file_space, H5P_DEFAULT, data) :
                     H5Dread(dataset, memory_type, memory_space, file_space, H5P_DEFAULT, data);
    }
  } // namespace


  // ------------------------------------------------------------------ reader

  struct FunctionDatasetReader::Handles
  {
    Hid file;
    Hid coefficients;
    std::vector<std::uint8_t> completed;
  };


  FunctionDatasetReader::FunctionDatasetReader(const std::string &file_name)
    : handles(std::make_unique<Handles>())
  {
    SilenceHdf5Errors silence;
    header.file_name = file_name;
    AssertThrow(file_exists(file_name),
                ExcMessage(where(file_name) + "no such file." +
                           (file_exists(file_name + ".partial") ?
                              " A partial file <" + file_name +
                                ".partial> exists: its generation has not finished (resume it)." :
                              std::string())));
    AssertThrow(H5Fis_hdf5(file_name.c_str()) > 0,
                ExcMessage(where(file_name) + "not an HDF5 file, or a truncated or damaged one."));
    handles->file = Hid(H5Fopen(file_name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    AssertThrow(handles->file.valid(),
                ExcMessage(where(file_name) + "HDF5 cannot open it (truncated or damaged file?)."));

    const hid_t file   = handles->file;
    const auto  format = read_string_attribute(file, "format", file_name);
    AssertThrow(format == format_name,
                ExcMessage(where(file_name) + "format <" + format + ">, expected <" + format_name + ">."));
    header.dimension         = read_integer_attribute(file, "dimension", file_name);
    header.element           = read_string_attribute(file, "element", file_name);
    header.fingerprint       = read_string_attribute(file, "fingerprint", file_name);
    header.n_dofs            = read_integer_attribute(file, "n_dofs", file_name);
    header.space_description = read_string_attribute(file, "space_description", file_name);
    header.description       = read_string_attribute(file, "description", file_name);
    AssertThrow(header.dimension == 2 || header.dimension == 3,
                ExcMessage(where(file_name) + "dimension " + std::to_string(header.dimension) +
                           " is not 2 or 3."));

    AssertThrow(H5Lexists(file, "completed", H5P_DEFAULT) > 0,
                ExcMessage(where(file_name) + "the data set </completed> is missing."));
    Hid completed(H5Dopen2(file, "completed", H5P_DEFAULT), H5Dclose);
    const auto completed_extent = dataset_extent(completed);
    AssertThrow(completed.valid() && completed_extent.size() == 1,
                ExcMessage(where(file_name) + "</completed> is damaged."));
    header.n_samples = completed_extent[0];
    handles->completed.resize(header.n_samples);
    if (header.n_samples > 0)
      AssertThrow(H5Dread(completed, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                          handles->completed.data()) >= 0,
                  ExcMessage(where(file_name) + "cannot read </completed> (truncated file?)."));
    for (const auto flag : handles->completed)
      header.n_completed += (flag != 0);

    handles->coefficients =
      open_dataset(file, "coefficients", {header.n_samples, header.n_dofs}, file_name);
  }


  FunctionDatasetReader::~FunctionDatasetReader() = default;


  const FunctionDatasetInfo &
  FunctionDatasetReader::info() const
  {
    return header;
  }


  void
  FunctionDatasetReader::read(const unsigned int first, const unsigned int count,
                              std::vector<double> &values) const
  {
    SilenceHdf5Errors silence;
    const std::string &file = header.file_name;
    AssertThrow(first + count <= header.n_samples,
                ExcMessage(where(file) + "rows " + std::to_string(first) + ".." +
                           std::to_string(first + count) + " requested, but it has " +
                           std::to_string(header.n_samples) + "."));
    for (unsigned int i = first; i < first + count; ++i)
      AssertThrow(handles->completed[i] != 0,
                  ExcMessage(where(file) + "row " + std::to_string(i) +
                             " was never written (an unfinished generation)."));
    values.resize(std::size_t(count) * header.n_dofs);
    if (count == 0)
      return;
    AssertThrow(transfer_block(handles->coefficients, H5T_NATIVE_DOUBLE, {first, 0},
                               {count, header.n_dofs}, values.data(), false) >= 0,
                ExcMessage(where(file) + "cannot read rows " + std::to_string(first) + ".." +
                           std::to_string(first + count) + " (truncated or damaged file?)."));
    for (std::size_t k = 0; k < values.size(); ++k)
      AssertThrow(std::isfinite(values[k]),
                  ExcMessage(where(file) + "row " + std::to_string(first + k / header.n_dofs) +
                             " holds a value that is not finite (" + std::to_string(values[k]) +
                             ") at DoF " + std::to_string(k % header.n_dofs) + "."));
  }


  std::vector<double>
  FunctionDatasetReader::read_all() const
  {
    std::vector<double> values;
    read(0, header.n_samples, values);
    return values;
  }


  template <int dim>
  void
  FunctionDatasetReader::check_compatible(const FunctionSpace<dim> &space) const
  {
    const std::string &file = header.file_name;
    AssertThrow(header.dimension == dim,
                ExcMessage(where(file) + "holds " + std::to_string(header.dimension) +
                           "D functions, but the mesh is " + std::to_string(dim) + "D."));
    AssertThrow(header.element == space.get_fe().get_name(),
                ExcMessage(where(file) + "element " + header.element + ", but the space uses " +
                           space.get_fe().get_name() + "."));
    AssertThrow(header.n_dofs == space.n_dofs(),
                ExcMessage(where(file) + std::to_string(header.n_dofs) + " DoFs per function, but the space has " +
                           std::to_string(space.n_dofs()) + ": the data live on another mesh."));
    AssertThrow(header.fingerprint == space.fingerprint(),
                ExcMessage(where(file) + "mesh fingerprint " + header.fingerprint +
                           " differs from the space's " + space.fingerprint() +
                           ": the data live on another mesh (transfer them first)."));
  }


  // ------------------------------------------------------------------ writer

  namespace
  {
    /**
     * H5Fflush, checked: HDF5 caches what H5Dwrite gets, so a full disk
     * shows only when the flush fails.
     */
    void
    flush_to_disk(const hid_t file, const std::string &partial_name, const std::string &what)
    {
      AssertThrow(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0,
                  ExcMessage(where(partial_name) + "cannot write " + what +
                             " to disk (disk full?). The rows written before it stay in the file: free "
                             "space and run again to resume."));
    }
  } // namespace


  struct FunctionDatasetWriter::Handles
  {
    Hid file;
    Hid coefficients;
    Hid completed;
  };


  template <int dim>
  FunctionDatasetWriter::FunctionDatasetWriter(const std::string &       file_name,
                                               const FunctionSpace<dim> &space,
                                               const std::string &       space_description,
                                               const unsigned int        n_samples,
                                               const std::string &       description,
                                               const bool                resume,
                                               const bool                overwrite)
    : handles(std::make_unique<Handles>())
    , final_name(file_name)
    , partial_name(file_name + ".partial")
    , n_dofs(space.n_dofs())
  {
    SilenceHdf5Errors silence;
    AssertThrow(!space.is_distributed(),
                ExcMessage(where(file_name) + "data sets hold functions on serial meshes; "
                           "the space is distributed."));
    AssertThrow(overwrite || !file_exists(file_name),
                ExcMessage(where(file_name) + "exists already; remove it or allow overwriting."));
    const auto directory = file_name.find_last_of('/');
    if (directory != std::string::npos && directory > 0)
      create_directories(file_name.substr(0, directory));

    if (resume && file_exists(partial_name))
      {
        // Reuse the finished rows of an interrupted generation, after checking
        // that it generated the same thing.
        {
          FunctionDatasetReader previous(partial_name);
          previous.check_compatible(space);
          AssertThrow(previous.info().n_samples == n_samples,
                      ExcMessage(where(partial_name) + "has " + std::to_string(previous.info().n_samples) +
                                 " rows, but " + std::to_string(n_samples) +
                                 " are requested: remove it to start afresh."));
          AssertThrow(previous.info().description == description,
                      ExcMessage(where(partial_name) + "was generated with another description:\n  <" +
                                 previous.info().description + ">\ninstead of\n  <" + description +
                                 ">\nremove it to start afresh."));
        }
        handles->file = Hid(H5Fopen(partial_name.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
        AssertThrow(handles->file.valid(), ExcMessage(where(partial_name) + "cannot be reopened for writing."));
        handles->coefficients = open_dataset(handles->file, "coefficients", {n_samples, n_dofs}, partial_name);
        handles->completed    = open_dataset(handles->file, "completed", {n_samples}, partial_name);
        completed.resize(n_samples);
        if (n_samples > 0)
          H5Dread(handles->completed, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, completed.data());
        return;
      }

    handles->file = Hid(H5Fcreate(partial_name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    AssertThrow(handles->file.valid(),
                ExcMessage(where(partial_name) +
                           "cannot be created (is its directory writable, and is there space on the disk?)."));
    const hid_t file = handles->file;
    write_string_attribute(file, "format", format_name, partial_name);
    write_integer_attribute(file, "dimension", dim, partial_name);
    write_string_attribute(file, "element", space.get_fe().get_name(), partial_name);
    write_string_attribute(file, "fingerprint", space.fingerprint(), partial_name);
    write_integer_attribute(file, "n_dofs", n_dofs, partial_name);
    write_string_attribute(file, "space_description", space_description, partial_name);
    write_string_attribute(file, "description", description, partial_name);

    // One chunk per row: writing a row touches nothing else.
    handles->coefficients = create_dataset(file, "coefficients", {n_samples, n_dofs}, H5T_IEEE_F64LE,
                                           {1, std::max<hsize_t>(1, n_dofs)}, partial_name);
    handles->completed = create_dataset(file, "completed", {n_samples}, H5T_STD_U8LE, {}, partial_name);
    completed.assign(n_samples, 0);
    if (n_samples > 0)
      H5Dwrite(handles->completed, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, completed.data());

    const auto &       points  = space.locally_owned_support_points();
    const auto &       weights = space.quadrature_weights();
    std::vector<double> coordinates(n_dofs * dim), weight_values(n_dofs);
    for (std::size_t i = 0; i < n_dofs; ++i)
      {
        for (unsigned int d = 0; d < dim; ++d)
          coordinates[i * dim + d] = points[i][d];
        weight_values[i] = weights[i];
      }
    Hid points_set = create_dataset(file, "support_points", {n_dofs, dim}, H5T_IEEE_F64LE, {}, partial_name);
    Hid weights_set = create_dataset(file, "quadrature_weights", {n_dofs}, H5T_IEEE_F64LE, {}, partial_name);
    AssertThrow(H5Dwrite(points_set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, coordinates.data()) >= 0 &&
                  H5Dwrite(weights_set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           weight_values.data()) >= 0,
                ExcMessage(where(partial_name) + "cannot write the mesh data (disk full?)."));
    flush_to_disk(file, partial_name, "the mesh data");
  }


  FunctionDatasetWriter::~FunctionDatasetWriter() = default;


  std::vector<unsigned int>
  FunctionDatasetWriter::missing_rows() const
  {
    std::vector<unsigned int> rows;
    for (unsigned int i = 0; i < completed.size(); ++i)
      if (completed[i] == 0)
        rows.push_back(i);
    return rows;
  }


  unsigned int
  FunctionDatasetWriter::n_samples() const
  {
    return completed.size();
  }


  void
  FunctionDatasetWriter::write(const unsigned int index, const double *values)
  {
    SilenceHdf5Errors silence;
    AssertThrow(handles->file.valid(), ExcMessage(where(final_name) + "was finalized already."));
    AssertThrow(index < completed.size(),
                ExcMessage(where(final_name) + "row " + std::to_string(index) + " is beyond its " +
                           std::to_string(completed.size()) + " rows."));
    for (std::size_t k = 0; k < n_dofs; ++k)
      AssertThrow(std::isfinite(values[k]),
                  ExcMessage(where(final_name) + "refusing to write row " + std::to_string(index) +
                             ": value at DoF " + std::to_string(k) + " is not finite."));
    AssertThrow(transfer_block(handles->coefficients, H5T_NATIVE_DOUBLE, {index, 0}, {1, n_dofs},
                               const_cast<double *>(values), true) >= 0,
                ExcMessage(where(partial_name) + "cannot write row " + std::to_string(index) +
                           " (disk full?)."));
    // The row is on disk before it is marked complete.
    flush_to_disk(handles->file, partial_name, "row " + std::to_string(index));
    std::uint8_t one = 1;
    AssertThrow(transfer_block(handles->completed, H5T_NATIVE_UINT8, {index}, {1}, &one, true) >= 0,
                ExcMessage(where(partial_name) + "cannot mark row " + std::to_string(index) + "."));
    flush_to_disk(handles->file, partial_name, "the mark of row " + std::to_string(index));
    completed[index] = 1;
  }


  void
  FunctionDatasetWriter::write(const unsigned int index, const VectorType &vector)
  {
    AssertThrow(vector.size() == n_dofs && vector.locally_owned_size() == n_dofs,
                ExcMessage(where(final_name) + "the vector does not hold all " + std::to_string(n_dofs) +
                           " DoFs of a serial space."));
    write(index, vector.begin());
  }


  std::string
  FunctionDatasetWriter::finalize()
  {
    // The file is complete only once it is closed without an error.
    handles->coefficients.reset();
    handles->completed.reset();
    const bool closed = handles->file.close_checked();
    handles           = std::make_unique<Handles>();
    AssertThrow(closed, ExcMessage(where(partial_name) + "cannot be closed (disk full?); it is left as it is."));
    if (missing_rows().empty())
      {
        atomic_rename(partial_name, final_name, MPI_COMM_SELF);
        return final_name;
      }
    return partial_name;
  }


  // ------------------------------------------------------------------ normalization

  template <int dim>
  DataNormalization
  compute_normalization(const FunctionSpace<dim> &space, const std::vector<double> &values,
                        const unsigned int n_samples)
  {
    const std::size_t n = space.n_dofs();
    AssertThrow(values.size() == n * n_samples && n_samples > 0,
                ExcMessage("compute_normalization: need n_samples full coefficient vectors."));
    const VectorType &w      = space.quadrature_weights();
    const double      volume = space.volume();
    double            sum    = 0;
    for (unsigned int s = 0; s < n_samples; ++s)
      for (std::size_t i = 0; i < n; ++i)
        sum += w[i] * values[s * n + i];
    DataNormalization result;
    result.mean = sum / (n_samples * volume);

    // The L2 norm of u - mean through the mass matrix: exact for FE functions.
    VectorType   u = space.create_vector();
    double       second_moment = 0;
    for (unsigned int s = 0; s < n_samples; ++s)
      {
        for (std::size_t i = 0; i < n; ++i)
          u[i] = values[s * n + i] - result.mean;
        second_moment += space.l2_inner_product(u, u);
      }
    result.scale = std::sqrt(second_moment / (n_samples * volume));
    AssertThrow(result.scale > 0 && std::isfinite(result.scale),
                ExcMessage("The data set has zero or non-finite spread (scale " +
                           std::to_string(result.scale) + "): cannot normalize it."));
    return result;
  }


  template void FunctionDatasetReader::check_compatible<2>(const FunctionSpace<2> &) const;
  template void FunctionDatasetReader::check_compatible<3>(const FunctionSpace<3> &) const;
  template FunctionDatasetWriter::FunctionDatasetWriter(const std::string &, const FunctionSpace<2> &,
                                                        const std::string &, const unsigned int,
                                                        const std::string &, const bool, const bool);
  template FunctionDatasetWriter::FunctionDatasetWriter(const std::string &, const FunctionSpace<3> &,
                                                        const std::string &, const unsigned int,
                                                        const std::string &, const bool, const bool);
  template DataNormalization compute_normalization<2>(const FunctionSpace<2> &, const std::vector<double> &,
                                                      const unsigned int);
  template DataNormalization compute_normalization<3>(const FunctionSpace<3> &, const std::vector<double> &,
                                                      const unsigned int);
} // namespace ddo
