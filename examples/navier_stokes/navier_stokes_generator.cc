// The data generator `navier_stokes`: the vorticity at the final time of a
// flow on the torus driven by the Gaussian random field as its forcing (the
// push-forward experiment of the DDO paper), with ddo::VorticitySolver.
// Built as the plugin library libddo_navier_stokes.so; a parameter file loads
// it with `set Plugin libraries = libddo_navier_stokes.so`.

#include <ddo/generator/interface.h>

#include "navier_stokes.h"

#include <memory>
#include <sstream>

namespace ddo
{
  namespace generators
  {
    /**
     * Navier–Stokes push-forward (vorticity–streamfunction form, 2D only:
     * in 3D initialize() stops with an error).
     */
    template <int dim>
    class NavierStokes : public Generator<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        VorticitySolver::Parameters::declare_parameters(prm);
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        parameters.parse_parameters(prm);
      }

      void
      initialize(const FunctionSpace<dim> &space) override
      {
        AssertThrow(dim == 2, ExcMessage("Generate: the navier_stokes generator is two-dimensional "
                                         "(vorticity-streamfunction form); set Dimension = 2."));
        if constexpr (dim == 2)
          solver = std::make_unique<VorticitySolver>(space, parameters);
      }

      void
      generate(const VectorType &random_field, VectorType &field) override
      {
        Assert(solver != nullptr, ExcMessage("NavierStokes: initialize() was not called."));
        solver->solve(random_field, field);
      }

      std::string
      summary() const override
      {
        std::ostringstream out;
        out << "Navier-Stokes: viscosity " << parameters.viscosity << ", final time " << parameters.final_time
            << ", time step " << parameters.time_step << " (" << parameters.n_time_steps()
            << " steps per field); forcing: the random field";
        return out.str();
      }

    private:
      VorticitySolver::Parameters      parameters;
      std::unique_ptr<VorticitySolver> solver;
    };
  } // namespace generators
} // namespace ddo

DDO_REGISTER_GENERATOR(ddo::generators::NavierStokes, "navier_stokes",
                       "vorticity of a flow on the torus forced by the random field (2D)")
