// The data generator `grf`: the Gaussian random field itself (synthetic data
// with known statistics: the covariance model of subsection `Generate` plus
// its mean function).

#include <ddo/generator/interface.h>

namespace ddo
{
  namespace generators
  {
    /** Returns the random field unchanged. */
    template <int dim>
    class GaussianRandomField : public Generator<dim>
    {
    public:
      void
      initialize(const FunctionSpace<dim> &) override
      {}

      void
      generate(const VectorType &random_field, VectorType &field) override
      {
        field = random_field;
      }
    };
  } // namespace generators
} // namespace ddo

DDO_REGISTER_GENERATOR(ddo::generators::GaussianRandomField, "grf",
                       "Gaussian random fields: the covariance Model plus the Mean function")
