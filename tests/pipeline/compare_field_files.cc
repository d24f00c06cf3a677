// Compares two data set files (ddo's HDF5 field files) row by row:
//
//   compare_field_files A.h5 B.h5 RELATIVE_TOLERANCE
//
// Prints the number of fields and DoFs and the largest difference relative to
// the largest value of A; exits with 1 if the files hold different numbers of
// fields or DoFs, other meshes (fingerprints), or a relative difference above
// RELATIVE_TOLERANCE (0: they must be bitwise equal).

#include <ddo/base/mpi_session.h>
#include <ddo/dataset/function_dataset.h>

#include <deal.II/base/mpi.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

int
main(int argc, char **argv)
{
  ddo::MPISession mpi(argc, argv, 1);
  if (argc != 4)
    {
      std::cerr << "usage: compare_field_files A.h5 B.h5 RELATIVE_TOLERANCE\n";
      return 2;
    }
  try
    {
      const ddo::FunctionDatasetReader a(argv[1]), b(argv[2]);
      const double                     tolerance = std::stod(argv[3]);
      if (a.info().n_samples != b.info().n_samples || a.info().n_dofs != b.info().n_dofs ||
          a.info().fingerprint != b.info().fingerprint)
        {
          std::cerr << "The files differ in shape or mesh: " << a.info().n_samples << " x " << a.info().n_dofs
                    << " (mesh " << a.info().fingerprint << ") against " << b.info().n_samples << " x "
                    << b.info().n_dofs << " (mesh " << b.info().fingerprint << ").\n";
          return 1;
        }
      const std::vector<double> u = a.read_all(), v = b.read_all();
      double                    largest = 0, difference = 0;
      for (std::size_t i = 0; i < u.size(); ++i)
        {
          largest    = std::max(largest, std::abs(u[i]));
          difference = std::max(difference, std::abs(u[i] - v[i]));
        }
      const double relative = difference / std::max(largest, 1e-300);
      std::cout << a.info().n_samples << " fields x " << a.info().n_dofs << " DoFs: largest difference " << difference
                << ", relative " << relative << " (tolerance " << tolerance << ")\n";
      return (tolerance == 0 ? difference == 0 : relative <= tolerance) ? 0 : 1;
    }
  catch (const std::exception &e)
    {
      std::cerr << "compare_field_files: " << e.what() << '\n';
      return 2;
    }
}
