#include <deal.II/base/mpi.h>
#include <deal.II/dofs/dof_tools.h>
#include <deal.II/numerics/vector_tools_evaluate.h>

#include <ddo/function_space/replicated_point_values.h>

namespace ddo
{
  namespace
  {
    /** Points and counts of one rank's share of @p points, for MPI_Allgatherv. */
    std::vector<int>
    share_sizes(const unsigned int n_points, const unsigned int n_ranks)
    {
      std::vector<int> sizes(n_ranks);
      for (unsigned int r = 0; r < n_ranks; ++r)
        sizes[r] = (r + 1) * std::size_t(n_points) / n_ranks - r * std::size_t(n_points) / n_ranks;
      return sizes;
    }
  } // namespace


  template <int dim>
  ReplicatedPointValues<dim>::ReplicatedPointValues(const DoFHandler<dim> &        dof_handler,
                                                    const Mapping<dim> &           mapping_in,
                                                    const std::vector<Point<dim>> &points)
    : dof_handler(dof_handler)
    , mapping(mapping_in.clone())
    , communicator(dof_handler.get_triangulation().get_communicator())
    , n_points(points.size())
  {
    AssertThrow(dof_handler.get_fe().n_components() == 1,
                ExcMessage("ReplicatedPointValues: the element " + dof_handler.get_fe().get_name() +
                           " must be scalar."));
    AssertThrow(dof_handler.n_dofs() > 0,
                ExcMessage("ReplicatedPointValues: the DoFHandler has no DoFs; call distribute_dofs() first."));
    DoFTools::extract_locally_relevant_dofs(dof_handler, relevant);
    const unsigned int rank    = Utilities::MPI::this_mpi_process(communicator);
    const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(communicator);
    first                      = rank * std::size_t(n_points) / n_ranks;
    n_local                    = share_sizes(n_points, n_ranks)[rank];
    const std::vector<Point<dim>> share(points.begin() + first, points.begin() + first + n_local);

    // Inside a cell up to rounding first; the points no cell contains are
    // located again with a tolerance of a quarter of the reference cell.
    inside = std::make_unique<Utilities::MPI::RemotePointEvaluation<dim>>(1e-10);
    inside->reinit(share, dof_handler.get_triangulation(), *mapping);
    std::vector<Point<dim>> missed;
    for (unsigned int i = 0; i < n_local; ++i)
      if (!inside->point_found(i))
        {
          outside_indices.push_back(i);
          missed.push_back(share[i]);
        }
    outside = std::make_unique<Utilities::MPI::RemotePointEvaluation<dim>>(0.25);
    outside->reinit(missed, dof_handler.get_triangulation(), *mapping);
    unsigned int lost = 0;
    for (unsigned int k = 0; k < missed.size(); ++k)
      lost += !outside->point_found(k);
    lost           = Utilities::MPI::sum(lost, communicator);
    n_extrapolated = Utilities::MPI::sum(static_cast<unsigned int>(missed.size()), communicator) - lost;
    AssertThrow(lost == 0,
                ExcMessage("ReplicatedPointValues: " + std::to_string(lost) +
                           " points lie outside the mesh of the DoFHandler (farther than a quarter of a cell); "
                           "the two meshes must cover the same domain."));
  }


  template <int dim>
  ReplicatedPointValues<dim>::~ReplicatedPointValues() = default;


  template <int dim>
  void
  ReplicatedPointValues<dim>::evaluate(const VectorType &u, Vector<double> &values) const
  {
    AssertThrow(u.locally_owned_elements() == dof_handler.locally_owned_dofs(),
                ExcMessage("ReplicatedPointValues::evaluate: the vector does not hold the locally owned DoFs of "
                           "the DoFHandler."));
    VectorType ghosted(dof_handler.locally_owned_dofs(), relevant, communicator);
    ghosted = u;
    std::vector<double>       local = VectorTools::point_values<1>(*inside, dof_handler, ghosted);
    const std::vector<double> extra = VectorTools::point_values<1>(*outside, dof_handler, ghosted);
    for (unsigned int k = 0; k < outside_indices.size(); ++k)
      local[outside_indices[k]] = extra[k];

    const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(communicator);
    const auto         sizes   = share_sizes(n_points, n_ranks);
    std::vector<int>   offsets(n_ranks, 0);
    for (unsigned int r = 1; r < n_ranks; ++r)
      offsets[r] = offsets[r - 1] + sizes[r - 1];
    values.reinit(n_points);
    const int ierr = MPI_Allgatherv(local.data(), n_local, MPI_DOUBLE, values.data(), sizes.data(), offsets.data(),
                                    MPI_DOUBLE, communicator);
    AssertThrowMPI(ierr);
  }


  template <int dim>
  unsigned int
  ReplicatedPointValues<dim>::n_extrapolated_points() const
  {
    return n_extrapolated;
  }


  template class ReplicatedPointValues<2>;
  template class ReplicatedPointValues<3>;
} // namespace ddo
