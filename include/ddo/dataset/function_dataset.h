#ifndef ddo_function_dataset_h
#define ddo_function_dataset_h

/**
 * @file
 * Data sets of finite element functions in HDF5 files.
 *
 * <h3>File format `ddo-function-dataset 1`</h3>
 * Root attributes:
 * - `format` (string) `ddo-function-dataset 1`;
 * - `dimension` (int), `element` (string, the deal.II name of the element),
 *   `fingerprint` (string, FunctionSpace::fingerprint()), `n_dofs` (int);
 * - `space_description` (string): the `Mesh` and `Finite element`
 *   parameter subsections that rebuild the mesh (build_function_space());
 * - `description` (string): free text of the producer.
 *
 * Data sets:
 * - `coefficients` `[n_samples, n_dofs]` double: the coefficient vectors
 *   (all DoFs, constraints satisfied, in the DoF numbering of the rebuilt
 *   space);
 * - `completed` `[n_samples]` uint8: 1 for the rows that were written (a
 *   file being generated may have holes);
 * - `support_points` `[n_dofs, dim]` and `quadrature_weights` `[n_dofs]`:
 *   for tools that read the file without deal.II.
 *
 * Files are written as `NAME.partial` and renamed to `NAME` when every row
 * is complete, so a finished file is never half written; generation can be
 * resumed from the partial file after an interruption (every row is flushed
 * to disk as soon as it is written).
 *
 * Data sets hold functions on serial (replicated) meshes; every rank may
 * read them.
 *
 * @ingroup dataset
 */

#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /** What the header of a data set file says. */
  struct FunctionDatasetInfo
  {
    std::string  file_name;
    unsigned int dimension = 0;
    std::string  element;
    std::string  fingerprint;
    std::uint64_t n_dofs      = 0;
    unsigned int  n_samples   = 0;
    unsigned int  n_completed = 0;
    std::string   space_description;
    std::string   description;
  };

  /**
   * Reads a data set file (see the file documentation). Every error (file
   * missing, not HDF5, truncated, wrong format, incomplete rows, NaN or
   * infinite values, mesh mismatch) is an exception whose message names
   * the file and the problem.
   */
  class FunctionDatasetReader
  {
  public:
    /** Opens @p file_name and reads and checks its header. */
    explicit FunctionDatasetReader(const std::string &file_name);
    ~FunctionDatasetReader();

    /** The header. */
    const FunctionDatasetInfo &
    info() const;

    /**
     * Reads rows [first, first + count) into @p values (row-major,
     * `count * n_dofs`). Throws if a row is not completed or holds a value
     * that is not finite (naming the row).
     */
    void
    read(const unsigned int first, const unsigned int count, std::vector<double> &values) const;

    /** All rows, `n_samples * n_dofs` values. */
    std::vector<double>
    read_all() const;

    /**
     * Throws unless the data live on @p space: same dimension, element,
     * number of DoFs and mesh fingerprint.
     */
    template <int dim>
    void
    check_compatible(const FunctionSpace<dim> &space) const;

  private:
    struct Handles;
    std::unique_ptr<Handles> handles;
    FunctionDatasetInfo      header;
  };

  /**
   * Writes a data set file, row by row, resumably (see the file
   * documentation). Call on one rank only.
   */
  class FunctionDatasetWriter
  {
  public:
    /**
     * Prepares `file_name.partial` for @p n_samples rows of functions on
     * @p space, described by @p space_description (the parameter text that
     * rebuilds the space, see extract_space_description()).
     *
     * If @p resume and the partial file exists, it is reopened: its header
     * must match (same space and number of rows; an error says what
     * differs) and its completed rows are kept. Otherwise the file is
     * created afresh. Throws if `file_name` itself already exists, unless
     * @p overwrite.
     */
    template <int dim>
    FunctionDatasetWriter(const std::string &       file_name,
                          const FunctionSpace<dim> &space,
                          const std::string &       space_description,
                          const unsigned int        n_samples,
                          const std::string &       description,
                          const bool                resume    = true,
                          const bool                overwrite = false);
    ~FunctionDatasetWriter();

    /** Rows not yet written. */
    std::vector<unsigned int>
    missing_rows() const;

    /** Number of rows. */
    unsigned int
    n_samples() const;

    /**
     * Writes row @p index (`n_dofs` values; must be finite), marks it
     * completed and flushes the file.
     */
    void
    write(const unsigned int index, const double *values);

    /** Writes a coefficient vector of a serial space as row @p index. */
    void
    write(const unsigned int index, const VectorType &vector);

    /**
     * Closes the file and, if every row is complete, renames it to its
     * final name (returned); otherwise leaves the partial file for a later
     * resume and returns its name.
     */
    std::string
    finalize();

  private:
    struct Handles;
    std::unique_ptr<Handles> handles;
    std::string              final_name;
    std::string              partial_name;
    std::uint64_t            n_dofs = 0;
    std::vector<std::uint8_t> completed;
  };

  /**
   * Mean and scale of a data set, used to normalize the data a network sees
   * (`(u - mean) / scale`). Both are scalars, so they transfer to any mesh:
   * mean \f$\mu = \frac{1}{n|\Omega|}\sum_s \int u_s\f$, scale
   * \f$s = (\frac{1}{n|\Omega|}\sum_s \int (u_s-\mu)^2)^{1/2}\f$.
   */
  struct DataNormalization
  {
    double mean  = 0.;
    double scale = 1.;
  };

  /**
   * Computes the DataNormalization of @p n_samples row-major coefficient
   * vectors @p values on the serial @p space.
   */
  template <int dim>
  DataNormalization
  compute_normalization(const FunctionSpace<dim> &space,
                        const std::vector<double> &values,
                        const unsigned int         n_samples);
} // namespace ddo

#endif
