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

#include <ddo/function_space.h>

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
      DoFTools::make_periodicity_constraints(dof_handler, b.first, b.second,
                                             b.direction, constraints);
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
