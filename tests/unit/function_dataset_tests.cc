// Data sets of FE functions in HDF5: round trips, resumable writing, errors
// naming the file, normalization, and transfer between meshes.

#include <deal.II/base/function.h>

#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_transfer.h>
#include <ddo/mesh/space_description.h>

#include <gtest/gtest.h>
#include <hdf5.h>

#include "../test_utilities.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace ddo;

namespace
{
  const std::string square_prm =
    "subsection Mesh\nset Geometry = box\nsubsection box\nset Subdivisions = 5\nend\n"
    "set Cell type = simplex\nset Distortion = 0.2\nend\n";

  std::string
  mesh_body(const std::string &prm)
  {
    // The body of subsection Mesh, for test_support::make_space.
    const auto begin = prm.find('\n') + 1;
    return prm.substr(begin, prm.rfind("end") - begin);
  }

  std::string
  fresh_file(const std::string &name)
  {
    const std::string file = "dataset_tests/" + name;
    std::filesystem::create_directories("dataset_tests");
    std::filesystem::remove(file);
    std::filesystem::remove(file + ".partial");
    return file;
  }

  /** Row s of a test data set: a function that is different for every s. */
  std::vector<double>
  row_values(const FunctionSpace<2> &space, const unsigned int s)
  {
    const auto &        points = space.locally_owned_support_points();
    std::vector<double> values(space.n_dofs());
    for (unsigned int i = 0; i < values.size(); ++i)
      values[i] = std::sin(1. + s * points[i][0]) + s * points[i][1];
    return values;
  }

  template <typename F>
  std::string
  error_message(F &&f)
  {
    try
      {
        f();
      }
    catch (const std::exception &e)
      {
        // deal.II wraps long messages: compare with whitespace runs collapsed.
        std::string message;
        for (const char c : std::string(e.what()))
          if (!std::isspace(static_cast<unsigned char>(c)))
            message += c;
          else if (!message.empty() && message.back() != ' ')
            message += ' ';
        return message;
      }
    return "";
  }
} // namespace


TEST(FunctionDataset, RoundTripIsExactAndRebuildsTheSpace)
{
  const std::string description = extract_space_description<2>(square_prm);
  const auto        space       = build_function_space<2>(description, MPI_COMM_SELF);
  const std::string file        = fresh_file("round_trip.h5");
  {
    FunctionDatasetWriter writer(file, *space, description, 4, "test data");
    for (unsigned int s = 0; s < 4; ++s)
      writer.write(s, row_values(*space, s).data());
    EXPECT_EQ(writer.finalize(), file);
  }
  FunctionDatasetReader reader(file);
  EXPECT_EQ(reader.info().n_samples, 4u);
  EXPECT_EQ(reader.info().n_completed, 4u);
  EXPECT_EQ(reader.info().dimension, 2u);
  EXPECT_EQ(reader.info().description, "test data");
  const auto values = reader.read_all();
  for (unsigned int s = 0; s < 4; ++s)
    {
      const auto expected = row_values(*space, s);
      for (unsigned int i = 0; i < expected.size(); ++i)
        ASSERT_EQ(values[s * expected.size() + i], expected[i]);
    }
  // The stored description rebuilds the same mesh.
  const auto rebuilt = build_function_space<2>(reader.info().space_description, MPI_COMM_SELF);
  EXPECT_EQ(rebuilt->fingerprint(), space->fingerprint());
  reader.check_compatible(*rebuilt);

  // Another mesh is rejected with a message naming the file.
  const auto other = test_support::make_space<2>(mesh_body(square_prm) + "set Distortion = 0.1\n", 1, MPI_COMM_SELF);
  const auto message = error_message([&] { reader.check_compatible(*other); });
  EXPECT_NE(message.find(file), std::string::npos) << message;
  EXPECT_NE(message.find("another mesh"), std::string::npos) << message;
}


