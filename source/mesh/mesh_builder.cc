#include <deal.II/base/exceptions.h>
#include <deal.II/distributed/fully_distributed_tria.h>
#include <deal.II/distributed/tria.h>
#include <deal.II/grid/grid_generator.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/tria_description.h>

#include <ddo/base/hashing.h>
#include <ddo/mesh/mesh_builder.h>

#include <algorithm>
#include <map>
#include <set>

namespace ddo
{
  PeriodicBoundary
  periodic_boundary_of_direction(const unsigned int direction)
  {
    return {static_cast<types::boundary_id>(100 + 2 * direction),
            static_cast<types::boundary_id>(100 + 2 * direction + 1),
            direction};
  }


  namespace
  {
    /**
     * Moves every interior vertex of the coarse mesh by a deterministic
     * pseudo-random vector of length at most @p fraction times its shortest
     * adjacent edge. Random numbers come from a hash of the vertex position,
     * so every rank computes the same mesh. Boundary vertices stay, which
     * keeps the domain and matching periodic faces intact.
     */
    template <int dim>
    void
    distort_interior_vertices(Triangulation<dim> &tria,
                              const double        fraction,
                              const unsigned int  seed)
    {
      if (fraction == 0.)
        return;
      AssertThrow(fraction > 0. && fraction < 0.5,
                  ExcMessage("Mesh distortion must lie in [0, 0.5), got " +
                             std::to_string(fraction) +
                             "; larger values may invert cells."));
      const auto &          vertices = tria.get_vertices();
      std::vector<double>   shortest_edge(vertices.size(),
                                        std::numeric_limits<double>::max());
      std::vector<bool>     at_boundary(vertices.size(), false);
      for (const auto &cell : tria.cell_iterators_on_level(0))
        {
          for (unsigned int l = 0; l < cell->n_lines(); ++l)
            {
              const auto         line = cell->line(l);
              const double       length = line->diameter();
              for (unsigned int v = 0; v < 2; ++v)
                shortest_edge[line->vertex_index(v)] =
                  std::min(shortest_edge[line->vertex_index(v)], length);
            }
          for (const unsigned int f : cell->face_indices())
            if (cell->face(f)->at_boundary())
              for (unsigned int v = 0; v < cell->face(f)->n_vertices(); ++v)
                at_boundary[cell->face(f)->vertex_index(v)] = true;
        }

      double diameter = 0;
      for (const auto &v : vertices)
        diameter = std::max(diameter, v.norm());
      const double resolution = 1e-9 * std::max(diameter, 1e-300);

      std::map<std::uint64_t, Tensor<1, dim>> shift_of_point;
      for (unsigned int i = 0; i < vertices.size(); ++i)
        {
          if (at_boundary[i] || shortest_edge[i] == std::numeric_limits<double>::max())
            continue;
          std::uint64_t  h = hashing::combine(hashing::mix(seed),
                                             hashing::of_point(vertices[i], resolution));
          Tensor<1, dim> shift;
          // uniform in the cube [-1,1]^d, scaled to a ball-bounded length
          for (unsigned int d = 0; d < dim; ++d)
            {
              h        = hashing::mix(h);
              shift[d] = 2. * hashing::to_unit_interval(h) - 1.;
            }
          shift *= fraction * shortest_edge[i] / std::sqrt(double(dim));
          shift_of_point[hashing::of_point(vertices[i], resolution)] = shift;
        }

      GridTools::transform(
        [&](const Point<dim> &p) {
          const auto it = shift_of_point.find(hashing::of_point(p, resolution));
          return it == shift_of_point.end() ? p : Point<dim>(p + it->second);
        },
        tria);
    }


