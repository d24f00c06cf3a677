#include <deal.II/base/quadrature_lib.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparsity_tools.h>

#include <ddo/matern.h>
#include <ddo/matern_spde.h>
#include <ddo/mesh_builder.h>

#include <cmath>
#include <set>
#include <sstream>

namespace ddo
{
  namespace
  {
    std::string
    to_string(const double x)
    {
      std::ostringstream out;
      out << x;
      return out.str();
    }

    /** Copies the locally owned entries of @p in (ghosted or not) into @p out. */
    void
    copy_owned(const VectorType &in, VectorType &out)
    {
      AssertThrow(in.size() == out.size(),
                  ExcMessage("Covariance operator: vector of size " +
                             std::to_string(in.size()) + " given, the space has " +
                             std::to_string(out.size()) + " DoFs."));
      for (const auto i : out.locally_owned_elements())
        out[i] = in[i];
      out.compress(VectorOperation::insert);
    }
  } // namespace


  template <int dim>
  MaternSPDE<dim>::MaternSPDE()
  {
    Parameters defaults;
    defaults.smoothness = 2. - dim / 2.;
    set_parameters(defaults);
  }


  template <int dim>
  MaternSPDE<dim>::MaternSPDE(const Parameters &parameters)
  {
    set_parameters(parameters);
  }


