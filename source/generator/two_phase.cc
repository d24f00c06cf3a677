// The data generator `two_phase`: a two-valued coefficient, the threshold of
// the random field g at every DoF,
//   a = High value where g > Threshold, Low value elsewhere,
// the permeability of the Darcy inverse problems of DiffusionPDE and FunDPS
// (a in {3, 12}, the threshold of a Gaussian field at 0). Strongly
// non-Gaussian: a Gaussian with its covariance cannot take two values.
// DoFs constrained by hanging nodes take the interpolated values.

#include <ddo/generator/interface.h>

#include <sstream>

namespace ddo
{
  namespace generators
  {
    /** The nodal threshold of the random field. */
    template <int dim>
    class TwoPhase : public Generator<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        prm.declare_entry("Low value", "3", Patterns::Double(), "a where g <= Threshold.");
        prm.declare_entry("High value", "12", Patterns::Double(), "a where g > Threshold.");
        prm.declare_entry("Threshold", "0", Patterns::Double(), "The level of g that separates the phases.");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        low       = prm.get_double("Low value");
        high      = prm.get_double("High value");
        threshold = prm.get_double("Threshold");
        AssertThrow(low != high, ExcMessage("two_phase: Low value and High value must differ."));
      }

      void
      initialize(const FunctionSpace<dim> &space_in) override
      {
        space = &space_in;
      }

      void
      generate(const VectorType &random_field, VectorType &field) override
      {
        field = random_field;
        for (const auto i : random_field.locally_owned_elements())
          field[i] = random_field[i] > threshold ? high : low;
        field.compress(VectorOperation::insert);
        // Constrained DoFs (hanging nodes, periodic images) follow their masters.
        space->get_constraints().distribute(field);
      }

      std::string
      summary() const override
      {
        std::ostringstream out;
        out << "two phases: " << high << " where the field exceeds " << threshold << ", " << low
            << " elsewhere";
        return out.str();
      }

    private:
      const FunctionSpace<dim> *space = nullptr;
      double                    low = 3, high = 12, threshold = 0;
    };
  } // namespace generators
} // namespace ddo

DDO_REGISTER_GENERATOR(ddo::generators::TwoPhase, "two_phase",
                       "Two-valued fields: the threshold of the Gaussian random field (Darcy permeability)")