    /**
     * Gives the boundary faces on the lower and upper side of the bounding
     * box along each periodic direction the ids of
     * periodic_boundary_of_direction(), and checks that they match.
     */
    template <int dim>
    std::vector<GridTools::PeriodicFacePair<typename Triangulation<dim>::cell_iterator>>
    mark_periodic_faces(Triangulation<dim> &                   tria,
                        const std::vector<PeriodicBoundary> &boundaries)
    {
      std::vector<GridTools::PeriodicFacePair<typename Triangulation<dim>::cell_iterator>>
        pairs;
      if (boundaries.empty())
        return pairs;

      const auto   box      = GridTools::compute_bounding_box(tria);
      const double diameter = box.get_boundary_points().first.distance(
        box.get_boundary_points().second);
      const double tolerance = 1e-8 * diameter;

      for (const PeriodicBoundary &b : boundaries)
        {
          const double lower = box.get_boundary_points().first[b.direction];
          const double upper = box.get_boundary_points().second[b.direction];
          unsigned int n_first = 0, n_second = 0;
          for (const auto &cell : tria.cell_iterators_on_level(0))
            for (const unsigned int f : cell->face_indices())
              if (cell->face(f)->at_boundary())
                {
                  const double x = cell->face(f)->center()[b.direction];
                  if (std::abs(x - lower) < tolerance)
                    {
                      cell->face(f)->set_boundary_id(b.first);
                      ++n_first;
                    }
                  else if (std::abs(x - upper) < tolerance)
                    {
                      cell->face(f)->set_boundary_id(b.second);
                      ++n_second;
                    }
                }
          const std::string mismatch =
            "Periodic direction " + std::to_string(b.direction) +
            ": the boundary faces on the two sides of the bounding box do not match (" +
            std::to_string(n_first) + " and " + std::to_string(n_second) +
            " faces). Periodicity needs a box-shaped domain with conforming opposite faces.";
          AssertThrow(n_first > 0 && n_first == n_second, ExcMessage(mismatch));
          const std::size_t before = pairs.size();
          try
            {
              GridTools::collect_periodic_faces(tria, b.first, b.second, b.direction, pairs);
            }
          catch (const std::exception &)
            {
              AssertThrow(false, ExcMessage(mismatch));
            }
          AssertThrow(pairs.size() - before == n_first, ExcMessage(mismatch));
        }
      return pairs;
    }


    template <int dim>
    void
    refine(Triangulation<dim> &tria, const MeshBuilder<dim> &builder)
    {
      tria.refine_global(builder.global_refinements);
      for (unsigned int cycle = 0; cycle < builder.local_refinement_cycles; ++cycle)
        {
          for (const auto &cell : tria.active_cell_iterators())
            if (cell->is_locally_owned() &&
                cell->center().distance(builder.local_refinement_center) <
                  builder.local_refinement_radius)
              cell->set_refine_flag();
          tria.execute_coarsening_and_refinement();
        }
    }


    template <int dim>
    void
    copy_manifolds(const Triangulation<dim> &from, Triangulation<dim> &to)
    {
      for (const types::manifold_id id : from.get_manifold_ids())
        if (id != numbers::flat_manifold_id)
          to.set_manifold(id, from.get_manifold(id));
    }
  } // namespace


  template <int dim>
  void
  MeshBuilder<dim>::declare_parameters(ParameterHandler &prm)
  {
    prm.enter_subsection("Mesh");
    MeshGeometryRegistry<dim>::instance().declare_parameters(
      prm, "Geometry", "box", "The geometry of the coarse mesh.");
    prm.declare_entry("Cell type",
                      "hypercube",
                      Patterns::Selection("hypercube|simplex"),
                      "hypercube: quadrilaterals/hexahedra with FE_Q; simplex: "
                      "triangles/tetrahedra with FE_SimplexP (hypercube coarse "
                      "meshes are split into simplices).");
    prm.declare_entry("Partitioning",
                      "serial",
                      Patterns::Selection("serial|distributed"),
                      "serial: every rank holds the whole mesh; distributed: "
                      "each rank owns a part (p4est for hypercubes, a fully "
                      "distributed triangulation for simplices).");
    prm.declare_entry("Global refinements", "0", Patterns::Integer(0, 20),
                      "Number of uniform refinements of the coarse mesh.");
    prm.declare_entry("Local refinement cycles", "0", Patterns::Integer(0, 20),
                      "Refinement cycles of the cells whose center lies in the "
                      "ball given below (creates hanging nodes on hypercubes).");
    prm.declare_entry("Local refinement center", "0, 0, 0",
                      Patterns::List(Patterns::Double(), 2, 3),
                      "Center of the locally refined ball (first dim values used).");
    prm.declare_entry("Local refinement radius", "0.25", Patterns::Double(0),
                      "Radius of the locally refined ball.");
    prm.declare_entry("Distortion", "0", Patterns::Double(0, 0.49),
                      "Interior vertices of the coarse mesh move by up to this "
                      "fraction of their shortest edge: an unstructured mesh from "
                      "a structured one. Deterministic.");
    prm.declare_entry("Distortion seed", "1", Patterns::Integer(0),
                      "Seed of the distortion.");
    prm.declare_entry("Periodic directions", "",
                      Patterns::List(Patterns::Integer(0, 2), 0, 3),
                      "Coordinate directions (0=x, 1=y, 2=z) in which the domain "
                      "is periodic; the faces on both sides of the bounding box "
                      "must match.");
    prm.leave_subsection();
  }