TEST(FunctionDataset, InterruptedGenerationResumesWithoutLosingRows)
{
  const std::string description = extract_space_description<2>(square_prm);
  const auto        space       = build_function_space<2>(description, MPI_COMM_SELF);
  const std::string file        = fresh_file("resume.h5");
  {
    FunctionDatasetWriter writer(file, *space, description, 5, "resumable");
    writer.write(0, row_values(*space, 0).data());
    writer.write(3, row_values(*space, 3).data());
    // "Interrupted": the file stays partial.
    EXPECT_EQ(writer.finalize(), file + ".partial");
  }
  EXPECT_FALSE(std::filesystem::exists(file));
  const auto unfinished = error_message([&] { FunctionDatasetReader reader(file); });
  EXPECT_NE(unfinished.find("partial"), std::string::npos) << unfinished;
  {
    FunctionDatasetReader partial(file + ".partial");
    EXPECT_EQ(partial.info().n_completed, 2u);
    std::vector<double> values;
    const auto          hole = error_message([&] { partial.read(1, 1, values); });
    EXPECT_NE(hole.find("row 1 was never written"), std::string::npos) << hole;
  }
  {
    // A resume with another description is refused; the right one continues.
    const auto refused = error_message([&] { FunctionDatasetWriter(file, *space, description, 5, "other"); });
    EXPECT_NE(refused.find("another description"), std::string::npos) << refused;
    FunctionDatasetWriter writer(file, *space, description, 5, "resumable");
    EXPECT_EQ(writer.missing_rows(), (std::vector<unsigned int>{1, 2, 4}));
    for (const unsigned int s : writer.missing_rows())
      writer.write(s, row_values(*space, s).data());
    EXPECT_EQ(writer.finalize(), file);
  }
  FunctionDatasetReader reader(file);
  const auto            values = reader.read_all();
  for (unsigned int s = 0; s < 5; ++s)
    EXPECT_EQ(values[s * space->n_dofs() + 7], row_values(*space, s)[7]);
}


TEST(FunctionDataset, AWriterKilledMidRowLosesAtMostThatRow)
{
  // A child process writes rows 0, 1, 2, ... and reports each completed
  // write through a pipe; it is killed (SIGKILL) at a moment drawn from a
  // fixed seed, usually inside a write. The partial file must open, hold
  // every row whose write had returned (c) and at most the one in progress
  // (c + 1), each bit for bit, and resume from the first missing row.
  const std::string  description = extract_space_description<2>(square_prm);
  const auto         space       = build_function_space<2>(description, MPI_COMM_SELF);
  const unsigned int n_rows      = 20000; // far more than a child writes before its kill
  std::mt19937       random(17);
  for (unsigned int trial = 0; trial < 6; ++trial)
    {
      const std::string file = fresh_file("killed_" + std::to_string(trial) + ".h5");
      int               channel[2];
      ASSERT_EQ(pipe(channel), 0);
      const pid_t child = fork();
      ASSERT_GE(child, 0);
      if (child == 0)
        {
          // The child never returns into the test program.
          close(channel[0]);
          try
            {
              FunctionDatasetWriter writer(file, *space, description, n_rows, "killed");
              for (std::uint32_t done = 0;; ++done)
                {
                  if (write(channel[1], &done, sizeof(done)) != sizeof(done) || done == n_rows)
                    _exit(1);
                  writer.write(done, row_values(*space, done).data());
                }
            }
          catch (...)
            {
              _exit(2);
            }
        }
      close(channel[1]);
      std::uint32_t completed = 0; // the first report: the file exists
      ASSERT_EQ(read(channel[0], &completed, sizeof(completed)), ssize_t(sizeof(completed)));
      std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<int>(2000, 40000)(random)));
      kill(child, SIGKILL);
      int status = 0;
      waitpid(child, &status, 0);
      ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended before it was killed";
      for (std::uint32_t report; read(channel[0], &report, sizeof(report)) == ssize_t(sizeof(report));)
        completed = report;
      close(channel[0]);

      unsigned int kept = 0;
      {
        FunctionDatasetReader partial(file + ".partial");
        kept = partial.info().n_completed;
        EXPECT_GE(kept, completed) << "trial " << trial << ": a completed row was lost";
        EXPECT_LE(kept, completed + 1) << "trial " << trial;
        std::vector<double> values;
        for (const unsigned int s : {0u, kept / 2, kept - 1})
          if (s < kept)
            {
              partial.read(s, 1, values);
              EXPECT_EQ(values, row_values(*space, s)) << "trial " << trial << ", row " << s;
            }
      }
      FunctionDatasetWriter resumed(file, *space, description, n_rows, "killed");
      ASSERT_EQ(resumed.missing_rows().size(), n_rows - kept);
      EXPECT_EQ(resumed.missing_rows().front(), kept);
      std::cout << "  trial " << trial << ": killed after " << completed << " completed writes, "
                << kept << " rows kept" << std::endl;
    }
}


