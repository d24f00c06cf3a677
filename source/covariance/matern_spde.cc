#include <deal.II/base/parallel.h>
#include <deal.II/base/quadrature_lib.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/lapack_full_matrix.h>
#include <deal.II/lac/sparsity_tools.h>

#include <ddo/covariance/direct_factorization.h>
#include <ddo/covariance/matern.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/covariance/shifted_systems.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/lac/sparse_cholesky.h>

#include <Epetra_CrsMatrix.h>
#include <Epetra_MultiVector.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
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


    /**
     * The lower triangles of the cell mass matrix and of the cell matrix of
     * A = kappa^2 M + K_Theta (without boundary terms) of the cell
     * @p fe_values was reinitialized on.
     */
    template <int dim>
    void
    assemble_cell_matrices(const FEValues<dim> & fe_values,
                           const double          kappa2,
                           const Tensor<2, dim> &theta,
                           FullMatrix<double> &  cell_mass,
                           FullMatrix<double> &  cell_a)
    {
      const unsigned int n = cell_mass.m();
      cell_mass            = 0;
      cell_a               = 0;
      for (const unsigned int q : fe_values.quadrature_point_indices())
        {
          const double JxW = fe_values.JxW(q);
          for (unsigned int i = 0; i < n; ++i)
            for (unsigned int j = 0; j <= i; ++j)
              {
                const double m = fe_values.shape_value(i, q) * fe_values.shape_value(j, q) * JxW;
                cell_mass(i, j) += m;
                cell_a(i, j) += kappa2 * m + (theta * fe_values.shape_grad(i, q)) *
                                               fe_values.shape_grad(j, q) * JxW;
              }
        }
    }


    /** Adds the Robin term beta (u, v) of one boundary face to the lower triangle of @p cell_a. */
    template <int dim>
    void
    add_robin_term(const FEFaceValues<dim> &fe_face_values,
                   const double             beta,
                   FullMatrix<double> &     cell_a)
    {
      const unsigned int n = cell_a.m();
      for (const unsigned int q : fe_face_values.quadrature_point_indices())
        for (unsigned int i = 0; i < n; ++i)
          for (unsigned int j = 0; j <= i; ++j)
            cell_a(i, j) += beta * fe_face_values.shape_value(i, q) *
                            fe_face_values.shape_value(j, q) * fe_face_values.JxW(q);
    }


    /** The largest eigenvalue of the symmetric pencil (@p a, @p m). */
    double
    largest_pencil_eigenvalue(const FullMatrix<double> &a, const FullMatrix<double> &m)
    {
      const unsigned int       n = a.m();
      LAPACKFullMatrix<double> a_copy(n, n), m_copy(n, n);
      a_copy = a;
      m_copy = m;
      std::vector<Vector<double>> vectors(n, Vector<double>(n));
      a_copy.compute_generalized_eigenvalues_symmetric(m_copy, vectors);
      double largest = 0;
      for (unsigned int i = 0; i < n; ++i)
        largest = std::max(largest, a_copy.eigenvalue(i).real());
      return largest;
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
  MaternSPDE<dim>::~MaternSPDE() = default;


  template <int dim>
  types::global_dof_index
  MaternSPDE<dim>::automatic_direct_limit()
  {
    // Measured with benchmarks/grf_benchmark.cc (doc/benchmarks_grf.md):
    // below these sizes the Cholesky factorization's setup is a few seconds
    // and its solves are faster than AMG-preconditioned CG.
    return dim == 2 ? 1100000 : 150000;
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
                      "nu > 0 with alpha = nu + d/2 <= 4 (2D: nu <= 3, 3D: nu <= 2.5). "
                      "Integer alpha (2D: nu = 1, 2, 3; 3D: nu = 0.5, 1.5, 2.5) is "
                      "sampled exactly with 1-2 solves; other nu by a rational "
                      "approximation with about 20 shifted solves per sample.");
    prm.declare_entry("Fractional order tolerance", "1e-5", Patterns::Double(1e-10, 1e-2),
                      "Non-integer alpha: the largest relative error of the rational "
                      "approximation of the fractional power over the mesh's spectrum "
                      "(each eigenmode's variance is within twice this of the exact "
                      "Matern one); smaller values cost more shifted solves.");
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
    prm.declare_entry("Correlation lengths per axis", "",
                      Patterns::List(Patterns::Double(0), 0, 3),
                      "Anisotropic field: one correlation length per (rotated) axis; "
                      "their geometric mean replaces 'Correlation length'. Empty: "
                      "isotropic.");
    prm.declare_entry("Rotation angle", dim == 2 ? "0" : "0, 0, 0",
                      Patterns::List(Patterns::Double(), 0, 3),
                      dim == 2 ? "Rotation of the axes of 'Correlation lengths per axis', "
                                 "degrees counter-clockwise." :
                                 "Rotation of the axes of 'Correlation lengths per axis': "
                                 "Euler angles phi, theta, psi in degrees, R = Rz(phi) "
                                 "Rx(theta) Rz(psi).");
    prm.declare_entry("Solver", "automatic", Patterns::Selection("automatic|direct|amg"),
                      "direct: sparse factorization computed once, for small and "
                      "serial problems; amg: CG with algebraic multigrid, for large or "
                      "distributed problems; automatic: direct on one rank up to "
                      "1.1e6 DoFs (2D) / 1.5e5 DoFs (3D), amg otherwise.");
    prm.declare_entry("Direct solver", "cholmod", Patterns::Selection("cholmod|klu|mumps"),
                      "cholmod: supernodal Cholesky, serial problems (distributed ones "
                      "use klu); klu, mumps: Trilinos Amesos LU.");
    prm.declare_entry("Direct solver block size", "1", Patterns::Integer(1, 256),
                      "Right-hand sides per direct solve when sampling a batch: > 1 "
                      "uses BLAS-3 block solves; 1 keeps each sample bitwise "
                      "independent of the batch size.");
    prm.declare_entry("Direct solver precision", "single", Patterns::Selection("double|single"),
                      "Storage of the cholmod factor: single halves its memory and "
                      "the time of a solve with one right-hand side (memory-bound), "
                      "at a relative error of about 1e-6 in each sample.");
    prm.declare_entry("Solver tolerance", "1e-6", Patterns::Double(),
                      "Relative residual tolerance of the amg solver. 1e-6 suits "
                      "sampling; use e.g. 1e-12 for apply()/variances to match exact "
                      "formulas.");
    prm.declare_entry("AMG smoother sweeps", "1", Patterns::Integer(1, 10),
                      "Chebyshev smoother sweeps of the ML preconditioner.");
    prm.declare_entry("AMG aggregation threshold", dim == 3 ? "0" : "0.02", Patterns::Double(0, 1),
                      "Aggregation threshold of the ML preconditioner (drop tolerance "
                      "of weak connections; 0 in 3D, where it keeps the iterations "
                      "from growing with N on hexahedra).");
  }


  template <int dim>
  void
  MaternSPDE<dim>::parse_parameters(ParameterHandler &prm)
  {
    Parameters p;
    p.marginal_variance  = prm.get_double("Marginal variance");
    p.correlation_length = prm.get_double("Correlation length");
    p.smoothness         = prm.get_double("Smoothness");
    p.fractional_tolerance = prm.get_double("Fractional order tolerance");
    p.boundary_condition = prm.get("Boundary condition") == "robin" ?
                             BoundaryCondition::robin :
                             BoundaryCondition::neumann;
    p.robin_factor     = prm.get_double("Robin coefficient factor");
    const std::string solver = prm.get("Solver");
    p.solver           = solver == "amg"    ? SolverType::amg :
                         solver == "direct" ? SolverType::direct :
                                              SolverType::automatic;
    p.direct_solver             = prm.get("Direct solver");
    p.direct_block_size         = prm.get_integer("Direct solver block size");
    p.direct_precision          = prm.get("Direct solver precision");
    p.solver_tolerance          = prm.get_double("Solver tolerance");
    p.amg_smoother_sweeps       = prm.get_integer("AMG smoother sweeps");
    p.amg_aggregation_threshold = prm.get_double("AMG aggregation threshold");
    const auto to_doubles = [&prm](const std::string &entry) {
      std::vector<double> values;
      for (const auto &text : Utilities::split_string_list(prm.get(entry)))
        values.push_back(Utilities::string_to_double(text));
      return values;
    };
    p.correlation_lengths = to_doubles("Correlation lengths per axis");
    p.rotation_angles     = to_doubles("Rotation angle");
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
    AssertThrow(p.correlation_lengths.empty() || p.correlation_lengths.size() == dim,
                ExcMessage("Matern: 'Correlation lengths per axis' needs " +
                           std::to_string(dim) + " values (or none), got " +
                           std::to_string(p.correlation_lengths.size()) + "."));
    const unsigned int n_angles = dim == 2 ? 1 : 3;
    AssertThrow(p.rotation_angles.empty() || p.rotation_angles.size() == n_angles,
                ExcMessage("Matern: 'Rotation angle' needs " + std::to_string(n_angles) +
                           (dim == 2 ? " angle" : " Euler angles") + " in " +
                           std::to_string(dim) + "D (or none), got " +
                           std::to_string(p.rotation_angles.size()) + "."));
    double log_mean = 0;
    for (const double l : p.correlation_lengths)
      {
        AssertThrow(l > 0 && std::isfinite(l),
                    ExcMessage("Matern: 'Correlation lengths per axis' must be positive, "
                               "got " + to_string(l) + "."));
        log_mean += std::log(l) / dim;
      }
    for (const double angle : p.rotation_angles)
      AssertThrow(std::isfinite(angle),
                  ExcMessage("Matern: 'Rotation angle' must be finite."));
    // rho: the geometric mean of the axis lengths if given.
    const double rho =
      p.correlation_lengths.empty() ? p.correlation_length : std::exp(log_mean);
    // Positivity checks and kappa, tau: the shared Matérn conversion.
    const MaternScales scales =
      MaternScales::from_user_parameters(dim, p.marginal_variance, rho, p.smoothness);
    const double alpha   = p.smoothness + dim / 2.;
    const double nearest = std::round(alpha);
    AssertThrow(alpha <= 4 + 1e-12,
                ExcMessage("Matern: the SPDE order alpha = nu + d/2 = " + to_string(alpha) +
                           " is above 4 (nu = " + to_string(p.smoothness) + "): use nu <= " +
                           (dim == 2 ? "3 in 2D." : "2.5 in 3D.")));
    AssertThrow(p.fractional_tolerance >= 1e-10 && p.fractional_tolerance <= 1e-2,
                ExcMessage("Matern: 'Fractional order tolerance' must lie in [1e-10, 1e-2], got " +
                           to_string(p.fractional_tolerance) + "."));
    AssertThrow(p.robin_factor >= 0 && std::isfinite(p.robin_factor),
                ExcMessage("Matern: 'Robin coefficient factor' must be >= 0, got " +
                           to_string(p.robin_factor) + "."));
    AssertThrow(p.solver_tolerance > 0 && p.solver_tolerance < 1,
                ExcMessage("Matern: 'Solver tolerance' must lie in (0, 1), got " +
                           to_string(p.solver_tolerance) + "."));
    AssertThrow(p.direct_solver == "cholmod" || p.direct_solver == "klu" ||
                  p.direct_solver == "mumps",
                ExcMessage("Matern: 'Direct solver' must be cholmod, klu or mumps, got '" +
                           p.direct_solver + "'."));
    AssertThrow(p.direct_precision == "double" || p.direct_precision == "single",
                ExcMessage("Matern: 'Direct solver precision' must be double or single, got '" +
                           p.direct_precision + "'."));
    AssertThrow(p.direct_block_size >= 1,
                ExcMessage("Matern: 'Direct solver block size' must be at least 1."));
    AssertThrow(p.amg_smoother_sweeps >= 1 && p.amg_aggregation_threshold >= 0,
                ExcMessage("Matern: invalid AMG settings."));

    // Theta = R diag(l_i^2 / rho^2) R^T (identity if isotropic).
    theta = unit_symmetric_tensor<dim>();
    if (!p.correlation_lengths.empty())
      {
        Tensor<2, dim> rotation = unit_symmetric_tensor<dim>();
        if (!p.rotation_angles.empty())
          {
            const auto planar = [](const double degrees, const unsigned int a,
                                   const unsigned int b) {
              const double   t = degrees * M_PI / 180.;
              Tensor<2, dim> r = unit_symmetric_tensor<dim>();
              r[a][a]          = std::cos(t);
              r[a][b]          = -std::sin(t);
              r[b][a]          = std::sin(t);
              r[b][b]          = std::cos(t);
              return r;
            };
            if (dim == 2)
              rotation = planar(p.rotation_angles[0], 0, 1);
            else
              rotation = planar(p.rotation_angles[0], 0, 1) *
                         planar(p.rotation_angles[1], 1, dim - 1) *
                         planar(p.rotation_angles[2], 0, 1);
          }
        Tensor<2, dim> scaling;
        for (unsigned int d = 0; d < dim; ++d)
          scaling[d][d] = std::pow(p.correlation_lengths[d] / rho, 2);
        theta = rotation * scaling * transpose(rotation);
      }

    // Integer orders (alpha = 2, 3, 4, as nu > 0 implies alpha > d/2 >= 1)
    // are sampled exactly; the others with a rational approximation.
    // (An order within 1e-8 of an integer is that integer: the relative
    // change of the covariance, 1e-8 log(kappa^2 + lambda), is far below any
    // tolerance of the approximation.)
    fractional  = std::abs(alpha - nearest) > 1e-8;
    alpha_value = fractional ? alpha : nearest;
    if (fractional)
      {
        sample_power     = static_cast<unsigned int>(std::floor(alpha / 2));
        sample_fraction  = alpha / 2 - sample_power;
        inverse_fraction = std::ceil(alpha) - alpha;
      }
    kappa_value = scales.kappa;
    // The variance scales with det(Theta)^(-1/2) (see the class
    // documentation): tau = tau_iso det(Theta)^(-1/4), = tau_iso here since
    // det(Theta) = 1 up to rounding.
    tau_value = scales.tau * std::pow(determinant(theta), -0.25);
  }


  template <int dim>
  std::size_t
  MaternSPDE<dim>::factor_memory() const
  {
    std::size_t bytes = 0;
    for (const auto *f : {a_direct.get(), m_direct.get()})
      if (f != nullptr)
        bytes += f->memory();
    if (shifted)
      bytes += shifted->factor_memory();
    return bytes;
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
    // A failed set-up leaves the model uninitialized, not half-built, and
    // the old factorizations go before the new ones are made.
    space = nullptr;
    quadrature.reset();
    shifted.reset();
    try
      {
        space = &space_in;
        set_up_operators();
      }
    catch (...)
      {
        space = nullptr;
        quadrature.reset();
        shifted.reset();
        throw;
      }
  }


  template <int dim>
  void
  MaternSPDE<dim>::set_up_operators()
  {
    reinit_matrices();
    // Odd orders need the cell matrices of A for the noise, fractional ones
    // a bound of the spectrum.
    const bool odd = !fractional && static_cast<unsigned int>(alpha_value) % 2 == 1;
    double     spectrum_bound = 0;
    const std::vector<FullMatrix<double>> a_cell_matrices =
      assemble_matrices(odd, fractional ? &spectrum_bound : nullptr);
    make_noise(odd, a_cell_matrices);
    collect_constrained_dofs();
    setup_solvers();
    if (fractional)
      setup_fractional(spectrum_bound);
  }


  template <int dim>
  void
  MaternSPDE<dim>::reinit_matrices()
  {
    const MPI_Comm comm = space->get_mpi_communicator();

    // Condensed sparsity: constrained rows and columns keep only the diagonal.
    DynamicSparsityPattern dsp(space->locally_relevant_dofs());
    DoFTools::make_sparsity_pattern(space->get_dof_handler(), dsp, space->get_constraints(), false);
    SparsityTools::distribute_sparsity_pattern(dsp, space->locally_owned_dofs(), comm,
                                               space->locally_relevant_dofs());
    a_matrix.reinit(space->locally_owned_dofs(), space->locally_owned_dofs(), dsp, comm);
    m_matrix.reinit(space->locally_owned_dofs(), space->locally_owned_dofs(), dsp, comm);
  }


  template <int dim>
  std::vector<FullMatrix<double>>
  MaternSPDE<dim>::assemble_matrices(const bool keep_cell_matrices, double *spectrum_bound)
  {
    const DoFHandler<dim> &   dofs        = space->get_dof_handler();
    const auto &              constraints = space->get_constraints();
    const FiniteElement<dim> &fe          = space->get_fe();

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

    std::vector<FullMatrix<double>> a_cell_matrices(
      keep_cell_matrices ? space->get_triangulation().n_active_cells() : 0);

    const double kappa2      = kappa_value * kappa_value;
    double       local_bound = 0;
    for (const auto &cell : dofs.active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          assemble_cell_matrices(fe_values, kappa2, theta, cell_mass, cell_a);
          if (beta > 0)
            for (const unsigned int f : cell->face_indices())
              if (cell->face(f)->at_boundary() &&
                  periodic_ids.count(cell->face(f)->boundary_id()) == 0)
                {
                  fe_face_values.reinit(cell, f);
                  add_robin_term(fe_face_values, beta, cell_a);
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
          if (keep_cell_matrices)
            a_cell_matrices[cell->active_cell_index()] = cell_a;
          if (spectrum_bound != nullptr)
            local_bound = std::max(local_bound, largest_pencil_eigenvalue(cell_a, cell_mass));
        }
    m_matrix.compress(VectorOperation::add);
    a_matrix.compress(VectorOperation::add);
    if (spectrum_bound != nullptr)
      *spectrum_bound = Utilities::MPI::max(local_bound, space->get_mpi_communicator());
    return a_cell_matrices;
  }


  template <int dim>
  void
  MaternSPDE<dim>::make_noise(const bool                             odd,
                              const std::vector<FullMatrix<double>> &a_cell_matrices)
  {
    if (odd)
      noise = std::make_unique<WhiteNoise<dim>>(
        *space,
        [&a_cell_matrices](const typename DoFHandler<dim>::active_cell_iterator &cell,
                           FullMatrix<double> &matrix) {
          matrix = a_cell_matrices[cell->active_cell_index()];
        });
    else
      noise = std::make_unique<WhiteNoise<dim>>(*space);
  }


  template <int dim>
  void
  MaternSPDE<dim>::collect_constrained_dofs()
  {
    const auto &constraints = space->get_constraints();
    owned_constrained_dofs.clear();
    owned_constrained_local.clear();
    for (const auto i : space->locally_owned_dofs())
      if (constraints.is_constrained(i))
        {
          owned_constrained_dofs.push_back(i);
          owned_constrained_local.push_back(space->locally_owned_dofs().index_within_set(i));
        }
  }


  template <int dim>
  void
  MaternSPDE<dim>::setup_solvers()
  {
    a_direct.reset();
    m_direct.reset();
    a_amg.reset();
    m_jacobi.reset();
    work_block_b.reset();
    work_block_x.reset();
    work_block_y.reset();
    work_noise.clear();
    work_tmp.clear();
    active_solver_type = parameters.solver;
    if (active_solver_type == SolverType::automatic)
      active_solver_type = Utilities::MPI::n_mpi_processes(space->get_mpi_communicator()) == 1 &&
                               space->n_dofs() <= (fractional ? automatic_direct_limit() / 4 :
                                                                automatic_direct_limit()) ?
                             SolverType::direct :
                             SolverType::amg;
    if (active_solver_type == SolverType::direct)
      a_direct = internal::factorize(a_matrix,
                                     parameters.direct_solver,
                                     internal::precision_of(parameters.direct_precision));
    else
      {
        TrilinosWrappers::PreconditionAMG::AdditionalData amg_data;
        amg_data.elliptic              = true;
        amg_data.higher_order_elements = space->get_fe().degree > 1;
        amg_data.smoother_sweeps       = parameters.amg_smoother_sweeps;
        amg_data.aggregation_threshold = parameters.amg_aggregation_threshold;
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
    if (x.size() != rhs.size() ||
        !x.trilinos_partitioner().SameAs(rhs.trilinos_partitioner()))
      x.reinit(rhs, true);
    if (a_direct)
      a_direct->solve_accurately(rhs.trilinos_vector(), x.trilinos_vector());
    else
      {
        x                 = 0.;
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
    if (active_solver_type == SolverType::direct)
      {
        if (!m_direct)
          m_direct = internal::factorize(m_matrix,
                                         parameters.direct_solver,
                                         internal::precision_of(parameters.direct_precision));
        m_direct->solve_accurately(rhs.trilinos_vector(), x.trilinos_vector());
      }
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
  MaternSPDE<dim>::restrict_to_free(Epetra_MultiVector &v) const
  {
    for (int c = 0; c < v.NumVectors(); ++c)
      for (const unsigned int i : owned_constrained_local)
        v[c][i] = 0.;
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_a_inverse_m(VectorType &y, const unsigned int powers) const
  {
    VectorType tmp;
    for (unsigned int r = 0; r < powers; ++r)
      {
        tmp.reinit(y, true);
        m_matrix.vmult(tmp, y);
        solve_a(tmp, y);
      }
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_reduced(VectorType &v) const
  {
    if (fractional)
      return apply_reduced_fractional(v);
    VectorType y;
    solve_a(v, y);
    apply_a_inverse_m(y, integer_order() - 1);
    v = y;
    v *= 1. / (tau_value * tau_value);
  }


  template <int dim>
  void
  MaternSPDE<dim>::apply_inverse_reduced(VectorType &v) const
  {
    if (fractional)
      return apply_inverse_reduced_fractional(v);
    VectorType tmp(v);
    for (unsigned int r = 1; r < integer_order(); ++r)
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
    const unsigned int extra_solves = (integer_order() + 1) / 2 - 1;
    const IndexSet &   owned        = space->locally_owned_dofs();
    for (VectorType &u : out)
      if (u.size() != space->n_dofs() || u.locally_owned_elements() != owned ||
          u.has_ghost_elements())
        u = space->create_vector();

    if (fractional && !a_direct)
      {
        for (unsigned int s = 0; s < out.size(); ++s)
          {
            noise->sample(work_noise, seed, std::uint64_t(first_sample_index) + s);
            sample_fractional(work_noise, out[s]);
          }
        return;
      }

    if (a_direct)
      {
        // Blocks of right-hand sides: one multi-column solve per block. Up to
        // 32 columns, and blocks of at most ~64 MB.
        const std::size_t n_local = std::max<std::size_t>(owned.n_elements(), 1);
        const unsigned int block = std::max<std::size_t>(
          1, std::min<std::size_t>(parameters.direct_block_size, (8u << 20) / n_local));
        for (unsigned int first = 0; first < out.size(); first += block)
          {
            const unsigned int count = std::min<std::size_t>(block, out.size() - first);
            if (fractional)
              sample_block_fractional(out, first, count, seed,
                                      std::uint64_t(first_sample_index) + first);
            else
              sample_block(out, first, count, seed, std::uint64_t(first_sample_index) + first);
          }
        return;
      }

    for (unsigned int s = 0; s < out.size(); ++s)
      {
        noise->sample(work_noise, seed, std::uint64_t(first_sample_index) + s);
        solve_a(work_noise, out[s]);
        for (unsigned int r = 0; r < extra_solves; ++r)
          {
            if (work_tmp.size() != out[s].size())
              work_tmp.reinit(out[s], true);
            m_matrix.vmult(work_tmp, out[s]);
            solve_a(work_tmp, out[s]);
          }
        out[s] *= 1. / tau_value;
        space->get_constraints().distribute(out[s]);
      }
  }


  template <int dim>
  void
  MaternSPDE<dim>::draw_noise_block(Epetra_MultiVector &b,
                                    const unsigned int  count,
                                    const std::uint64_t seed,
                                    const std::uint64_t first_index) const
  {
    const std::size_t n_local = b.MyLength();
    if (noise->has_only_owned_contributions())
      // The columns are independent: drawn in parallel on deal.II's threads
      // (MultithreadInfo::n_threads(); the same numbers with any count).
      parallel::apply_to_subranges(
        0u,
        count,
        [&](const unsigned int begin, const unsigned int end) {
          for (unsigned int c = begin; c < end; ++c)
            // A single column: its two halves of cells on two threads.
            noise->sample_owned(b[c], seed, first_index + c, count == 1);
        },
        1);
    else
      for (unsigned int c = 0; c < count; ++c)
        {
          noise->sample(work_noise, seed, first_index + c);
          std::memcpy(b[c], work_noise.trilinos_vector()[0], sizeof(double) * n_local);
        }
  }


  template <int dim>
  void
  MaternSPDE<dim>::sample_block(std::vector<VectorType> &out,
                                const unsigned int       first,
                                const unsigned int       count,
                                const std::uint64_t      seed,
                                const std::uint64_t      first_index) const
  {
    const Epetra_Map &map = a_matrix.trilinos_matrix().RowMap();
    if (!work_block_b || work_block_b->NumVectors() != int(count))
      {
        work_block_b = std::make_unique<Epetra_MultiVector>(map, count, false);
        work_block_x = std::make_unique<Epetra_MultiVector>(map, count, false);
      }
    Epetra_MultiVector &b = *work_block_b;
    Epetra_MultiVector &x = *work_block_x;
    draw_noise_block(b, count, seed, first_index);
    a_direct->solve(b, x);
    restrict_to_free(x);
    finish_block(x, b, (integer_order() + 1) / 2 - 1, out, first);
  }


  template <int dim>
  void
  MaternSPDE<dim>::finish_block(Epetra_MultiVector &     x,
                                Epetra_MultiVector &     work,
                                const unsigned int       powers,
                                std::vector<VectorType> &out,
                                const unsigned int       first) const
  {
    for (unsigned int r = 0; r < powers; ++r)
      {
        m_matrix.trilinos_matrix().Multiply(false, x, work);
        restrict_to_free(work);
        a_direct->solve(work, x);
        restrict_to_free(x);
      }
    const std::size_t n_local = x.MyLength();
    for (int c = 0; c < x.NumVectors(); ++c)
      {
        VectorType &u = out[first + c];
        std::memcpy(u.trilinos_vector()[0], x[c], sizeof(double) * n_local);
        u *= 1. / tau_value;
        space->get_constraints().distribute(u);
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
    // alpha = 2k+1: y = (A^-1 M)^k A^-1 w, var = y^T A y; fractional alpha
    // below.
    const auto &       constraints  = space->get_constraints();
    const IndexSet &   owned        = space->locally_owned_dofs();
    const unsigned int extra_solves = (integer_order() + 1) / 2 - 1;
    const bool         odd          = integer_order() % 2 == 1;
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
        if (fractional)
          {
            // C~ = tau^-2 G M G with the symmetric G = L^-k r_s(L) M^-1:
            // var = tau^-2 y^T M y, y = G w, half the solves of C~ w.
            apply_fractional_power(sample_fraction, w, y, true);
            apply_a_inverse_m(y, sample_power);
            const double value = m_matrix.matrix_scalar_product(y, y) / (tau_value * tau_value);
            if (owned.is_element(i))
              variance[i] = value;
            continue;
          }
        solve_a(w, y);
        apply_a_inverse_m(y, extra_solves);
        const double value = (odd ? a_matrix : m_matrix).matrix_scalar_product(y, y) /
                             (tau_value * tau_value);
        if (owned.is_element(i))
          variance[i] = value;
      }
    variance.compress(VectorOperation::insert);
    return variance;
  }


} // namespace ddo

DDO_REGISTER_COVARIANCE_MODEL(ddo::MaternSPDE,
                              "matern",
                              "Matern Gaussian random field by the SPDE approach "
                              "(kappa^2 - Laplace)^(alpha/2) tau u = white noise, "
                              "alpha = nu + d/2 <= 4 (fractional alpha by a rational "
                              "approximation); parameters "
                              "marginal variance, correlation length, smoothness.")
