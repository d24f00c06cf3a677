#include <deal.II/base/function_parser.h>
#include <deal.II/base/quadrature_lib.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/base/bounding_box.h>
#include <deal.II/base/function.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/full_matrix.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/mesh/mesh_builder.h>
#include "navier_stokes.h"
#include <ddo/lac/sparse_cholesky.h>


#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <set>
#include <sstream>

namespace ddo
{
  namespace internal
  {
    /**
     * Cholesky factorization of a symmetric positive definite deal.II sparse
     * matrix (SparseCholesky), computed once; a solve allocates nothing.
     */
    class CholeskyFactorization
    {
    public:
      explicit CholeskyFactorization(const SparseMatrix<double> &matrix)
        : cholesky(matrix, []() {
          // Measured on 2D P1/P2 meshes of 4k-16k DoFs: with one right-hand
          // side at a time the simplicial solve beats the supernodal one
          // (BLAS calls on tiny supernodes), and METIS nested dissection
          // gives ~15% less fill than AMD.
          SparseCholesky::AdditionalData data;
          data.supernodal        = false;
          data.try_amd_and_metis = false;
          return data;
        }())
      {}

      /** x = A^{-1} b (x and b may be the same vector). */
      void
      solve(const Vector<double> &b, Vector<double> &x)
      {
        if (&x != &b)
          x = b;
        cholesky.solve(x.begin(), 1, x.size());
      }

    private:
      SparseCholesky cholesky;
    };
  } // namespace internal


  // ---------------------------------------------------------------- parameters

  std::string
  VorticitySolver::Parameters::default_initial_vorticity()
  {
    // Smooth, zero mean, two modes of different wave numbers |k| = 2 sqrt(2) pi
    // and 2 sqrt(5) pi: not a steady state of the Euler equations, so the
    // advection acts from the start. Velocity of order 0.1.
    return "sin(2*pi*x)*sin(2*pi*y) + 0.5*cos(2*pi*(2*x + y))";
  }


