#include <deal.II/numerics/data_out.h>

#include <ddo/base/output.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace ddo
{
  void
  create_directories(const std::string &path)
  {
    if (path.empty())
      return;
    std::error_code error;
    std::filesystem::create_directories(path, error);
    AssertThrow(!error,
                ExcMessage("Cannot create the directory <" + path + ">: " + error.message()));
  }


  void
  atomic_rename(const std::string &temporary, const std::string &final_name, const MPI_Comm comm)
  {
    int status = 0;
    if (Utilities::MPI::this_mpi_process(comm) == 0)
      status = std::rename(temporary.c_str(), final_name.c_str());
    status = Utilities::MPI::broadcast(comm, status, 0);
    AssertThrow(status == 0,
                ExcMessage("Cannot rename <" + temporary + "> to <" + final_name + ">."));
  }


  template <int dim>
  std::string
  write_vtu(const FunctionSpace<dim> &                                    space,
            const std::vector<std::pair<std::string, const VectorType *>> &fields,
            const std::string &                                           file_name,
            const bool                                                    this_rank_writes)
  {
    const MPI_Comm comm = space.get_mpi_communicator();
    const auto     parent = std::filesystem::path(file_name).parent_path();
    if (Utilities::MPI::this_mpi_process(comm) == 0)
      create_directories(parent.string());
    if (space.is_distributed())
      { const int ierr = MPI_Barrier(comm); AssertThrowMPI(ierr); }

    DataOut<dim> data_out;
    data_out.attach_dof_handler(space.get_dof_handler());

    // DataOut reads values on ghost cells: give it ghosted copies.
    std::vector<VectorType> ghosted(fields.size(), space.create_ghosted_vector());
    for (std::size_t i = 0; i < fields.size(); ++i)
      {
        AssertThrow(fields[i].second != nullptr &&
                      fields[i].second->size() == space.n_dofs(),
                    ExcMessage("write_vtu: field <" + fields[i].first +
                               "> does not belong to this function space."));
        ghosted[i] = *fields[i].second;
        data_out.add_data_vector(ghosted[i], fields[i].first);
      }

    const auto &   tria = space.get_triangulation();
    Vector<float>  subdomain(tria.n_active_cells()), level(tria.n_active_cells());
    for (const auto &cell : tria.active_cell_iterators())
      {
        subdomain(cell->active_cell_index()) =
          cell->is_artificial() ? -1.f : static_cast<float>(cell->subdomain_id());
        level(cell->active_cell_index()) = static_cast<float>(cell->level());
      }
    data_out.add_data_vector(subdomain, "subdomain");
    data_out.add_data_vector(level, "level");

    data_out.build_patches(space.get_mapping(), space.get_fe().degree);

    const std::string temporary = file_name + ".tmp";
    if (space.is_distributed())
      {
        data_out.write_vtu_in_parallel(temporary, comm);
        atomic_rename(temporary, file_name, comm);
      }
    else if (this_rank_writes || Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0)
      {
        // A replicated mesh: every rank holds all cells, one writes them.
        std::ofstream out(temporary);
        AssertThrow(out.good(), ExcMessage("Cannot open <" + temporary + "> for writing."));
        data_out.write_vtu(out);
        out.close();
        AssertThrow(out.good(), ExcMessage("Writing <" + temporary + "> failed."));
        atomic_rename(temporary, file_name, MPI_COMM_SELF);
      }
    return file_name;
  }


  template std::string
  write_vtu(const FunctionSpace<2> &,
            const std::vector<std::pair<std::string, const VectorType *>> &,
            const std::string &,
            const bool);
  template std::string
  write_vtu(const FunctionSpace<3> &,
            const std::vector<std::pair<std::string, const VectorType *>> &,
            const std::string &,
            const bool);
} // namespace ddo
