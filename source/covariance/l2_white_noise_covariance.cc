#include <deal.II/lac/solver_cg.h>
#include <deal.II/lac/solver_control.h>

#include <ddo/covariance/l2_white_noise_covariance.h>
#include <ddo/lac/spectral_basis.h>

#include <iostream>

namespace ddo
{
  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::initialize(const FunctionSpace<dim> &new_space)
  {
    space = &new_space;
    noise = std::make_unique<WhiteNoise<dim>>(new_space);
    assemble_condensed_matrix(new_space, 1., 0., 1., mass);
    jacobi.initialize(mass);
    if (Utilities::MPI::this_mpi_process(new_space.get_mpi_communicator()) == 0)
      std::cerr << "ddo: warning: the 'white_noise' covariance is not trace class: the "
                   "norm of its samples grows with mesh refinement. Use it for ablations only."
                << std::endl;
  }


  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::restrict_to_free(VectorType &v) const
  {
    for (const auto &line : space->get_constraints().get_lines())
      if (space->locally_owned_dofs().is_element(line.index))
        v[line.index] = 0.;
    v.compress(VectorOperation::insert);
  }


  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::solve_mass(const VectorType &rhs, VectorType &solution) const
  {
    solution.reinit(space->locally_owned_dofs(), space->get_mpi_communicator());
    SolverControl            control(1000, 1e-13 * rhs.l2_norm());
    SolverCG<VectorType>     cg(control);
    if (rhs.l2_norm() > 0)
      cg.solve(mass, solution, rhs, jacobi);
    space->get_constraints().distribute(solution);
  }


  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::sample(std::vector<VectorType> &out,
                                      const std::uint64_t      seed,
                                      const unsigned int       first_sample_index) const
  {
    AssertThrow(space != nullptr, ExcMessage("white_noise: call initialize() first."));
    VectorType b = space->create_vector();
    for (unsigned int i = 0; i < out.size(); ++i)
      {
        noise->sample(b, seed, first_sample_index + i);
        solve_mass(b, out[i]);
      }
  }


  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::apply(const VectorType &in, VectorType &out) const
  {
    VectorType free = in;
    restrict_to_free(free);
    solve_mass(free, out);
  }


  template <int dim>
  void
  L2WhiteNoiseCovariance<dim>::apply_inverse(const VectorType &in, VectorType &out) const
  {
    VectorType free = in;
    restrict_to_free(free);
    out.reinit(space->locally_owned_dofs(), space->get_mpi_communicator());
    mass.vmult(out, free);
    restrict_to_free(out);
    space->get_constraints().distribute(out);
  }


  template <int dim>
  double
  L2WhiteNoiseCovariance<dim>::cameron_martin_norm_squared(const VectorType &v) const
  {
    VectorType free = v;
    restrict_to_free(free);
    return mass.matrix_scalar_product(free, free);
  }


  template <int dim>
  VectorType
  L2WhiteNoiseCovariance<dim>::pointwise_variance() const
  {
    // diag(P M^{-1} P^T): entry i is e_i^T P M^{-1} (P^T e_i). P^T e_i is e_i
    // for a free DoF and the constraint weights on its (free) masters else.
    VectorType variance = space->create_vector(), unit = space->create_vector(),
               column   = space->create_vector();
    const auto &constraints = space->get_constraints();
    for (types::global_dof_index i = 0; i < space->n_dofs(); ++i)
      {
        unit = 0;
        if (space->locally_owned_dofs().is_element(i))
          {
            if (const auto *entries = constraints.get_constraint_entries(i))
              for (const auto &entry : *entries)
                unit[entry.first] += entry.second;
            else
              unit[i] = 1.;
          }
        unit.compress(VectorOperation::add);
        apply(unit, column);
        if (space->locally_owned_dofs().is_element(i))
          variance[i] = column[i];
      }
    variance.compress(VectorOperation::insert);
    return variance;
  }


} // namespace ddo

DDO_REGISTER_COVARIANCE_MODEL(ddo::L2WhiteNoiseCovariance, "white_noise",
                              "L2 white noise (identity covariance, not trace class; ablations)")