  void
  VorticitySolver::Parameters::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Viscosity", "1e-3", Patterns::Double(),
                      "Kinematic viscosity nu > 0 of omega_t + u.grad(omega) = nu Laplace(omega) + f.");
    prm.declare_entry("Final time", "10", Patterns::Double(),
                      "Final time T >= 0, a multiple of the time step.");
    prm.declare_entry("Time step", "1e-2", Patterns::Double(),
                      "Time step of the CN-AB2 scheme. The advection is explicit: keep "
                      "the CFL number |u| dt p / h below about 0.5.");
    prm.declare_entry("Maximum CFL number", "0.6", Patterns::Double(0),
                      "Stop with an error when |u| dt p / h exceeds this (0: never); "
                      "CN-AB2 becomes unstable at about 0.7.");
    prm.declare_entry("Maximum time step halvings", "2", Patterns::Integer(0, 10),
                      "When the CFL bound would be exceeded, continue with half the "
                      "time step, at most this many times per run (0: stop with an "
                      "error).");
    prm.declare_entry("Initial vorticity", default_initial_vorticity(), Patterns::Anything(),
                      "Initial vorticity omega_0(x, y) (FunctionParser syntax, pi "
                      "defined); its mean is removed.");
  }


  void
  VorticitySolver::Parameters::parse_parameters(ParameterHandler &prm)
  {
    viscosity         = prm.get_double("Viscosity");
    final_time        = prm.get_double("Final time");
    time_step         = prm.get_double("Time step");
    max_cfl           = prm.get_double("Maximum CFL number");
    max_time_step_halvings = prm.get_integer("Maximum time step halvings");
    initial_vorticity = prm.get("Initial vorticity");
    validate();
  }


  void
  VorticitySolver::Parameters::validate() const
  {
    AssertThrow(viscosity > 0 && std::isfinite(viscosity),
                ExcMessage("Navier-Stokes: 'Viscosity' must be positive, got " +
                           std::to_string(viscosity) + "."));
    AssertThrow(time_step > 0 && std::isfinite(time_step),
                ExcMessage("Navier-Stokes: 'Time step' must be positive, got " +
                           std::to_string(time_step) + "."));
    AssertThrow(final_time >= 0 && std::isfinite(final_time),
                ExcMessage("Navier-Stokes: 'Final time' must be non-negative, got " +
                           std::to_string(final_time) + "."));
    const double steps = final_time / time_step;
    AssertThrow(std::abs(steps - std::round(steps)) <= 1e-8 * std::max(1., steps),
                ExcMessage("Navier-Stokes: 'Final time' (" + std::to_string(final_time) +
                           ") must be a multiple of 'Time step' (" + std::to_string(time_step) +
                           ")."));
    AssertThrow(steps < 1e8, ExcMessage("Navier-Stokes: more than 1e8 time steps requested."));
    AssertThrow(max_cfl >= 0 && !std::isnan(max_cfl),
                ExcMessage("Navier-Stokes: 'Maximum CFL number' must be non-negative."));
  }


  unsigned int
  VorticitySolver::Parameters::n_time_steps() const
  {
    return static_cast<unsigned int>(std::round(final_time / time_step));
  }


  // ---------------------------------------------------------------- setup

  VorticitySolver::VorticitySolver(const FunctionSpace<2> &space_in, const Parameters &parameters_in)
    : space(space_in)
    , parameters(parameters_in)
    , constraints(space_in.get_constraints())
  {
    parameters.validate();
    check_space();
    assemble_and_factorize();
    precompute_advection_data();

    FunctionParser<2> omega0(1);
    omega0.initialize("x,y", parameters.initial_vorticity, {{"pi", numbers::PI}});
    set_initial_vorticity(space.interpolate(omega0));
  }


  VorticitySolver::~VorticitySolver() = default;


  void
  VorticitySolver::check_space() const
  {
    AssertThrow(!space.is_distributed() &&
                  Utilities::MPI::n_mpi_processes(space.get_mpi_communicator()) == 1,
                ExcMessage("VorticitySolver supports serial function spaces only (one "
                           "MPI rank; build the mesh on MPI_COMM_SELF to generate one "
                           "sample per process)."));

    // Doubly periodic: every boundary face is a periodic face of MeshBuilder,
    // and the DoFs of the upper faces are constrained to the lower ones.
    std::set<types::boundary_id> periodic_ids;
    std::set<types::boundary_id> upper_ids;
    for (unsigned int d = 0; d < 2; ++d)
      {
        const PeriodicBoundary b = periodic_boundary_of_direction(d);
        periodic_ids.insert({b.first, b.second});
        upper_ids.insert(b.second);
      }
    const std::string how = " Build the mesh with 'Periodic directions = 0, 1' and pass "
                            "MeshBuilder::periodic_boundaries() to the FunctionSpace.";
    // Every DoF on an upper face is either constrained (to its lower image)
    // or, where the lower side is the finer one, the target of a constraint
    // of a lower-face DoF.
    std::vector<types::global_dof_index> face_dofs;
    std::set<types::global_dof_index>    upper_dofs, lower_dofs;
    std::set<types::boundary_id>         seen;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      for (const unsigned int f : cell->face_indices())
        if (cell->at_boundary(f))
          {
            const types::boundary_id id = cell->face(f)->boundary_id();
            AssertThrow(periodic_ids.count(id) == 1,
                        ExcMessage("VorticitySolver needs a doubly periodic mesh (a "
                                   "torus), but found a boundary face with boundary id " +
                                   std::to_string(id) + "." + how));
            seen.insert(id);
            face_dofs.resize(space.get_fe().n_dofs_per_face(f));
            cell->face(f)->get_dof_indices(face_dofs);
            (upper_ids.count(id) == 1 ? upper_dofs : lower_dofs)
              .insert(face_dofs.begin(), face_dofs.end());
          }
    std::set<types::global_dof_index> targets_of_lower;
    for (const auto &line : constraints.get_lines())
      if (lower_dofs.count(line.index) == 1)
        for (const auto &entry : line.entries)
          targets_of_lower.insert(entry.first);
    for (const auto dof : upper_dofs)
      AssertThrow(constraints.is_constrained(dof) || targets_of_lower.count(dof) == 1,
                  ExcMessage("VorticitySolver needs a doubly periodic space, but the "
                             "periodic faces of the mesh carry no periodicity "
                             "constraints." + how));
    AssertThrow(seen == periodic_ids,
                ExcMessage("VorticitySolver needs a mesh periodic in both directions "
                           "(x and y)." + how));

    // The constraints must identify the right DoFs: a periodic identity
    // x_i = x_j (one entry of weight 1; hanging node lines have several)
    // must hold for the interpolant of a smooth periodic function. (deal.II
    // 9.4's make_periodicity_constraints() gets this wrong on simplices.)
    const auto   box = GridTools::compute_bounding_box(space.get_triangulation());
    const auto   lower = box.get_boundary_points().first, upper = box.get_boundary_points().second;
    const double lx = upper[0] - lower[0], ly = upper[1] - lower[1];
    const ScalarFunctionFromFunctionObject<2> periodic([&](const Point<2> &p) {
      const double x = 2 * numbers::PI * (p[0] - lower[0]) / lx,
                   y = 2 * numbers::PI * (p[1] - lower[1]) / ly;
      return std::sin(x + 0.3) * std::cos(2 * y) + std::cos(x - y);
    });
    VectorType interpolant = space.create_vector();
    VectorTools::interpolate(space.get_mapping(), space.get_dof_handler(), periodic, interpolant);
    double mismatch = 0;
    for (const auto &line : constraints.get_lines())
      if (line.entries.size() == 1 && std::abs(line.entries[0].second - 1.) < 1e-12)
        mismatch =
          std::max(mismatch, std::abs(interpolant[line.index] - interpolant[line.entries[0].first]));
    AssertThrow(mismatch < 1e-8,
                ExcMessage("VorticitySolver: the periodicity constraints of the space do "
                           "not identify matching DoFs (the interpolant of a periodic "
                           "function violates them by " + std::to_string(mismatch) +
                           "). deal.II 9.4's DoFTools::make_periodicity_constraints() is "
                           "wrong on simplex meshes; FunctionSpace must match periodic "
                           "DoFs by their support points there."));
  }


  void
  VorticitySolver::assemble_and_factorize()
  {
    const DoFHandler<2> &dof_handler = space.get_dof_handler();
    const unsigned int   n_dofs      = dof_handler.n_dofs();

    // The singular periodic Laplacian is made regular by pinning the first
    // free DoF (its images under periodicity follow when closing).
    types::global_dof_index pin = 0;
    while (constraints.is_constrained(pin))
      ++pin;
    pinned_constraints.clear();
    pinned_constraints.reinit(space.locally_relevant_dofs());
    pinned_constraints.add_line(pin);
    pinned_constraints.merge(constraints, AffineConstraints<double>::no_conflicts_allowed, true);
    pinned_constraints.close();

    {
      DynamicSparsityPattern dsp(n_dofs);
      DoFTools::make_sparsity_pattern(dof_handler, dsp, constraints, false);
      sparsity.copy_from(dsp);
      DynamicSparsityPattern pinned_dsp(n_dofs);
      DoFTools::make_sparsity_pattern(dof_handler, pinned_dsp, pinned_constraints, false);
      pinned_sparsity.copy_from(pinned_dsp);
    }
    mass.reinit(sparsity);
    stiffness.reinit(sparsity);
    laplace_pinned.reinit(pinned_sparsity);

    FEValues<2>        fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                          update_values | update_gradients | update_JxW_values);
    const unsigned int n = space.get_fe().n_dofs_per_cell();
    FullMatrix<double> cell_mass(n, n), cell_stiffness(n, n);
    std::vector<types::global_dof_index> dof_indices(n);
    for (const auto &cell : dof_handler.active_cell_iterators())
      {
        fe_values.reinit(cell);
        cell_mass      = 0;
        cell_stiffness = 0;
        for (const unsigned int q : fe_values.quadrature_point_indices())
          for (unsigned int i = 0; i < n; ++i)
            for (unsigned int j = 0; j < n; ++j)
              {
                cell_mass(i, j) +=
                  fe_values.shape_value(i, q) * fe_values.shape_value(j, q) * fe_values.JxW(q);
                cell_stiffness(i, j) +=
                  fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q) * fe_values.JxW(q);
              }
        cell->get_dof_indices(dof_indices);
        constraints.distribute_local_to_global(cell_mass, dof_indices, mass);
        constraints.distribute_local_to_global(cell_stiffness, dof_indices, stiffness);
        pinned_constraints.distribute_local_to_global(cell_stiffness, dof_indices, laplace_pinned);
      }

    laplace_factor = std::make_unique<internal::CholeskyFactorization>(laplace_pinned);
    system_factor(0);

    to_serial(space.quadrature_weights(), weights);
    volume = std::accumulate(weights.begin(), weights.end(), 0.);
  }


  void
  VorticitySolver::precompute_advection_data()
  {
    // A quadrature exact for b(u; w, v) = ((grad^perp psi).grad w) v of degree
    // 3p - 2 on affine cells: P1 one point, P2 seven points; tensor Gauss
    // rules of ceil((3p+1)/2) points on quadrilaterals (exact on parallelograms).
    const unsigned int               p = space.get_fe().degree;
    std::unique_ptr<Quadrature<2>>   quadrature;
    if (space.cell_type() == CellType::simplex)
      quadrature = std::make_unique<QWitherdenVincentSimplex<2>>((3 * p) / 2);
    else
      quadrature = std::make_unique<QGauss<2>>((3 * p + 2) / 2);

    FEValues<2> fe_values(space.get_mapping(), space.get_fe(), *quadrature,
                          update_values | update_gradients | update_JxW_values);
    dofs_per_cell              = space.get_fe().n_dofs_per_cell();
    n_q_points                 = quadrature->size();
    const unsigned int n_cells = space.get_triangulation().n_active_cells();
    cell_dofs.resize(std::size_t(n_cells) * dofs_per_cell);
    cell_jxw.resize(std::size_t(n_cells) * n_q_points);
    cell_gradients.resize(std::size_t(n_cells) * n_q_points * dofs_per_cell * 2);
    cell_inverse_h.resize(n_cells);
    // Shape values of these elements do not depend on the cell (no mapping
    // of values): store them once.
    reference_values.resize(n_q_points * dofs_per_cell);
    for (unsigned int q = 0; q < n_q_points; ++q)
      for (unsigned int i = 0; i < dofs_per_cell; ++i)
        reference_values[q * dofs_per_cell + i] =
          space.get_fe().shape_value(i, quadrature->point(q));

    std::vector<types::global_dof_index> dof_indices(dofs_per_cell);
    unsigned int                         c = 0;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      {
        fe_values.reinit(cell);
        cell->get_dof_indices(dof_indices);
        std::copy(dof_indices.begin(), dof_indices.end(), &cell_dofs[std::size_t(c) * dofs_per_cell]);
        for (unsigned int q = 0; q < n_q_points; ++q)
          {
            cell_jxw[std::size_t(c) * n_q_points + q] = fe_values.JxW(q);
            double *g = &cell_gradients[(std::size_t(c) * n_q_points + q) * dofs_per_cell * 2];
            for (unsigned int i = 0; i < dofs_per_cell; ++i)
              {
                const Tensor<1, 2> grad = fe_values.shape_grad(i, q);
                g[2 * i]                = grad[0];
                g[2 * i + 1]            = grad[1];
              }
          }
        cell_inverse_h[c] = p / cell->minimum_vertex_distance();
        ++c;
      }
  }


  // ---------------------------------------------------------------- helpers

  internal::CholeskyFactorization &
  VorticitySolver::system_factor(const unsigned int halvings)
  {
    if (system_factors.size() <= halvings)
      system_factors.resize(halvings + 1);
    if (system_factors[halvings] == nullptr)
      {
        // Crank-Nicolson matrix M + dt nu / 2 K (same pattern as M and K).
        const double         dt = parameters.time_step / std::pow(2., halvings);
        SparseMatrix<double> system(sparsity);
        system.copy_from(mass);
        system.add(0.5 * dt * parameters.viscosity, stiffness);
        system_factors[halvings] = std::make_unique<internal::CholeskyFactorization>(system);
      }
    return *system_factors[halvings];
  }


  void
  VorticitySolver::to_serial(const VectorType &in, SerialVector &out) const
  {
    AssertThrow(in.size() == space.n_dofs() && in.locally_owned_size() == space.n_dofs(),
                ExcMessage("VorticitySolver: a vector of size " + std::to_string(in.size()) +
                           " does not belong to the space (" +
                           std::to_string(space.n_dofs()) + " DoFs)."));
    out.reinit(in.size(), true);
    std::copy(in.begin(), in.end(), out.begin());
  }


  void
  VorticitySolver::from_serial(const SerialVector &in, VectorType &out) const
  {
    if (out.size() != in.size() || out.has_ghost_elements() ||
        out.locally_owned_size() != in.size())
      out.reinit(space.locally_owned_dofs(), space.get_mpi_communicator());
    std::copy(in.begin(), in.end(), out.begin());
  }


  void
  VorticitySolver::remove_mean(SerialVector &function) const
  {
    function.add(-(weights * function) / volume);
  }


  void
  VorticitySolver::remove_dual_mean(SerialVector &dual) const
  {
    // The constant function is sum_i phi_i (free DoFs): its pairing with a
    // condensed dual vector is the sum of the entries; P^T M 1 = weights.
    const double sum = std::accumulate(dual.begin(), dual.end(), 0.);
    dual.add(-sum / volume, weights);
  }


  void
  VorticitySolver::condensed_vmult(const SparseMatrix<double> &matrix,
                                   const SerialVector &        in,
                                   SerialVector &              out) const
  {
    // Condensed matrices have zero columns for constrained DoFs, so only the
    // rows of constrained DoFs (diagonal entries) need to be cleared.
    out.reinit(in.size(), true);
    matrix.vmult(out, in);
    constraints.set_zero(out);
  }


  double
  VorticitySolver::solve_poisson(const SerialVector &m_omega, SerialVector &psi) const
  {
    // K psi = M omega is solvable iff the right-hand side annihilates the
    // constants; with the pinned DoF removed the remaining equations then
    // imply the dropped one, so the pinned solve is exact.
    // Work vectors are members: vectors of > 16k doubles would otherwise be
    // mmap-ed and page-faulted anew at every time step.
    SerialVector &rhs = poisson_rhs, &pinned_rhs = poisson_pinned_rhs;
    rhs               = m_omega;
    remove_dual_mean(rhs);
    pinned_rhs = rhs;
    pinned_constraints.set_zero(pinned_rhs);
    laplace_factor->solve(pinned_rhs, psi);
    pinned_constraints.distribute(psi);
    remove_mean(psi);
    return 0.5 * (psi * rhs);
  }


  double
  VorticitySolver::advection(const SerialVector &psi, const SerialVector &omega, SerialVector &out) const
  {
    out.reinit(psi.size());
    const unsigned int n = dofs_per_cell, n_q = n_q_points;
    std::vector<double> psi_local(n), omega_local(n), result(n);
    double              max_speed_squared = 0;
    const unsigned int  n_cells           = cell_inverse_h.size();
    for (unsigned int c = 0; c < n_cells; ++c)
      {
        const types::global_dof_index *dofs = &cell_dofs[std::size_t(c) * n];
        for (unsigned int i = 0; i < n; ++i)
          {
            psi_local[i]   = psi[dofs[i]];
            omega_local[i] = omega[dofs[i]];
            result[i]      = 0;
          }
        double max_u2 = 0;
        for (unsigned int q = 0; q < n_q; ++q)
          {
            const double *g   = &cell_gradients[(std::size_t(c) * n_q + q) * n * 2];
            const double *phi = &reference_values[q * n];
            double        psi_x = 0, psi_y = 0, omega_x = 0, omega_y = 0, omega_q = 0;
            for (unsigned int i = 0; i < n; ++i)
              {
                psi_x += psi_local[i] * g[2 * i];
                psi_y += psi_local[i] * g[2 * i + 1];
                omega_x += omega_local[i] * g[2 * i];
                omega_y += omega_local[i] * g[2 * i + 1];
                omega_q += omega_local[i] * phi[i];
              }
            // u = grad^perp psi = (psi_y, -psi_x)
            const double ux = psi_y, uy = -psi_x;
            const double u_grad_omega = ux * omega_x + uy * omega_y;
            const double half_jxw     = 0.5 * cell_jxw[std::size_t(c) * n_q + q];
            // b(u; omega, phi_i) = 1/2 [(u.grad omega) phi_i - (u.grad phi_i) omega]
            for (unsigned int i = 0; i < n; ++i)
              result[i] += half_jxw * (u_grad_omega * phi[i] -
                                       (ux * g[2 * i] + uy * g[2 * i + 1]) * omega_q);
            max_u2 = std::max(max_u2, ux * ux + uy * uy);
          }
        for (unsigned int i = 0; i < n; ++i)
          out[dofs[i]] += result[i];
        max_speed_squared =
          std::max(max_speed_squared, max_u2 * cell_inverse_h[c] * cell_inverse_h[c]);
      }
    constraints.condense(out);
    // Zero with exact quadrature (div u = 0); keeps the mean of omega exactly
    // constant on non-affine cells, and does not change out . omega.
    remove_dual_mean(out);
    return std::sqrt(max_speed_squared);
  }


  // ---------------------------------------------------------------- public

  void
  VorticitySolver::set_initial_vorticity(const VectorType &omega0)
  {
    to_serial(omega0, initial_vorticity);
    constraints.distribute(initial_vorticity);
    remove_mean(initial_vorticity);
  }


  VectorType
  VorticitySolver::get_initial_vorticity() const
  {
    VectorType result;
    from_serial(initial_vorticity, result);
    return result;
  }


  void
  VorticitySolver::solve(const VectorType &forcing_in, VectorType &vorticity_out)
  {
    SerialVector forcing;
    to_serial(forcing_in, forcing);
    constraints.distribute(forcing);
    remove_mean(forcing);
    SerialVector forcing_dual;
    condensed_vmult(mass, forcing, forcing_dual);

    SerialVector omega;
    integrate(forcing, forcing_dual, omega);
    from_serial(omega, vorticity_out);
  }


  void
  VorticitySolver::integrate(const SerialVector &forcing,
                             const SerialVector &forcing_dual,
                             SerialVector &      omega)
  {
    const double nu        = parameters.viscosity;
    unsigned int halvings  = 0;
    double       dt        = parameters.time_step;
    unsigned int remaining = parameters.n_time_steps();
    // ratio of the current to the previous step: 1, or 1/2 after a halving
    double step_ratio = 1.;
    double time       = 0.;
    internal::CholeskyFactorization *factor = &system_factor(0);

    omega = initial_vorticity;
    SerialVector m_omega, k_omega, psi, rhs, advection_now, advection_old;

    history = Diagnostics();
    for (unsigned int step = 0;; ++step)
      {
        condensed_vmult(mass, omega, m_omega);
        condensed_vmult(stiffness, omega, k_omega);
        const double energy = solve_poisson(m_omega, psi);
        advection_now.swap(advection_old);
        const double speed_over_h = advection(psi, omega, advection_now);

        const double enstrophy = 0.5 * (omega * m_omega);
        AssertThrow(std::isfinite(enstrophy) && std::isfinite(energy),
                    ExcMessage("VorticitySolver: the solution blew up at t = " +
                               std::to_string(time) + "; reduce 'Time step'."));
        // Too fast for the explicit advection: continue from here with half
        // the step (CFL bound checked again for the smaller step).
        while (parameters.max_cfl > 0 && remaining > 0 && speed_over_h * dt > parameters.max_cfl)
          {
            AssertThrow(halvings < parameters.max_time_step_halvings,
                        ExcMessage(
                          "VorticitySolver: the CFL number |u| dt p / h reached " +
                          std::to_string(speed_over_h * dt) + " at t = " +
                          std::to_string(time) + " with dt = " + std::to_string(dt) +
                          " (after " + std::to_string(halvings) +
                          " halvings), above 'Maximum CFL number' = " +
                          std::to_string(parameters.max_cfl) +
                          ": the explicit advection would become unstable. Reduce "
                          "'Time step' (or the forcing), or allow more halvings."));
            ++halvings;
            dt /= 2;
            remaining *= 2;
            step_ratio /= 2;
            factor = &system_factor(halvings);
          }
        history.time.push_back(time);
        history.enstrophy.push_back(enstrophy);
        history.energy.push_back(energy);
        history.dissipation.push_back(nu * (omega * k_omega));
        history.forcing_power.push_back(forcing * m_omega);
        history.cfl.push_back(speed_over_h * dt);
        history.time_step          = dt;
        history.time_step_halvings = halvings;
        if (remaining == 0)
          return;

        // (M + dt nu/2 K) omega^{n+1} = (M - dt nu/2 K) omega^n + dt F - dt N*,
        // N* = N(t_n + dt/2) extrapolated linearly from N^n and N^{n-1}
        // (r = dt_n / dt_{n-1}): N* = (1 + r/2) N^n - r/2 N^{n-1}, which is
        // AB2 for constant steps and first order (N* = N^0) at the start.
        rhs = m_omega;
        rhs.add(-0.5 * dt * nu, k_omega, dt, forcing_dual);
        if (step == 0)
          rhs.add(-dt, advection_now);
        else
          rhs.add(-dt * (1 + step_ratio / 2), advection_now, dt * step_ratio / 2, advection_old);
        factor->solve(rhs, omega);
        constraints.distribute(omega);
        time += dt;
        --remaining;
        step_ratio = 1.;
      }
  }


  void
  VorticitySolver::compute_streamfunction(const VectorType &vorticity, VectorType &streamfunction) const
  {
    SerialVector omega, m_omega, psi;
    to_serial(vorticity, omega);
    constraints.distribute(omega);
    remove_mean(omega);
    condensed_vmult(mass, omega, m_omega);
    solve_poisson(m_omega, psi);
    from_serial(psi, streamfunction);
  }


  void
  VorticitySolver::compute_advection(const VectorType &streamfunction,
                                     const VectorType &vorticity,
                                     VectorType &      result) const
  {
    SerialVector psi, omega, out;
    to_serial(streamfunction, psi);
    to_serial(vorticity, omega);
    constraints.distribute(psi);
    constraints.distribute(omega);
    advection(psi, omega, out);
    from_serial(out, result);
  }


  double
  VorticitySolver::advection_to_diffusion_ratio(const VectorType &vorticity) const
  {
    SerialVector omega, m_omega, k_omega, psi, adv;
    to_serial(vorticity, omega);
    constraints.distribute(omega);
    remove_mean(omega);
    condensed_vmult(mass, omega, m_omega);
    condensed_vmult(stiffness, omega, k_omega);
    solve_poisson(m_omega, psi);
    advection(psi, omega, adv);
    if (mass_factor == nullptr)
      mass_factor = std::make_unique<internal::CholeskyFactorization>(mass);
    // ||M^{-1} r||_M^2 = r . M^{-1} r for a condensed dual vector r.
    auto projected_norm = [&](const SerialVector &dual) {
      SerialVector projected;
      mass_factor->solve(dual, projected);
      return std::sqrt(std::max(0., projected * dual));
    };
    const double viscous = parameters.viscosity * projected_norm(k_omega);
    return viscous > 0 ? projected_norm(adv) / viscous : 0.;
  }


  double
  VorticitySolver::enstrophy(const VectorType &vorticity) const
  {
    SerialVector omega, m_omega;
    to_serial(vorticity, omega);
    constraints.distribute(omega);
    condensed_vmult(mass, omega, m_omega);
    return 0.5 * (omega * m_omega);
  }


  double
  VorticitySolver::energy(const VectorType &vorticity) const
  {
    SerialVector omega, m_omega, psi;
    to_serial(vorticity, omega);
    constraints.distribute(omega);
    remove_mean(omega);
    condensed_vmult(mass, omega, m_omega);
    return solve_poisson(m_omega, psi);
  }


  // ---------------------------------------------------------------- statistics

  template <int dim>
  PointwiseStatistics
  pointwise_statistics(const FunctionSpace<dim> &space, const VectorType &u)
  {
    // Exact for (u - mean)^4 of degree 4p on affine cells.
    const unsigned int             p = space.get_fe().degree;
    std::unique_ptr<Quadrature<dim>> quadrature;
    if (space.cell_type() == CellType::simplex)
      quadrature = std::make_unique<QWitherdenVincentSimplex<dim>>(2 * p + 1);
    else
      quadrature = std::make_unique<QGauss<dim>>(2 * p + 1);

    VectorType ghosted = space.create_ghosted_vector();
    ghosted            = u;
    FEValues<dim>       fe_values(space.get_mapping(), space.get_fe(), *quadrature,
                            update_values | update_JxW_values);
    std::vector<double> values(quadrature->size());
    std::vector<double> jxw_all, values_all;
    double              sums[2] = {0, 0};
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          fe_values.get_function_values(ghosted, values);
          for (const unsigned int q : fe_values.quadrature_point_indices())
            {
              sums[0] += fe_values.JxW(q);
              sums[1] += fe_values.JxW(q) * values[q];
              jxw_all.push_back(fe_values.JxW(q));
              values_all.push_back(values[q]);
            }
        }
    const MPI_Comm comm = space.get_mpi_communicator();
    double         totals[2];
    Utilities::MPI::sum(ArrayView<const double>(sums, 2), comm, ArrayView<double>(totals, 2));
    const double volume = totals[0], mean = totals[1] / volume;
    double       moments[3] = {0, 0, 0};
    for (unsigned int k = 0; k < values_all.size(); ++k)
      {
        const double d  = values_all[k] - mean;
        const double d2 = d * d;
        moments[0] += jxw_all[k] * d2;
        moments[1] += jxw_all[k] * d2 * d;
        moments[2] += jxw_all[k] * d2 * d2;
      }
    double central[3];
    Utilities::MPI::sum(ArrayView<const double>(moments, 3), comm, ArrayView<double>(central, 3));
    PointwiseStatistics result;
    result.mean     = mean;
    result.variance = central[0] / volume;
    if (result.variance > 0)
      {
        result.skewness        = central[1] / volume / std::pow(result.variance, 1.5);
        result.excess_kurtosis = central[2] / volume / (result.variance * result.variance) - 3.;
      }
    return result;
  }


  template PointwiseStatistics
  pointwise_statistics(const FunctionSpace<2> &, const VectorType &);
  template PointwiseStatistics
  pointwise_statistics(const FunctionSpace<3> &, const VectorType &);
} // namespace ddo