TEST(FunctionDataset, BadFilesGiveErrorsNamingFileAndProblem)
{
  const std::string description = extract_space_description<2>(square_prm);
  const auto        space       = build_function_space<2>(description, MPI_COMM_SELF);

  const auto missing = error_message([] { FunctionDatasetReader reader("dataset_tests/no_such_file.h5"); });
  EXPECT_NE(missing.find("no_such_file.h5"), std::string::npos);
  EXPECT_NE(missing.find("no such file"), std::string::npos) << missing;

  const std::string text = fresh_file("not_hdf5.h5");
  std::ofstream(text) << "this is not HDF5\n";
  const auto not_hdf5 = error_message([&] { FunctionDatasetReader reader(text); });
  EXPECT_NE(not_hdf5.find("not an HDF5 file"), std::string::npos) << not_hdf5;

  // A complete file cut in half.
  const std::string good = fresh_file("good.h5");
  {
    FunctionDatasetWriter writer(good, *space, description, 3, "");
    for (unsigned int s = 0; s < 3; ++s)
      writer.write(s, row_values(*space, s).data());
    writer.finalize();
  }
  const std::string truncated = fresh_file("truncated.h5");
  {
    std::ifstream     in(good, std::ios::binary);
    std::string       bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  const auto cut = error_message([&] {
    FunctionDatasetReader reader(truncated);
    reader.read_all();
  });
  EXPECT_NE(cut.find("truncated.h5"), std::string::npos) << cut;
  EXPECT_FALSE(cut.empty());

  // A NaN written behind ddo's back is found when reading, with its row.
  {
    hid_t  file    = H5Fopen(good.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t  dataset = H5Dopen2(file, "coefficients", H5P_DEFAULT);
    hid_t  space_id = H5Dget_space(dataset);
    hsize_t offset[2] = {2, 5}, count[2] = {1, 1};
    H5Sselect_hyperslab(space_id, H5S_SELECT_SET, offset, nullptr, count, nullptr);
    hid_t  memory = H5Screate_simple(2, count, nullptr);
    double nan    = std::nan("");
    H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory, space_id, H5P_DEFAULT, &nan);
    H5Sclose(memory);
    H5Sclose(space_id);
    H5Dclose(dataset);
    H5Fclose(file);
  }
  const auto with_nan = error_message([&] { FunctionDatasetReader(good).read_all(); });
  EXPECT_NE(with_nan.find("row 2"), std::string::npos) << with_nan;
  EXPECT_NE(with_nan.find("not finite"), std::string::npos) << with_nan;

  // Writing a NaN is refused.
  const std::string refuse = fresh_file("refuse.h5");
  FunctionDatasetWriter writer(refuse, *space, description, 1, "");
  auto                  values = row_values(*space, 0);
  values[3]                    = std::nan("");
  const auto refused           = error_message([&] { writer.write(0, values.data()); });
  EXPECT_NE(refused.find("not finite"), std::string::npos) << refused;
}


TEST(FunctionDataset, NormalizationIsTheL2MeanAndSpreadOnALocallyRefinedDistortedMesh)
{
  // u1 = x and u2 = 2y on distorted quadrilaterals with hanging nodes: the
  // mean and the spread are integrals (exact for these FE functions), which a
  // plain nodal average would miss on this mesh. Exact values: mean 3/4;
  // scale^2 = (int (x - 3/4)^2 + int (2y - 3/4)^2) / 2 = 13/48.
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 4\nend\nset Cell type = hypercube\n"
    "set Distortion = 0.2\nset Local refinement cycles = 2\nset Local refinement center = 0.3, 0.3, 0\n"
    "set Local refinement radius = 0.3\n",
    1, MPI_COMM_SELF);
  ASSERT_GT(space->get_constraints().n_constraints(), 0u) << "the mesh must have hanging nodes";
  const std::size_t   n = space->n_dofs();
  std::vector<double> values;
  for (const auto &f : {std::function<double(const Point<2> &)>([](const Point<2> &p) { return p[0]; }),
                        std::function<double(const Point<2> &)>([](const Point<2> &p) { return 2 * p[1]; })})
    {
      const VectorType u = space->interpolate(ScalarFunctionFromFunctionObject<2>(f));
      values.insert(values.end(), u.begin(), u.end());
    }
  const auto normalization = compute_normalization(*space, values, 2);
  EXPECT_NEAR(normalization.mean, 0.75, 1e-12);
  EXPECT_NEAR(normalization.scale, std::sqrt(13. / 48.), 1e-12);
  // The nodal average differs on this mesh (the test can fail).
  const double nodal = std::accumulate(values.begin(), values.end(), 0.) / (2 * n);
  EXPECT_GT(std::abs(nodal - 0.75), 1e-3);
}


