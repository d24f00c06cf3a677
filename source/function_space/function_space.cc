#include <deal.II/base/quadrature_lib.h>
#include <deal.II/distributed/tria_base.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/fe/fe_q.h>
#include <deal.II/fe/fe_simplex_p.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/fe/mapping_fe.h>
#include <deal.II/fe/mapping_q.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/sparsity_tools.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/function_space/function_space.h>

#include <array>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace ddo
{
  template <int dim>
  FunctionSpace<dim>::FunctionSpace(
    std::shared_ptr<const Triangulation<dim>> triangulation_in,
    const unsigned int                        degree,
    const std::vector<PeriodicBoundary> &     periodic_boundaries)
    : triangulation(std::move(triangulation_in))
  {
    AssertThrow(triangulation != nullptr && triangulation->n_global_active_cells() > 0,
                ExcMessage("FunctionSpace needs a non-empty triangulation."));
    AssertThrow(degree == 1 || degree == 2,
                ExcMessage("FunctionSpace supports element degree 1 or 2, got " +
                           std::to_string(degree) + "."));
    if (triangulation->all_reference_cells_are_hyper_cube())
      {
        cells      = CellType::hypercube;
        fe         = std::make_unique<FE_Q<dim>>(degree);
        mapping    = std::make_unique<MappingQ<dim>>(1);
        quadrature = std::make_unique<QGauss<dim>>(degree + 1);
      }
    else
      {
        AssertThrow(triangulation->all_reference_cells_are_simplex(),
                    ExcMessage("FunctionSpace supports meshes of only hypercubes "
                               "or only simplices, not mixed meshes."));
        cells = CellType::simplex;
        fe    = std::make_unique<FE_SimplexP<dim>>(degree);
        // MappingQ1 is wrong for simplices: use the linear simplex element.
        mapping    = std::make_unique<MappingFE<dim>>(FE_SimplexP<dim>(1));
        quadrature = std::make_unique<QGaussSimplex<dim>>(degree + 1);
      }
    setup_dofs(periodic_boundaries);
    assemble();
    mesh_fingerprint = compute_fingerprint(*triangulation, *fe);
  }


  template <int dim>
  void
  FunctionSpace<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.enter_subsection("Finite element");
    prm.declare_entry("Degree", "1", Patterns::Integer(1, 2),
                      "Polynomial degree of the continuous element (FE_Q on "
                      "hypercubes, FE_SimplexP on simplices).");
    prm.leave_subsection();
  }


  namespace
  {
  // deal.II 9.4's DoFTools::make_periodicity_constraints() is wrong on simplex
  // meshes (FE_SimplexP has no face_to_cell_index(); added to deal.II in 2025,
  // PRs 18081 and 18392),
  // so on simplices the DoFs of the two boundaries are matched by their
  // support points: exact for Lagrange elements on conforming periodic faces.
  template <int dim>
  void
  make_periodicity_constraints_by_support_points(const DoFHandler<dim> &   dof_handler,
                                                 const Mapping<dim> &      mapping,
                                                 const PeriodicBoundary &  b,
                                                 AffineConstraints<double> &constraints)
  {
    const FiniteElement<dim> &fe = dof_handler.get_fe();
    std::map<types::global_dof_index, Point<dim>> points;
    DoFTools::map_dofs_to_support_points(mapping, dof_handler, points);
    // DoFs on the faces with each boundary id
    std::set<types::global_dof_index>    first, second;
    std::vector<types::global_dof_index> face_dofs;
    double                               lower = std::numeric_limits<double>::max(), upper = -lower;
    for (const auto &cell : dof_handler.active_cell_iterators())
      for (const unsigned int f : cell->face_indices())
        if (cell->at_boundary(f) &&
            (cell->face(f)->boundary_id() == b.first || cell->face(f)->boundary_id() == b.second))
          {
            face_dofs.resize(fe.n_dofs_per_face(f));
            cell->face(f)->get_dof_indices(face_dofs);
            const bool is_first = cell->face(f)->boundary_id() == b.first;
            (is_first ? first : second).insert(face_dofs.begin(), face_dofs.end());
            for (const auto dof : face_dofs)
              (is_first ? lower : upper) = is_first ? std::min(lower, points[dof][b.direction]) :
                                                      std::max(upper, points[dof][b.direction]);
          }
    AssertThrow(first.size() == second.size() && !first.empty(),
                ExcMessage("The periodic boundaries " + std::to_string(b.first) + " and " +
                           std::to_string(b.second) + " do not have matching DoFs."));
    const double period = upper - lower;
    // Lexicographic lookup of the points of the first boundary, rounded to a
    // tolerance far below the mesh size.
    const double tolerance = 1e-9 * period;
    auto key = [&](Point<dim> p) {
      std::array<long long, dim> k;
      for (unsigned int d = 0; d < dim; ++d)
        k[d] = std::llround(p[d] / tolerance);
      return k;
    };
    std::map<std::array<long long, dim>, types::global_dof_index> first_by_point;
    for (const auto dof : first)
      first_by_point[key(points[dof])] = dof;
    for (const auto dof : second)
      {
        Point<dim> image = points[dof];
        image[b.direction] -= period;
        auto match = first_by_point.find(key(image));
        // rounding may put a coordinate into the neighbouring bin
        if (match == first_by_point.end())
          for (const auto &[k, candidate] : first_by_point)
            if (points[candidate].distance(image) < tolerance)
              {
                match = first_by_point.find(k);
                break;
              }
        AssertThrow(match != first_by_point.end(),
                    ExcMessage("No periodic image of the support point " +
                               Utilities::to_string(points[dof][0]) + ", ... on boundary " +
                               std::to_string(b.first) + ": the periodic faces do not match."));
        if (match->second != dof && !constraints.is_constrained(dof))
          {
            constraints.add_line(dof);
            constraints.add_entry(dof, match->second, 1.);
          }
      }
  }
  } // namespace


  template <int dim>
  void
  FunctionSpace<dim>::setup_dofs(const std::vector<PeriodicBoundary> &periodic_boundaries)
  {
    dof_handler.reinit(*triangulation);
    dof_handler.distribute_dofs(*fe);
    owned_dofs = dof_handler.locally_owned_dofs();
    DoFTools::extract_locally_relevant_dofs(dof_handler, relevant_dofs);

    constraints.clear();
    constraints.reinit(relevant_dofs);
    DoFTools::make_hanging_node_constraints(dof_handler, constraints);
    for (const PeriodicBoundary &b : periodic_boundaries)
      if (cells == CellType::hypercube)
        DoFTools::make_periodicity_constraints(dof_handler, b.first, b.second,
                                               b.direction, constraints);
      else
        {
          AssertThrow(!is_distributed(),
                      ExcMessage("Periodic simplex meshes must be serial (deal.II 9.4)."));
          make_periodicity_constraints_by_support_points(dof_handler, *mapping, b, constraints);
        }
    constraints.close();

    std::map<types::global_dof_index, Point<dim>> points;
    DoFTools::map_dofs_to_support_points(*mapping, dof_handler, points);
    support_points.resize(owned_dofs.n_elements());
    for (const auto &entry : points)
      if (owned_dofs.is_element(entry.first))
        support_points[owned_dofs.index_within_set(entry.first)] = entry.second;
  }


  template <int dim>
  void
  FunctionSpace<dim>::assemble()
  {
    const MPI_Comm comm = get_mpi_communicator();

    // Sparsity of the unconstrained Gram matrices (see class documentation).
    DynamicSparsityPattern dsp(relevant_dofs);
    DoFTools::make_sparsity_pattern(dof_handler, dsp);
    SparsityTools::distribute_sparsity_pattern(dsp, owned_dofs, comm, relevant_dofs);
    mass.reinit(owned_dofs, owned_dofs, dsp, comm);
    stiffness.reinit(owned_dofs, owned_dofs, dsp, comm);
    weights.reinit(owned_dofs, comm);

    FEValues<dim>      fe_values(*mapping, *fe, *quadrature,
                            update_values | update_gradients | update_JxW_values);
    const unsigned int n = fe->n_dofs_per_cell();
    FullMatrix<double> cell_mass(n, n), cell_stiffness(n, n);
    Vector<double>     cell_weights(n);
    std::vector<types::global_dof_index> dof_indices(n);

    for (const auto &cell : dof_handler.active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          cell_mass      = 0;
          cell_stiffness = 0;
          cell_weights   = 0;
          for (const unsigned int q : fe_values.quadrature_point_indices())
            {
              const double JxW = fe_values.JxW(q);
              for (unsigned int i = 0; i < n; ++i)
                {
                  const double phi_i = fe_values.shape_value(i, q);
                  cell_weights(i) += phi_i * JxW;
                  for (unsigned int j = 0; j < n; ++j)
                    {
                      cell_mass(i, j) += phi_i * fe_values.shape_value(j, q) * JxW;
                      cell_stiffness(i, j) += fe_values.shape_grad(i, q) *
                                              fe_values.shape_grad(j, q) * JxW;
                    }
                }
            }
          cell->get_dof_indices(dof_indices);
          mass.add(dof_indices, cell_mass);
          stiffness.add(dof_indices, cell_stiffness);
          // Weights of the conforming basis: w = C^T (unconstrained weights).
          constraints.distribute_local_to_global(cell_weights, dof_indices, weights);
        }
    mass.compress(VectorOperation::add);
    stiffness.compress(VectorOperation::add);
    weights.compress(VectorOperation::add);
  }


  template <int dim>
  MPI_Comm
  FunctionSpace<dim>::get_mpi_communicator() const
  {
    return triangulation->get_communicator();
  }

  template <int dim>
  const Triangulation<dim> &
  FunctionSpace<dim>::get_triangulation() const
  {
    return *triangulation;
  }

  template <int dim>
  const DoFHandler<dim> &
  FunctionSpace<dim>::get_dof_handler() const
  {
    return dof_handler;
  }

  template <int dim>
  const FiniteElement<dim> &
  FunctionSpace<dim>::get_fe() const
  {
    return *fe;
  }

  template <int dim>
  const Mapping<dim> &
  FunctionSpace<dim>::get_mapping() const
  {
    return *mapping;
  }

  template <int dim>
  const Quadrature<dim> &
  FunctionSpace<dim>::get_quadrature() const
  {
    return *quadrature;
  }

  template <int dim>
  const AffineConstraints<double> &
  FunctionSpace<dim>::get_constraints() const
  {
    return constraints;
  }

  template <int dim>
  CellType
  FunctionSpace<dim>::cell_type() const
  {
    return cells;
  }

  template <int dim>
  bool
  FunctionSpace<dim>::is_distributed() const
  {
    return dynamic_cast<const parallel::DistributedTriangulationBase<dim> *>(
             triangulation.get()) != nullptr;
  }

  template <int dim>
  types::global_dof_index
  FunctionSpace<dim>::n_dofs() const
  {
    return dof_handler.n_dofs();
  }

  template <int dim>
  const IndexSet &
  FunctionSpace<dim>::locally_owned_dofs() const
  {
    return owned_dofs;
  }

  template <int dim>
  const IndexSet &
  FunctionSpace<dim>::locally_relevant_dofs() const
  {
    return relevant_dofs;
  }

  template <int dim>
  const TrilinosWrappers::SparseMatrix &
  FunctionSpace<dim>::mass_matrix() const
  {
    return mass;
  }

  template <int dim>
  const TrilinosWrappers::SparseMatrix &
  FunctionSpace<dim>::stiffness_matrix() const
  {
    return stiffness;
  }

  template <int dim>
  const VectorType &
  FunctionSpace<dim>::quadrature_weights() const
  {
    return weights;
  }

  template <int dim>
  const std::vector<Point<dim>> &
  FunctionSpace<dim>::locally_owned_support_points() const
  {
    return support_points;
  }

  template <int dim>
  VectorType
  FunctionSpace<dim>::create_vector() const
  {
    return VectorType(owned_dofs, get_mpi_communicator());
  }

  template <int dim>
  VectorType
  FunctionSpace<dim>::create_ghosted_vector() const
  {
    return VectorType(owned_dofs, relevant_dofs, get_mpi_communicator());
  }

  template <int dim>
  double
  FunctionSpace<dim>::l2_inner_product(const VectorType &u, const VectorType &v) const
  {
    return mass.matrix_scalar_product(u, v);
  }

  template <int dim>
  double
  FunctionSpace<dim>::integral(const VectorType &u) const
  {
    return weights * u;
  }

  template <int dim>
  double
  FunctionSpace<dim>::volume() const
  {
    VectorType one = create_vector();
    one            = 1.;
    return mass.matrix_scalar_product(one, one);
  }

  template <int dim>
  VectorType
  FunctionSpace<dim>::interpolate(const Function<dim> &function) const
  {
    VectorType result = create_vector();
    VectorTools::interpolate(*mapping, dof_handler, function, result);
    constraints.distribute(result);
    return result;
  }

  template <int dim>
  const std::string &
  FunctionSpace<dim>::fingerprint() const
  {
    return mesh_fingerprint;
  }

  template <int dim>
  std::string
  FunctionSpace<dim>::summary() const
  {
    unsigned int n_constrained_owned = 0;
    for (const auto &line : constraints.get_lines())
      n_constrained_owned += owned_dofs.is_element(line.index) ? 1 : 0;

    std::ostringstream out;
    out << "dimension:        " << dim << '\n'
        << "cells:            " << triangulation->n_global_active_cells() << " ("
        << (cells == CellType::simplex ? "simplex" : "hypercube") << ")\n"
        << "levels:           " << triangulation->n_global_levels() << '\n'
        << "element:          " << fe->get_name() << '\n'
        << "dofs:             " << dof_handler.n_dofs() << '\n'
        << "constrained dofs: "
        << Utilities::MPI::sum(n_constrained_owned, get_mpi_communicator()) << '\n'
        << "MPI ranks:        " << Utilities::MPI::n_mpi_processes(get_mpi_communicator())
        << (is_distributed() ? " (distributed mesh)" : " (replicated mesh)") << '\n'
        << "volume:           " << std::setprecision(12) << volume() << '\n'
        << "fingerprint:      " << mesh_fingerprint << '\n';
    return out.str();
  }


  template class FunctionSpace<2>;
  template class FunctionSpace<3>;
} // namespace ddo
