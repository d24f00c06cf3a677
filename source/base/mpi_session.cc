#include <ddo/base/mpi_session.h>

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/lsan_interface.h>
#  define DDO_WITH_LEAK_SANITIZER
#endif

namespace ddo
{
  MPISession::UntrackedAllocations::UntrackedAllocations()
  {
#ifdef DDO_WITH_LEAK_SANITIZER
    __lsan_disable();
#endif
  }


  MPISession::MPISession(int &argc, char **&argv, const unsigned int max_num_threads)
    : untracked_initialization()
    , mpi(argc, argv, max_num_threads)
  {
#ifdef DDO_WITH_LEAK_SANITIZER
    __lsan_enable();
#endif
  }


  MPISession::~MPISession()
  {
    // The members, MPI_InitFinalize among them, are destroyed after this
    // body: the check runs while MPI is still initialized.
#ifdef DDO_WITH_LEAK_SANITIZER
    __lsan_do_leak_check();
#endif
  }
} // namespace ddo
