// The data generator two_phase: the nodal threshold of the random field, and
// with `Subtract mean` the threshold of the field without its constant
// component (the Darcy data of FNO, DiffusionPDE and FunDPS): invariant under
// a constant shift of the field, and both phases in every field, where the
// plain threshold of a field with a large constant component gives one phase.

#include <ddo/covariance/interface.h>
#include <ddo/generator/interface.h>

#include <gtest/gtest.h>

#include "../covariance_test_utilities.h"

using namespace ddo;

namespace
{
  std::unique_ptr<Generator<2>>
  make_two_phase(const std::string &settings)
  {
    ParameterHandler prm;
    GeneratorRegistry<2>::instance().declare_parameters(prm, "Generator", "two_phase", "");
    prm.parse_input_from_string("subsection two_phase\n" + settings + "end\n");
    return GeneratorRegistry<2>::instance().create_and_parse(prm, "Generator");
  }

  /** The number of entries equal to @p value. */
  unsigned int
  count(const VectorType &field, const double value)
  {
    unsigned int n = 0;
    for (const auto i : field.locally_owned_elements())
      n += (field[i] == value);
    return n;
  }
} // namespace


TEST(TwoPhase, ThresholdsTheFieldOrTheFieldWithoutItsMean)
{
  const auto space = test_support::make_space<2>(
    "set Geometry = box\nsubsection box\nset Subdivisions = 24\nend\n");
  const auto model = test_support::make_covariance<2>(*space, "matern", "set Smoothness = 1\nset Correlation length = 0.9\n");

  auto plain    = make_two_phase("set Threshold = 0.1\n");
  auto centered = make_two_phase("set Threshold = 0.1\nset Subtract mean = true\n");
  plain->initialize(*space);
  centered->initialize(*space);

  const unsigned int n = space->get_dof_handler().n_dofs();
  VectorType         g = space->create_vector(), a, a_shifted;
  for (unsigned int seed = 0; seed < 4; ++seed)
    {
      model->sample(g, 7, seed);
      // The plain threshold, entry by entry.
      plain->generate(g, a);
      for (const auto i : g.locally_owned_elements())
        EXPECT_EQ(a[i], g[i] > 0.1 ? 12. : 3.);

      // Centered: the threshold of g - mean(g), unchanged by a constant shift.
      centered->generate(g, a);
      const double mean = space->integral(g) / space->volume();
      for (const auto i : g.locally_owned_elements())
        EXPECT_EQ(a[i], g[i] - mean > 0.1 ? 12. : 3.);
      g.add(5.);
      centered->generate(g, a_shifted);
      a_shifted -= a;
      EXPECT_EQ(a_shifted.linfty_norm(), 0.);
      EXPECT_EQ(count(a, 3.) + count(a, 12.), n);
      EXPECT_GT(count(a, 3.), 0u);
      EXPECT_GT(count(a, 12.), 0u);

      // The plain threshold of the shifted field has one phase only.
      plain->generate(g, a);
      EXPECT_EQ(count(a, 12.), n);
    }
}


TEST(TwoPhase, EqualValuesAreRefused)
{
  EXPECT_THROW(make_two_phase("set Low value = 5\nset High value = 5\n"), ExceptionBase);
}