  template <int dim>
  void
  MaternSPDE<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Marginal variance", "1", Patterns::Double(),
                      "sigma^2: variance of the field (of the continuous field on "
                      "R^d; Neumann boundaries raise it near the boundary).");
    prm.declare_entry("Correlation length", "0.1", Patterns::Double(),
                      "rho = sqrt(8 nu)/kappa: distance at which the correlation "
                      "drops to about 0.13.");
    prm.declare_entry("Smoothness", dim == 2 ? "1" : "0.5", Patterns::Double(),
                      "nu > 0; the SPDE order alpha = nu + d/2 must be an integer "
                      "from 2 to 4 (2D: nu = 1, 2, 3; 3D: nu = 0.5, 1.5, 2.5).");
    prm.declare_entry("Boundary condition", "neumann",
                      Patterns::Selection("neumann|robin"),
                      "neumann: natural boundary conditions (variance about "
                      "doubles at the boundary); robin: adds beta * boundary "
                      "mass with beta = (Robin coefficient factor) * kappa, which "
                      "reduces the boundary effect. Periodic faces are handled by "
                      "the mesh's periodicity.");
    prm.declare_entry("Robin coefficient factor", "0.704225352", Patterns::Double(),
                      "c in beta = c kappa; the default 1/1.42 follows Daon and "
                      "Stadler (2018) and hIPPYlib.");
    prm.declare_entry("Solver", "direct", Patterns::Selection("direct|amg"),
                      "direct: sparse LU (Amesos KLU) factorized once, for small "
                      "problems; amg: CG with algebraic multigrid, for large or "
                      "distributed problems.");
    prm.declare_entry("Solver tolerance", "1e-10", Patterns::Double(),
                      "Relative residual tolerance of the amg solver.");
  }


  template <int dim>
  void
  MaternSPDE<dim>::parse_parameters(ParameterHandler &prm)
  {
    Parameters p;
    p.marginal_variance  = prm.get_double("Marginal variance");
    p.correlation_length = prm.get_double("Correlation length");
    p.smoothness         = prm.get_double("Smoothness");
    p.boundary_condition = prm.get("Boundary condition") == "robin" ?
                             BoundaryCondition::robin :
                             BoundaryCondition::neumann;
    p.robin_factor     = prm.get_double("Robin coefficient factor");
    p.solver           = prm.get("Solver") == "amg" ? SolverType::amg : SolverType::direct;
    p.solver_tolerance = prm.get_double("Solver tolerance");
    set_parameters(p);
  }


  template <int dim>
  void
  MaternSPDE<dim>::set_parameters(const Parameters &new_parameters)
  {
    parameters = new_parameters;
    check_and_derive();
    space = nullptr; // initialize() must be called again
  }


  template <int dim>
  void
  MaternSPDE<dim>::check_and_derive()
  {
    const Parameters &p = parameters;
    // Positivity checks and kappa, tau: the shared Matérn conversion.
    const MaternScales scales = MaternScales::from_user_parameters(
      dim, p.marginal_variance, p.correlation_length, p.smoothness);
    const double alpha = p.smoothness + dim / 2.;
    const double nearest = std::round(alpha);
    const std::string valid =
      dim == 2 ? "in 2D use nu = 1, 2 or 3" : "in 3D use nu = 0.5, 1.5 or 2.5";
    AssertThrow(std::abs(alpha - nearest) < 1e-12,
                ExcMessage("Matern: the SPDE order alpha = nu + d/2 = " + to_string(alpha) +
                           " is not an integer (nu = " + to_string(p.smoothness) +
                           "); fractional orders need a rational approximation, "
                           "which is not implemented: " + valid + "."));
    AssertThrow(nearest >= 2 && nearest <= 4,
                ExcMessage("Matern: SPDE order alpha = nu + d/2 = " + to_string(alpha) +
                           " is not supported (2, 3 or 4 are): " + valid + "."));
    AssertThrow(p.robin_factor >= 0 && std::isfinite(p.robin_factor),
                ExcMessage("Matern: 'Robin coefficient factor' must be >= 0, got " +
                           to_string(p.robin_factor) + "."));
    AssertThrow(p.solver_tolerance > 0 && p.solver_tolerance < 1,
                ExcMessage("Matern: 'Solver tolerance' must lie in (0, 1), got " +
                           to_string(p.solver_tolerance) + "."));

    alpha_value = static_cast<unsigned int>(nearest);
    kappa_value = scales.kappa;
    tau_value   = scales.tau;
  }


  template <int dim>
  double
  MaternSPDE<dim>::robin_coefficient() const
  {
    return parameters.boundary_condition == BoundaryCondition::robin ?
             parameters.robin_factor * kappa_value :
             0.;
  }


  template <int dim>
  void
  MaternSPDE<dim>::initialize(const FunctionSpace<dim> &space_in)
  {
    space                            = &space_in;
    const DoFHandler<dim> &   dofs        = space->get_dof_handler();
    const auto &              constraints = space->get_constraints();
    const MPI_Comm            comm        = space->get_mpi_communicator();
    const FiniteElement<dim> &fe          = space->get_fe();

    // Condensed sparsity: constrained rows and columns keep only the diagonal.
    DynamicSparsityPattern dsp(space->locally_relevant_dofs());
    DoFTools::make_sparsity_pattern(dofs, dsp, constraints, false);
    SparsityTools::distribute_sparsity_pattern(dsp, space->locally_owned_dofs(), comm,
                                               space->locally_relevant_dofs());
    a_matrix.reinit(space->locally_owned_dofs(), space->locally_owned_dofs(), dsp, comm);
    m_matrix.reinit(space->locally_owned_dofs(), space->locally_owned_dofs(), dsp, comm);

    // Boundary faces that get the Robin term: all but the periodic ones.
    const double beta = robin_coefficient();
    std::set<types::boundary_id> periodic_ids;
    for (unsigned int d = 0; d < dim; ++d)
      {
        periodic_ids.insert(periodic_boundary_of_direction(d).first);
        periodic_ids.insert(periodic_boundary_of_direction(d).second);
      }
    std::unique_ptr<Quadrature<dim - 1>> face_quadrature;
    if (space->cell_type() == CellType::simplex)
      face_quadrature = std::make_unique<QGaussSimplex<dim - 1>>(fe.degree + 1);
    else
      face_quadrature = std::make_unique<QGauss<dim - 1>>(fe.degree + 1);

    FEValues<dim>      fe_values(space->get_mapping(), fe, space->get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    FEFaceValues<dim>  fe_face_values(space->get_mapping(), fe, *face_quadrature,
                                     update_values | update_JxW_values);
    const unsigned int n = fe.n_dofs_per_cell();
    FullMatrix<double> cell_mass(n, n), cell_a(n, n);
    std::vector<types::global_dof_index> dof_indices(n);

    // Odd orders need the cell matrices of A for the noise.
    const bool                      odd = alpha_value % 2 == 1;
    std::vector<FullMatrix<double>> a_cell_matrices(
      odd ? space->get_triangulation().n_active_cells() : 0);

    const double kappa2 = kappa_value * kappa_value;
    for (const auto &cell : dofs.active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          cell_mass = 0;
          cell_a    = 0;
          for (const unsigned int q : fe_values.quadrature_point_indices())
            {
              const double JxW = fe_values.JxW(q);
              for (unsigned int i = 0; i < n; ++i)
                for (unsigned int j = 0; j <= i; ++j)
                  {
                    const double m =
                      fe_values.shape_value(i, q) * fe_values.shape_value(j, q) * JxW;
                    cell_mass(i, j) += m;
                    cell_a(i, j) += kappa2 * m + fe_values.shape_grad(i, q) *
                                                   fe_values.shape_grad(j, q) * JxW;
                  }
            }
          if (beta > 0)
            for (const unsigned int f : cell->face_indices())
              if (cell->face(f)->at_boundary() &&
                  periodic_ids.count(cell->face(f)->boundary_id()) == 0)
                {
                  fe_face_values.reinit(cell, f);
                  for (const unsigned int q : fe_face_values.quadrature_point_indices())
                    for (unsigned int i = 0; i < n; ++i)
                      for (unsigned int j = 0; j <= i; ++j)
                        cell_a(i, j) += beta * fe_face_values.shape_value(i, q) *
                                        fe_face_values.shape_value(j, q) *
                                        fe_face_values.JxW(q);
                }
          // exactly symmetric matrices
          for (unsigned int i = 0; i < n; ++i)
            for (unsigned int j = i + 1; j < n; ++j)
              {
                cell_mass(i, j) = cell_mass(j, i);
                cell_a(i, j)    = cell_a(j, i);
              }
          cell->get_dof_indices(dof_indices);
          constraints.distribute_local_to_global(cell_mass, dof_indices, m_matrix);
          constraints.distribute_local_to_global(cell_a, dof_indices, a_matrix);
          if (odd)
            a_cell_matrices[cell->active_cell_index()] = cell_a;
        }
    m_matrix.compress(VectorOperation::add);
    a_matrix.compress(VectorOperation::add);

    if (odd)
      noise = std::make_unique<WhiteNoise<dim>>(
        *space,
        [&a_cell_matrices](const typename DoFHandler<dim>::active_cell_iterator &cell,
                           FullMatrix<double> &matrix) {
          matrix = a_cell_matrices[cell->active_cell_index()];
        });
    else
      noise = std::make_unique<WhiteNoise<dim>>(*space);

    owned_constrained_dofs.clear();
    for (const auto i : space->locally_owned_dofs())
      if (constraints.is_constrained(i))
        owned_constrained_dofs.push_back(i);

    a_direct.reset();
    m_direct.reset();
    a_amg.reset();
    m_jacobi.reset();
    if (parameters.solver == SolverType::direct)
      {
        a_direct = std::make_unique<TrilinosWrappers::SolverDirect>(
          a_control, TrilinosWrappers::SolverDirect::AdditionalData(false, "Amesos_Klu"));
        a_direct->initialize(a_matrix);
        m_direct = std::make_unique<TrilinosWrappers::SolverDirect>(
          m_control, TrilinosWrappers::SolverDirect::AdditionalData(false, "Amesos_Klu"));
        m_direct->initialize(m_matrix);
      }
    else
      {
        TrilinosWrappers::PreconditionAMG::AdditionalData amg_data;
        amg_data.elliptic              = true;
        amg_data.higher_order_elements = fe.degree > 1;
        amg_data.smoother_sweeps       = 2;
        a_amg = std::make_unique<TrilinosWrappers::PreconditionAMG>();
        a_amg->initialize(a_matrix, amg_data);
        m_jacobi = std::make_unique<TrilinosWrappers::PreconditionJacobi>();
        m_jacobi->initialize(m_matrix);
      }
  }


  template <int dim>
  void
  MaternSPDE<dim>::assert_initialized() const
  {
    AssertThrow(space != nullptr,
                ExcMessage("Matern: initialize(space) must be called (again, after "
                           "a change of parameters) before the model is used."));
  }


  template <int dim>
  void
  MaternSPDE<dim>::solve_a(const VectorType &rhs, VectorType &x) const
  {
    x.reinit(rhs);
    if (a_direct)
      a_direct->solve(x, rhs);
    else
      {
        const double norm = rhs.l2_norm();
        if (norm == 0.)
          return;
        SolverControl             control(10000, parameters.solver_tolerance * norm);
        TrilinosWrappers::SolverCG cg(control);
        cg.solve(a_matrix, x, rhs, *a_amg);
      }
    restrict_to_free(x);
  }


  template <int dim>
  void
  MaternSPDE<dim>::solve_m(const VectorType &rhs, VectorType &x) const
  {
    x.reinit(rhs);
    if (m_direct)
      m_direct->solve(x, rhs);
    else
      {
        const double norm = rhs.l2_norm();
        if (norm == 0.)
          return;
        SolverControl             control(10000, parameters.solver_tolerance * norm);
        TrilinosWrappers::SolverCG cg(control);
        cg.solve(m_matrix, x, rhs, *m_jacobi);
      }
    restrict_to_free(x);
  }


  template <int dim>
  void
  MaternSPDE<dim>::restrict_to_free(VectorType &v) const
  {
    for (const auto i : owned_constrained_dofs)
      v[i] = 0.;
    v.compress(VectorOperation::insert);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_reduced(VectorType &v) const
  {
    VectorType y, tmp(v);
    solve_a(v, y);
    for (unsigned int r = 1; r < alpha_value; ++r)
      {
        m_matrix.vmult(tmp, y);
        solve_a(tmp, y);
      }
    v = y;
    v *= 1. / (tau_value * tau_value);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_inverse_reduced(VectorType &v) const
  {
    VectorType tmp(v);
    for (unsigned int r = 1; r < alpha_value; ++r)
      {
        a_matrix.vmult(tmp, v);
        solve_m(tmp, v);
      }
    a_matrix.vmult(tmp, v);
    v = tmp;
    v *= tau_value * tau_value;
  }


  template <int dim>
  void
  MaternSPDE<dim>::sample(std::vector<VectorType> &out,
                          const std::uint64_t      seed,
                          const unsigned int       first_sample_index) const
  {
    assert_initialized();
    // alpha = 2k: k solves after white noise with Cov = M;
    // alpha = 2k+1: k+1 solves after noise with Cov = A.
    const unsigned int extra_solves = (alpha_value + 1) / 2 - 1;
    VectorType         b, y, tmp;
    for (unsigned int s = 0; s < out.size(); ++s)
      {
        noise->sample(b, seed, std::uint64_t(first_sample_index) + s);
        solve_a(b, y);
        for (unsigned int r = 0; r < extra_solves; ++r)
          {
            tmp.reinit(y, true);
            m_matrix.vmult(tmp, y);
            solve_a(tmp, y);
          }
        y *= 1. / tau_value;
        space->get_constraints().distribute(y);
        out[s].swap(y);
      }
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply(const VectorType &in, VectorType &out) const
  {
    assert_initialized();
    VectorType v = space->create_vector();
    copy_owned(in, v);
    restrict_to_free(v);
    apply_reduced(v);
    space->get_constraints().distribute(v);
    out.swap(v);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_inverse(const VectorType &in, VectorType &out) const
  {
    assert_initialized();
    VectorType v = space->create_vector();
    copy_owned(in, v);
    restrict_to_free(v);
    apply_inverse_reduced(v);
    space->get_constraints().distribute(v);
    out.swap(v);
  }


  template <int dim>
  double
  MaternSPDE<dim>::cameron_martin_norm_squared(const VectorType &in) const
  {
    assert_initialized();
    VectorType x = space->create_vector();
    copy_owned(in, x);
    restrict_to_free(x);
    VectorType y(x);
    apply_inverse_reduced(y);
    return x * y;
  }


  template <int dim>
  VectorType
  MaternSPDE<dim>::pointwise_variance() const
  {
    assert_initialized();
    // var_i = e_i^T P C~ P^T e_i = w^T C~ w with w = R P^T e_i, with half the
    // solves of C~ w: alpha = 2k: y = (A^-1 M)^{k-1} A^-1 w, var = y^T M y;
    // alpha = 2k+1: y = (A^-1 M)^k A^-1 w, var = y^T A y.
    const auto &       constraints  = space->get_constraints();
    const IndexSet &   owned        = space->locally_owned_dofs();
    const unsigned int extra_solves = (alpha_value + 1) / 2 - 1;
    const bool         odd          = alpha_value % 2 == 1;
    VectorType         variance     = space->create_vector();
    VectorType         w = space->create_vector(), y, tmp = space->create_vector();
    std::vector<types::global_dof_index> indices;
    std::vector<double>                  values;
    for (types::global_dof_index i = 0; i < space->n_dofs(); ++i)
      {
        w       = 0.;
        indices.clear();
        values.clear();
        if (owned.is_element(i))
          {
            const auto *entries = constraints.get_constraint_entries(i);
            if (entries == nullptr)
              {
                indices.push_back(i);
                values.push_back(1.);
              }
            else
              for (const auto &entry : *entries)
                {
                  indices.push_back(entry.first);
                  values.push_back(entry.second);
                }
          }
        w.add(indices, values);
        w.compress(VectorOperation::add);
        solve_a(w, y);
        for (unsigned int r = 0; r < extra_solves; ++r)
          {
            m_matrix.vmult(tmp, y);
            solve_a(tmp, y);
          }
        const double value = (odd ? a_matrix : m_matrix).matrix_scalar_product(y, y) /
                             (tau_value * tau_value);
        if (owned.is_element(i))
          variance[i] = value;
      }
    variance.compress(VectorOperation::insert);
    return variance;
  }


  template class MaternSPDE<2>;
  template class MaternSPDE<3>;
} // namespace ddo

DDO_REGISTER_COVARIANCE_MODEL(ddo::MaternSPDE,
                              "matern",
                              "Matern Gaussian random field by the SPDE approach "
                              "(kappa^2 - Laplace)^(alpha/2) tau u = white noise, "
                              "integer alpha = nu + d/2 from 2 to 4; parameters "
                              "marginal variance, correlation length, smoothness.")
