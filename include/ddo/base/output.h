#ifndef ddo_output_h
#define ddo_output_h

/**
 * @file
 * Writing FE functions of a ddo::FunctionSpace as VTU, atomically.
 *
 * @ingroup base
 */

#include <ddo/function_space/function_space.h>

#include <string>
#include <utility>
#include <vector>

namespace ddo
{
  /**
   * Writes the fields @p fields (name, coefficient vector) of @p space to
   * the single VTU file @p file_name (collective; with several ranks all
   * write into one file through MPI-IO). Cell data `subdomain` (owning rank)
   * and `level` are added. The file is first written under a temporary name
   * and then renamed, so an existing file is never left half-written.
   * A serial (replicated) mesh is written by rank 0 of MPI_COMM_WORLD, or,
   * with @p this_rank_writes, by the calling rank (whatever rank holds the
   * fields, e.g. when the ranks share out independent work). Returns
   * @p file_name.
   */
  template <int dim>
  std::string
  write_vtu(const FunctionSpace<dim> &                                    space,
            const std::vector<std::pair<std::string, const VectorType *>> &fields,
            const std::string &                                           file_name,
            const bool                                                    this_rank_writes = false);

  /**
   * Renames @p temporary to @p final_name on rank 0 of @p comm after all
   * ranks arrive (atomic replacement on POSIX file systems). Throws with
   * both names on failure.
   */
  void
  atomic_rename(const std::string &temporary,
                const std::string &final_name,
                const MPI_Comm     comm);

  /** Creates directory @p path (and its parents) if missing; throws if impossible. */
  void
  create_directories(const std::string &path);
} // namespace ddo

#endif
