// The quantity `darcy_boundary_flux`: the outflow of steady Darcy flow
// (ddo::DarcyProblem, the forward model of the likelihood
// darcy_point_pressure) through a part of the Dirichlet boundary, for a
// permeability field a(u):
//   Q(u) = -int_{Gamma_part} a dp/dn,
// computed as the variational flux int f w - int a grad p . grad w with w
// the finite element function that is 1 at the Dirichlet DoFs of the part
// and 0 elsewhere (hanging nodes constrained) (exact for the discrete solution: the parts of a
// partition of the Dirichlet boundary add up to int f when the rest of the
// boundary is impermeable). One solve per field.

#include <deal.II/base/function_parser.h>

#include <ddo/pde/darcy_problem.h>
#include <ddo/quantity/interface.h>

#include <memory>

namespace ddo
{
  namespace quantities
  {
    /** The Darcy outflow through part of the boundary (see the file documentation). */
    template <int dim>
    class DarcyBoundaryFlux : public QuantityOfInterest<dim>
    {
    public:
      static void
      declare_parameters(ParameterHandler &prm)
      {
        DarcySettings::declare_parameters(prm);
        prm.declare_entry("Boundary part", "1", Patterns::Anything(),
                          "Where on the Dirichlet boundary the outflow is measured: the Dirichlet DoFs "
                          "whose support point makes this expression of x, y (and z) positive, e.g. "
                          "'x > 0.999' for the side x = 1 of the unit square ('1': all of it).");
      }

      void
      parse_parameters(ParameterHandler &prm) override
      {
        darcy_settings.parse_parameters(prm, "darcy_boundary_flux");
        part_expression = prm.get("Boundary part");
      }

      void
      initialize(const FunctionSpace<dim> &space) override
      {
        problem = std::make_unique<DarcyProblem<dim>>(space, darcy_settings, "darcy_boundary_flux");
        weight.reinit(space.n_dofs());
        FunctionParser<dim> part;
        try
          {
            part.initialize(dim == 2 ? "x,y" : "x,y,z", part_expression, {{"pi", numbers::PI}});
            part.value(Point<dim>()); // the expression is parsed at its first evaluation
          }
        catch (const std::exception &)
          {
            AssertThrow(false, ExcMessage("darcy_boundary_flux: invalid 'Boundary part' <" + part_expression +
                                          ">: an expression of x, y" + (dim == 3 ? ", z" : "") +
                                          " such as 'x > 0.999 && y < 0.5'."));
          }
        const std::vector<Point<dim>> &points = space.locally_owned_support_points();
        for (const types::global_dof_index i : problem->dirichlet_dofs())
          weight[i] = part.value(points[i]) > 0 ? 1. : 0.;
        n_part_dofs = static_cast<unsigned int>(weight.l1_norm());
        // A conforming weight (hanging nodes take their parents' values): the
        // residual identity holds only for test functions of the space.
        space.get_constraints().distribute(weight);
        AssertThrow(n_part_dofs > 0, ExcMessage("darcy_boundary_flux: no Dirichlet DoF satisfies 'Boundary part' <" +
                                                part_expression + ">; the flux would be zero."));
      }

      double
      evaluate(const Vector<double> &u) override
      {
        return problem->outflow(u, problem->solve_pressure(u), weight);
      }

      unsigned int
      n_solves() const override
      {
        return problem->n_solves();
      }

      std::string
      summary() const override
      {
        return "Darcy outflow through the Dirichlet boundary where " + part_expression + " (" +
               std::to_string(n_part_dofs) + " DoFs), " + darcy_settings.summary();
      }

    private:
      DarcySettings                      darcy_settings;
      std::string                        part_expression = "1";
      std::unique_ptr<DarcyProblem<dim>> problem;
      Vector<double>                     weight;
      unsigned int                       n_part_dofs = 0;
    };
  } // namespace quantities
} // namespace ddo

DDO_REGISTER_QUANTITY(ddo::quantities::DarcyBoundaryFlux, "darcy_boundary_flux",
                      "outflow of Darcy flow -div(a grad p) = f through part of the Dirichlet boundary")