TEST(FunctionTransfer, ReproducesLinearFunctionsAndConvergesForSmoothOnes)
{
  const auto target = test_support::make_space<2>(mesh_body(square_prm) + "set Global refinements = 1\n", 1,
                                                  MPI_COMM_SELF);
  const ScalarFunctionFromFunctionObject<2> linear([](const Point<2> &p) { return 1 + p[0] - 2 * p[1]; });
  const ScalarFunctionFromFunctionObject<2> smooth(
    [](const Point<2> &p) { return std::sin(3 * p[0]) * std::cos(2 * p[1]); });
  double                         previous_error = 0;
  for (unsigned int refinements = 0; refinements < 3; ++refinements)
    {
      // A differently distorted source mesh, refined further each time.
      const auto source = test_support::make_space<2>(
        "set Geometry = box\nsubsection box\nset Subdivisions = 7\nend\nset Cell type = simplex\n"
        "set Distortion = 0.25\nset Distortion seed = 5\nset Global refinements = " +
          std::to_string(refinements) + "\n",
        1, MPI_COMM_SELF);
      const FunctionTransfer<2> transfer(*source, *target);
      EXPECT_EQ(transfer.n_extrapolated_points(), 0u);

      VectorType out;
      transfer.apply(source->interpolate(linear), out);
      VectorType exact = target->interpolate(linear);
      exact -= out;
      EXPECT_LT(exact.linfty_norm(), 1e-12);

      transfer.apply(source->interpolate(smooth), out);
      VectorType error = target->interpolate(smooth);
      error -= out;
      const double l2 = std::sqrt(target->l2_inner_product(error, error));
      if (refinements > 0)
        {
          EXPECT_LT(l2, 0.35 * previous_error) << "source refinement " << refinements; // O(h^2): ~1/4
        }
      previous_error = l2;
    }
}


TEST(FunctionTransfer, DatasetsMoveToAnotherMesh)
{
  const std::string source_description = extract_space_description<2>(square_prm);
  const std::string target_description =
    extract_space_description<2>(square_prm + "subsection Mesh\nset Global refinements = 1\nend\n");
  const auto        source = build_function_space<2>(source_description, MPI_COMM_SELF);
  const auto        target = build_function_space<2>(target_description, MPI_COMM_SELF);
  const std::string file   = fresh_file("source.h5");
  {
    FunctionDatasetWriter writer(file, *source, source_description, 2, "to move");
    for (unsigned int s = 0; s < 2; ++s)
      writer.write(s, row_values(*source, s).data());
    writer.finalize();
  }
  const std::string moved = fresh_file("moved.h5");
  transfer_dataset(file, *source, moved, *target, target_description);
  FunctionDatasetReader reader(moved);
  reader.check_compatible(*target);
  // The refined mesh contains the coarse vertices: values there are kept.
  const auto values = reader.read_all();
  const auto original = FunctionDatasetReader(file).read_all();
  const auto &target_points = target->locally_owned_support_points();
  const auto &source_points = source->locally_owned_support_points();
  unsigned int matched = 0;
  for (unsigned int i = 0; i < source_points.size(); ++i)
    for (unsigned int j = 0; j < target_points.size(); ++j)
      if (source_points[i].distance(target_points[j]) < 1e-12)
        {
          EXPECT_NEAR(values[target->n_dofs() + j], original[source->n_dofs() + i], 1e-12);
          ++matched;
        }
  EXPECT_EQ(matched, source_points.size());
}
