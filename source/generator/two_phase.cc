// The data generator `two_phase`: a two-valued coefficient, the threshold of
// the random field g at every DoF,
//   a = High value where g > Threshold, Low value elsewhere,
// the permeability of the Darcy inverse problems of DiffusionPDE and FunDPS
// (a in {3, 12}, the threshold of a Gaussian field at 0). Strongly
// non-Gaussian: a Gaussian with its covariance cannot take two values.
// DoFs constrained by hanging nodes take the interpolated values.
//
// With `Subtract mean`, g - (1/|Omega|) int g is thresholded instead: the
// field without its constant component, as in the data of FNO, DiffusionPDE
// and FunDPS (their Gaussian field is a cosine series whose constant
// coefficient is set to zero, so every field has both phases). For a
// Neumann Matern field the constant is the lowest eigenfunction of the
// covariance, and the mean carries a large part of the variance when the
// correlation length is comparable to the domain.

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
        prm.declare_entry("Subtract mean", "false", Patterns::Bool(),
                          "Threshold g minus its mean over the domain (the field without its constant "
                          "component, as in the Darcy data of FNO, DiffusionPDE and FunDPS).");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        low       = prm.get_double("Low value");
        high      = prm.get_double("High value");
        threshold     = prm.get_double("Threshold");
        subtract_mean = prm.get_bool("Subtract mean");
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
        const double mean = subtract_mean ? space->integral(random_field) / space->volume() : 0.;
        field             = random_field;
        for (const auto i : random_field.locally_owned_elements())
          field[i] = random_field[i] - mean > threshold ? high : low;
        field.compress(VectorOperation::insert);
        // Constrained DoFs (hanging nodes, periodic images) follow their masters.
        space->get_constraints().distribute(field);
      }

      std::string
      summary() const override
      {
        std::ostringstream out;
        out << "two phases: " << high << " where the field" << (subtract_mean ? " minus its mean" : "")
            << " exceeds " << threshold << ", " << low << " elsewhere";
        return out.str();
      }

    private:
      const FunctionSpace<dim> *space = nullptr;
      double                    low = 3, high = 12, threshold = 0;
      bool                      subtract_mean = false;
    };
  } // namespace generators
} // namespace ddo

DDO_REGISTER_GENERATOR(ddo::generators::TwoPhase, "two_phase",
                       "Two-valued fields: the threshold of the Gaussian random field (Darcy permeability)")