  template <int dim>
  void
  MeshBuilder<dim>::parse_parameters(ParameterHandler &prm)
  {
    prm.enter_subsection("Mesh");
    geometry_name = prm.get("Geometry");
    geometry      = MeshGeometryRegistry<dim>::instance().create_and_parse(prm, "Geometry");
    cells         = prm.get("Cell type") == "simplex" ? CellType::simplex : CellType::hypercube;
    distributed   = prm.get("Partitioning") == "distributed";
    global_refinements      = prm.get_integer("Global refinements");
    local_refinement_cycles = prm.get_integer("Local refinement cycles");
    const auto center = Utilities::string_to_double(
      Utilities::split_string_list(prm.get("Local refinement center")));
    AssertThrow(center.size() >= dim,
                ExcMessage("'Local refinement center' needs " + std::to_string(dim) +
                           " coordinates, got " + std::to_string(center.size()) + "."));
    for (unsigned int d = 0; d < dim; ++d)
      local_refinement_center[d] = center[d];
    local_refinement_radius = prm.get_double("Local refinement radius");
    distortion              = prm.get_double("Distortion");
    distortion_seed         = prm.get_integer("Distortion seed");
    periodic_directions.clear();
    for (const int d : Utilities::string_to_int(
           Utilities::split_string_list(prm.get("Periodic directions"))))
      {
        AssertThrow(d < dim,
                    ExcMessage("Periodic direction " + std::to_string(d) +
                               " does not exist in " + std::to_string(dim) + "d."));
        periodic_directions.push_back(d);
      }
    prm.leave_subsection();
  }


  template <int dim>
  std::vector<PeriodicBoundary>
  MeshBuilder<dim>::periodic_boundaries() const
  {
    std::vector<PeriodicBoundary> result;
    for (const unsigned int d : periodic_directions)
      result.push_back(periodic_boundary_of_direction(d));
    return result;
  }


  template <int dim>
  std::shared_ptr<Triangulation<dim>>
  MeshBuilder<dim>::create(const MPI_Comm comm) const
  {
    AssertThrow(geometry != nullptr,
                ExcMessage("MeshBuilder::create() called before a geometry was set."));

    if (cells == CellType::hypercube)
      {
        std::shared_ptr<Triangulation<dim>> tria;
        if (distributed)
          tria = std::make_shared<parallel::distributed::Triangulation<dim>>(comm);
        else
          tria = std::make_shared<Triangulation<dim>>();
        geometry->create_coarse_mesh(*tria);
        AssertThrow(tria->n_cells() > 0,
                    ExcMessage("Geometry <" + geometry_name + "> created an empty mesh."));
        AssertThrow(tria->all_reference_cells_are_hyper_cube(),
                    ExcMessage("Geometry <" + geometry_name +
                               "> created simplex cells, but 'Cell type = hypercube'. "
                               "Set 'Cell type = simplex'."));
        distort_interior_vertices(*tria, distortion, distortion_seed);
        const auto pairs = mark_periodic_faces(*tria, periodic_boundaries());
        if (distributed && !pairs.empty())
          tria->add_periodicity(pairs);
        refine(*tria, *this);
        return tria;
      }

    // Simplices: build, refine and partition a serial mesh; distribute last.
    Triangulation<dim> coarse;
    geometry->create_coarse_mesh(coarse);
    AssertThrow(coarse.n_cells() > 0,
                ExcMessage("Geometry <" + geometry_name + "> created an empty mesh."));
    auto serial = std::make_shared<Triangulation<dim>>();
    if (coarse.all_reference_cells_are_hyper_cube())
      {
        GridGenerator::convert_hypercube_to_simplex_mesh(coarse, *serial);
        copy_manifolds(coarse, *serial);
      }
    else
      {
        AssertThrow(coarse.all_reference_cells_are_simplex(),
                    ExcMessage("Geometry <" + geometry_name +
                               "> created a mesh mixing cell types; ddo "
                               "supports pure hypercube or pure simplex meshes."));
        serial->copy_triangulation(coarse);
      }
    distort_interior_vertices(*serial, distortion, distortion_seed);
    const auto pairs = mark_periodic_faces(*serial, periodic_boundaries());
    AssertThrow(!(distributed && !pairs.empty()),
                ExcMessage("Periodic boundaries on a distributed simplex mesh are "
                           "not supported by deal.II 9.4; use 'Partitioning = "
                           "serial' or hypercube cells."));
    refine(*serial, *this);
    if (!distributed)
      return serial;

    const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);
    if (n_ranks > 1)
      GridTools::partition_triangulation(n_ranks, *serial);
    else
      for (const auto &cell : serial->active_cell_iterators())
        cell->set_subdomain_id(0);
    const auto description =
      TriangulationDescription::Utilities::create_description_from_triangulation(*serial, comm);
    auto distributed_tria =
      std::make_shared<parallel::fullydistributed::Triangulation<dim>>(comm);
    copy_manifolds(*serial, *distributed_tria);
    distributed_tria->create_triangulation(description);
    return distributed_tria;
  }


  template class MeshBuilder<2>;
  template class MeshBuilder<3>;
} // namespace ddo
