// Gaussian random field noise under MPI: a sample depends on (seed, index)
// and the mesh only, not on the partition. A distributed mesh on all ranks
// and the same mesh built serially on every rank give the same white noise
// and the same Matern samples, compared at support points matched by their
// coordinates and through partition-independent scalars.

#include <ddo/base/hashing.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/white_noise.h>

#include <gtest/gtest.h>

#include <map>

#include "../test_utilities.h"

using namespace ddo;

namespace
{
  /** Serial DoF index of every support point of @p serial, by coordinates. */
  template <int dim>
  std::map<std::uint64_t, unsigned int>
  dof_of_point(const FunctionSpace<dim> &serial)
  {
    std::map<std::uint64_t, unsigned int> result;
    const auto &points = serial.locally_owned_support_points();
    for (unsigned int i = 0; i < points.size(); ++i)
      result[hashing::of_point(points[i], 1e-9)] = i;
    return result;
  }

  /**
   * Largest difference of the locally owned entries of @p distributed from
   * the entries of @p serial at the same support points, relative to the
   * largest serial entry; the maximum over all ranks.
   */
  template <int dim>
  double
  max_difference_at_points(const FunctionSpace<dim> &distributed_space,
                           const VectorType &        distributed,
                           const FunctionSpace<dim> &serial_space,
                           const VectorType &        serial)
  {
    const auto   serial_dof = dof_of_point(serial_space);
    const auto & points     = distributed_space.locally_owned_support_points();
    const auto & owned      = distributed_space.locally_owned_dofs();
    double       difference = 0;
    unsigned int k          = 0;
    for (const auto i : owned)
      {
        const auto it = serial_dof.find(hashing::of_point(points[k++], 1e-9));
        EXPECT_TRUE(it != serial_dof.end()) << "no serial DoF at " << points[k - 1];
        if (it != serial_dof.end())
          difference = std::max(difference, std::abs(distributed[i] - serial[it->second]));
      }
    return Utilities::MPI::max(difference, distributed_space.get_mpi_communicator()) /
           serial.linfty_norm();
  }

  template <int dim>
  void
  check_partition_independence(const std::string &mesh, const unsigned int degree, const double nu)
  {
    SCOPED_TRACE(mesh);
    ASSERT_EQ(Utilities::MPI::n_mpi_processes(MPI_COMM_WORLD), 2u)
      << "run with mpirun -np 2";
    const auto distributed =
      test_support::make_space<dim>(mesh + "set Partitioning = distributed\n", degree,
                                    MPI_COMM_WORLD);
    const auto serial = test_support::make_space<dim>(mesh, degree, MPI_COMM_SELF);
    ASSERT_TRUE(distributed->is_distributed());
    ASSERT_EQ(distributed->n_dofs(), serial->n_dofs());
    // Both ranks own cells, or the test proves nothing.
    ASSERT_GT(Utilities::MPI::min(distributed->locally_owned_dofs().n_elements(),
                                  MPI_COMM_WORLD),
              0u);

    // White noise load vectors: the same at every conforming basis function.
    WhiteNoise<dim> noise_d(*distributed), noise_s(*serial);
    VectorType      b_d, b_s;
    noise_d.sample(b_d, 42, 3);
    noise_s.sample(b_s, 42, 3);
    EXPECT_LT(max_difference_at_points(*distributed, b_d, *serial, b_s), 1e-12);

    // Matern samples: AMG on the distributed mesh, LU on the serial one.
    typename MaternSPDE<dim>::Parameters p;
    p.smoothness         = nu;
    p.correlation_length = 0.4;
    p.marginal_variance  = 2.;
    // The serial reference with a double precision factor (the default
    // single one agrees to ~1e-7 only), so that both agree to the AMG
    // tolerance.
    p.direct_precision = "double";
    MaternSPDE<dim> serial_model(p);
    p.solver           = MaternSPDE<dim>::SolverType::amg;
    p.solver_tolerance = 1e-12;
    MaternSPDE<dim> distributed_model(p);
    serial_model.initialize(*serial);
    distributed_model.initialize(*distributed);

    std::vector<VectorType> u_d(2), u_s(2);
    distributed_model.sample(u_d, 42, 7);
    serial_model.sample(u_s, 42, 7);
    for (unsigned int s = 0; s < 2; ++s)
      {
        EXPECT_LT(max_difference_at_points(*distributed, u_d[s], *serial, u_s[s]), 1e-8);
        const double norm_d = distributed->l2_inner_product(u_d[s], u_d[s]);
        const double norm_s = serial->l2_inner_product(u_s[s], u_s[s]);
        EXPECT_NEAR(norm_d, norm_s, 1e-8 * norm_s);
        const double cm_d = distributed_model.cameron_martin_norm_squared(u_d[s]);
        const double cm_s = serial_model.cameron_martin_norm_squared(u_s[s]);
        EXPECT_NEAR(cm_d, cm_s, 1e-6 * cm_s);
      }

    // apply() and the exact pointwise variance, too.
    VectorType c_d, c_s;
    distributed_model.apply(u_d[0], c_d);
    serial_model.apply(u_s[0], c_s);
    EXPECT_LT(max_difference_at_points(*distributed, c_d, *serial, c_s), 1e-8);
    EXPECT_LT(max_difference_at_points(*distributed, distributed_model.pointwise_variance(),
                                       *serial, serial_model.pointwise_variance()),
              1e-8);
  }
} // namespace


TEST(CovarianceMPI, SamplesDoNotDependOnPartitionQuadrilateralsWithHangingNodes)
{
  check_partition_independence<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0.3, 0.3, 0.3\n"
    "set Local refinement radius = 0.3\n",
    1, 1.);
}

TEST(CovarianceMPI, SamplesDoNotDependOnPartitionTrianglesAlpha3)
{
  check_partition_independence<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n"
    "set Cell type = simplex\nset Distortion = 0.2\n",
    2, 2.);
}

TEST(CovarianceMPI, SamplesDoNotDependOnPartitionHexahedra)
{
  check_partition_independence<3>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 3\nend\n"
    "set Local refinement cycles = 1\nset Local refinement center = 0, 0, 0\n"
    "set Local refinement radius = 0.4\n",
    1, 0.5);
}

TEST(CovarianceMPI, SamplesDoNotDependOnPartitionPeriodicQuadraticQuadrilaterals)
{
  check_partition_independence<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\n"
    "set Periodic directions = 0, 1\nset Distortion = 0.2\n",
    2, 2.);
}
