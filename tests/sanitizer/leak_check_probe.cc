// A program that starts and ends MPI through ddo::MPISession and, when its
// argument is "leak", loses one allocation of 1234 bytes: in a sanitized
// build the first run must pass LeakSanitizer's check (OpenMPI's state is
// not reported) and the second must fail with the lost block in the report.

#include <ddo/base/mpi_session.h>

#include <cstdlib>
#include <cstring>

namespace
{
  // Written through a volatile pointer, so the allocation is not optimized
  // away; overwritten at once, so nothing points to it any more.
  void *volatile last_allocation = nullptr;
} // namespace

int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  if (argc > 1 && std::strcmp(argv[1], "leak") == 0)
    {
      last_allocation = std::malloc(1234);
      last_allocation = nullptr;
    }
  return 0;
}
