#ifndef ddo_mpi_session_h
#define ddo_mpi_session_h

/**
 * @file
 * MPI initialization and finalization for ddo's programs, with the leak
 * check of a sanitized build placed where it sees ddo's leaks only.
 *
 * @ingroup base
 */

#include <deal.II/base/mpi.h>

namespace ddo
{
  /**
   * deal.II's Utilities::MPI::MPI_InitFinalize for the `main()` of a ddo
   * program (the driver, the test executables, the examples), which in a
   * build with AddressSanitizer (CMake option `DDO_SANITIZE`) also runs
   * LeakSanitizer's check at the right moment:
   *
   * - allocations made while MPI is initialized are not tracked (OpenMPI
   *   keeps part of its start-up state, about 125 kB in 3,400 allocations
   *   per process, in memory it never frees);
   * - the leak check runs when this object is destroyed, before
   *   MPI_Finalize: everything ddo allocated and lost is unreachable by
   *   then, while OpenMPI's state is still reachable. MPI_Finalize unloads
   *   OpenMPI's components, after which their allocations would look
   *   leaked; the check at exit is not run again.
   *
   * So the check needs no suppressions for MPI_Init/MPI_Finalize, which
   * would need the full stack of every allocation (OpenMPI's libraries have
   * no frame pointers; full unwinding makes the torch tests about 30 times
   * slower). Without AddressSanitizer, or with `detect_leaks=0`, this is
   * exactly MPI_InitFinalize.
   *
   * Declare it first in `main()`, so that everything else is destroyed
   * before the check.
   */
  class MPISession
  {
  public:
    /**
     * Initializes MPI (and deal.II's thread limit @p max_num_threads) as
     * MPI_InitFinalize does.
     */
    MPISession(int &argc, char **&argv, unsigned int max_num_threads = 1);

    /**
     * Runs LeakSanitizer's check (sanitized builds; a leak ends the process
     * with LeakSanitizer's report), then finalizes MPI.
     */
    ~MPISession();

    MPISession(const MPISession &) = delete;
    MPISession &
    operator=(const MPISession &) = delete;

  private:
    /** Stops leak tracking when constructed: a member declared before #mpi. */
    struct UntrackedAllocations
    {
      UntrackedAllocations();
    };

    UntrackedAllocations                    untracked_initialization;
    dealii::Utilities::MPI::MPI_InitFinalize mpi;
  };
} // namespace ddo

#endif
