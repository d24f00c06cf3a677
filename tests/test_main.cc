// main() of the GoogleTest executables: MPI is initialized once for all tests,
// and only rank 0 reports (the others still run and check every assertion).

#include <deal.II/base/mpi.h>
#include <ddo/base/mpi_session.h>

#include <gtest/gtest.h>

int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  ::testing::InitGoogleTest(&argc, argv);
  if (dealii::Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) != 0)
    {
      auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
  const int failed = RUN_ALL_TESTS();
  // A failure on any rank fails the run.
  return dealii::Utilities::MPI::max(failed, MPI_COMM_WORLD);
}
