/* ---------------------------------------------------------------------
 *
 * ddo step-1: Gaussian random fields on unstructured meshes.
 *
 * This program is part of the ddo tutorial. The text that explains what
 * it does, and the results it produces, are in README.md next to it.
 *
 * ---------------------------------------------------------------------
 */

// @sect3{Include files}

// The deal.II headers we need beyond those the ddo headers pull in: a
// stream that only rank 0 writes to, a timer, and the parameter handler.
#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/base/timer.h>
#include <deal.II/base/utilities.h>

// From ddo: the mesh builder (a mesh from a parameter file), the function
// space (element, mapping, mass matrix, support points), the interface of
// covariance models with its registry, the Matérn family in closed form,
// and VTU output.
#include <ddo/base/mpi_session.h>
#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/covariance/matern.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/base/output.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

// The default parameter file lies next to this source file; CMake tells us
// where that is.
#ifndef DDO_STEP1_SOURCE_DIR
#  define DDO_STEP1_SOURCE_DIR "."
#endif

namespace ddo
{
  namespace Step1
  {
    using namespace dealii;

    // @sect3{Parameters}
    //
    // The parameter file has four parts: two "sample cases" that draw a
    // handful of samples and write them for visualization (case A in 2D,
    // case B in 3D), the correlation study (2D), and the output directory.
    // Each part has its own `Mesh`, `Finite element` and `Covariance`
    // subsections. Mesh and element are declared by ddo's MeshBuilder and
    // FunctionSpace exactly as the `ddo` driver declares them; the
    // covariance model is chosen by name among the registered plugins
    // ("matern", "matern_spectral", "white_noise", and whatever plugin
    // libraries add), each plugin with its own subsection.
    //
    // Since the registries of meshes and covariance models are separate
    // for each space dimension, a subsection is declared with the template
    // argument of the case that reads it.
    template <int dim>
    void
    declare_space_and_covariance(ParameterHandler &prm)
    {
      MeshBuilder<dim>::declare_parameters(prm);
      FunctionSpace<dim>::declare_parameters(prm);
      prm.enter_subsection("Covariance");
      CovarianceRegistry<dim>::instance().declare_parameters(
        prm, "Model", "matern", "The covariance model of the Gaussian random field.");
      prm.leave_subsection();
    }


    void
    declare_parameters(ParameterHandler &prm)
    {
      prm.enter_subsection("Output");
      prm.declare_entry("Directory", "step-1-output", Patterns::DirectoryName(),
                        "Where the VTU files, the data tables and the figure go "
                        "(created if missing).");
      prm.leave_subsection();

      const auto declare_case = [&prm](const std::string &name, const bool three_d) {
        prm.enter_subsection(name);
        prm.declare_entry("Enable", "true", Patterns::Bool(), "Run this case.");
        prm.declare_entry("Number of samples", "8", Patterns::Integer(1),
                          "Samples written as fields sample_0, sample_1, ...");
        prm.declare_entry("Seed", "1", Patterns::Integer(0), "Random seed.");
        prm.declare_entry("Exact pointwise variance", "true", Patterns::Bool(),
                          "Also compute and write the exact variance of the "
                          "discrete field at every node (one or two solves per "
                          "DoF: small meshes only).");
        if (three_d)
          declare_space_and_covariance<3>(prm);
        else
          declare_space_and_covariance<2>(prm);
        prm.leave_subsection();
      };
      declare_case("Case A", false);
      declare_case("Case B", true);

      prm.enter_subsection("Correlation study");
      prm.declare_entry("Enable", "true", Patterns::Bool(), "Run the study.");
      prm.declare_entry("Number of samples", "2000", Patterns::Integer(2),
                        "Samples from which the correlations are estimated.");
      prm.declare_entry("Batch size", "100", Patterns::Integer(1),
                        "Samples drawn (and held in memory) at a time.");
      prm.declare_entry("Jackknife groups", "20", Patterns::Integer(2),
                        "The samples are split into this many groups for the "
                        "delete-one-group jackknife estimate of the standard error.");
      prm.declare_entry("Seed", "2", Patterns::Integer(0), "Random seed.");
      prm.declare_entry("Reference point", "0, 0", Patterns::List(Patterns::Double(), 2, 2),
                        "The node nearest to this point is the reference node.");
      prm.declare_entry("Maximal distance", "0.5", Patterns::Double(0),
                        "Largest distance from the reference node studied.");
      prm.declare_entry("Number of distances", "10", Patterns::Integer(1),
                        "Distances r_k = k * (Maximal distance) / n, k = 1..n; "
                        "the nodes whose distance to the reference node lies "
                        "within half a spacing of r_k form ring k.");
      prm.declare_entry("Gnuplot script", "", Patterns::Anything(),
                        "Script that renders correlation.png from the data "
                        "tables; empty: plot_correlation.gp next to this program's source.");
      declare_space_and_covariance<2>(prm);
      prm.leave_subsection();
    }



    // @sect3{Building the function space and the covariance model}
    //
    // Both the sample cases and the correlation study start the same way:
    // a mesh from the `Mesh` subsection, a FunctionSpace with the element
    // degree of `Finite element`, and the covariance model selected in
    // `Covariance`, bound to the space. Everything expensive (assembly of
    // the SPDE matrix, its sparse factorization, the local Cholesky factors
    // of the white noise, or the eigensolve of the spectral model) happens
    // in CovarianceOperator::initialize(), once; drawing samples afterwards
    // is cheap.
    //
    // The class below keeps the three objects together; the order of the
    // members matters, as the covariance model keeps a pointer to the space
    // and the space a pointer to the mesh.
    template <int dim>
    struct GaussianRandomField
    {
      MeshBuilder<dim>                        builder;
      std::shared_ptr<Triangulation<dim>>     triangulation;
      std::unique_ptr<FunctionSpace<dim>>     space;
      std::string                             model_name;
      std::unique_ptr<CovarianceOperator<dim>> covariance;

      // Reads the current subsection of @p prm and builds everything. The
      // timer sections are prefixed with @p label.
      void
      setup(ParameterHandler &  prm,
            TimerOutput &       timer,
            const std::string & label,
            ConditionalOStream &pcout)
      {
        {
          TimerOutput::Scope scope(timer, label + ": mesh and function space");
          builder.parse_parameters(prm);
          prm.enter_subsection("Finite element");
          const unsigned int degree = prm.get_integer("Degree");
          prm.leave_subsection();
          triangulation = builder.create(MPI_COMM_WORLD);
          space = std::make_unique<FunctionSpace<dim>>(triangulation,
                                                       degree,
                                                       builder.periodic_boundaries());
        }
        pcout << "  geometry:         " << builder.geometry_name << '\n';
        // FunctionSpace::summary() ends with a newline; indent its lines.
        std::istringstream summary(space->summary());
        for (std::string line; std::getline(summary, line);)
          pcout << "  " << line << '\n';

        {
          TimerOutput::Scope scope(timer, label + ": covariance initialize");
          prm.enter_subsection("Covariance");
          model_name = prm.get("Model");
          covariance = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
          prm.leave_subsection();
          covariance->initialize(*space);
        }
        pcout << "  covariance model: " << model_name << std::endl;
      }
    };



    // @sect3{The sample cases}
    //
    // A sample case draws a few samples with CovarianceOperator::sample()
    // and writes them, together with the exact pointwise variance of the
    // discrete field, into one VTU file. Sample i of a batch is a function
    // of the seed, of i and of the mesh only, so rerunning the program
    // (also with another number of MPI ranks) gives the same fields.
    template <int dim>
    void
    run_sample_case(ParameterHandler &  prm,
                    const std::string & name,
                    const std::string & output_directory,
                    TimerOutput &       timer,
                    ConditionalOStream &pcout)
    {
      prm.enter_subsection(name);
      if (!prm.get_bool("Enable"))
        {
          prm.leave_subsection();
          return;
        }
      const unsigned int  n_samples     = prm.get_integer("Number of samples");
      const std::uint64_t seed          = prm.get_integer("Seed");
      const bool          with_variance = prm.get_bool("Exact pointwise variance");

      pcout << "\n" << name << " (" << dim << "D)\n";
      GaussianRandomField<dim> field;
      field.setup(prm, timer, name, pcout);
      prm.leave_subsection();

      std::vector<VectorType> samples(n_samples);
      {
        TimerOutput::Scope scope(timer, name + ": samples");
        field.covariance->sample(samples, seed, 0);
      }

      // The pointwise variance $\mathrm{Var}(\xi_i)$ is the diagonal of
      // the covariance matrix of the coefficients. For the SPDE model ddo
      // computes it exactly, column by column, which costs one solve per
      // DoF (two for odd $\alpha$): fine for the few thousand DoFs here,
      // not for large meshes.
      VectorType variance;
      if (with_variance)
        {
          TimerOutput::Scope scope(timer, name + ": exact pointwise variance");
          variance = field.covariance->pointwise_variance();
          pcout << "  pointwise variance: min " << variance.min() << ", max "
                << variance.max() << ", mean " << variance.mean_value() << '\n';
        }

      // Sample statistics as a quick sanity check: the mean of the squared
      // nodal values over all samples and nodes should be close to the mean
      // pointwise variance.
      double sum_of_squares = 0;
      for (const auto &s : samples)
        sum_of_squares += s.norm_sqr();
      pcout << "  mean square of the nodal values of the samples: "
            << sum_of_squares / (double(n_samples) * field.space->n_dofs()) << '\n';

      {
        TimerOutput::Scope scope(timer, name + ": write VTU");
        std::vector<std::pair<std::string, const VectorType *>> fields;
        for (unsigned int i = 0; i < n_samples; ++i)
          fields.emplace_back("sample_" + std::to_string(i), &samples[i]);
        if (with_variance)
          fields.emplace_back("pointwise_variance", &variance);
        const std::string file_name =
          output_directory + "/samples-" + std::to_string(dim) + "d.vtu";
        write_vtu(*field.space, fields, file_name);
        pcout << "  wrote " << file_name << std::endl;
      }
    }



    // @sect3{The correlation study}
    //
    // Is what we sample really a Matérn field? Away from the boundary the
    // correlation between the values at two points at distance $r$ should
    // be the Matérn correlation
    // @f[
    //   c(r) = \frac{2^{1-\nu}}{\Gamma(\nu)} (\kappa r)^\nu K_\nu(\kappa r),
    //   \qquad \kappa = \sqrt{8\nu}/\rho,
    // @f]
    // up to the discretization error of the finite element solution of the
    // SPDE. We check this three ways, at the nodes of the mesh (for the
    // linear and quadratic elements used here the nodal values are the point
    // values of the field, so no point evaluation is needed):
    //
    // - *empirical*: from many samples, the correlation between the value at
    //   a reference node $x_0$ and at every other node $x_j$,
    //   $\hat c_j = \sum_s \xi^{(s)}_0 \xi^{(s)}_j / \sqrt{\sum_s
    //   (\xi^{(s)}_0)^2 \sum_s (\xi^{(s)}_j)^2}$ (the mean is known to be
    //   zero);
    // - *discrete exact*: the covariance matrix of the coefficients times the
    //   unit vector $e_0$ of the reference node is the column
    //   $\mathrm{Cov}(\xi_0, \xi_j)$; CovarianceOperator::apply() computes it
    //   with two solves. Divided by the square roots of the pointwise
    //   variances it is the correlation the samples *should* show;
    // - *continuum*: the Matérn formula above at the node's distance.
    //
    // Nodes at about the same distance $r_k$ from $x_0$ (a thin ring) are
    // averaged. On our distorted mesh the nodes of a ring lie at slightly
    // different distances; all three quantities are averaged over the same
    // nodes, so they remain comparable. The statistical error of the
    // empirical ring averages is estimated with the delete-one-group
    // jackknife: the samples are split into $G$ groups, the estimator is
    // recomputed $G$ times with one group left out, and
    // $\mathrm{SE}^2 = \frac{G-1}{G} \sum_g (\hat\theta_{(g)} -
    // \bar\theta)^2$. This accounts for the strong correlation between the
    // estimates at neighboring nodes, which a naive
    // $\sigma/\sqrt{\text{number of nodes}}$ would not.
    //
    // Everything below works with the locally owned nodes of each MPI rank
    // and adds up across ranks, so the study also runs in parallel.
    class CorrelationStudy
    {
    public:
      static constexpr int dim = 2;

      CorrelationStudy(ParameterHandler &  prm,
                       const std::string & output_directory,
                       TimerOutput &       timer,
                       ConditionalOStream &pcout);

      void
      run();

    private:
      void
      find_reference_node();
      void
      compute_exact_covariances();
      void
      sample_and_accumulate();
      void
      evaluate_rings();
      void
      write_results();

      const std::string   output_directory;
      TimerOutput &       timer;
      ConditionalOStream &pcout;
      const MPI_Comm      comm = MPI_COMM_WORLD;

      // Parameters.
      unsigned int  n_samples, batch_size, n_groups, n_distances;
      std::uint64_t seed;
      Point<dim>    requested_reference_point;
      double        max_distance;
      std::string   gnuplot_script;
      MaternScales  scales;

      GaussianRandomField<dim> field;

      // The reference node: global index, coordinates, local index on the
      // owning rank (invalid elsewhere).
      types::global_dof_index reference_dof;
      Point<dim>              reference_point;
      unsigned int            reference_local = numbers::invalid_unsigned_int;

      // Per locally owned node: distance to the reference node and the ring
      // it belongs to (numbers::invalid_unsigned_int: none).
      std::vector<double>       distance;
      std::vector<unsigned int> ring;

      // Exact discrete quantities: covariance with the reference node and
      // pointwise variance (both vectors of the space), and the variance at
      // the reference node.
      VectorType covariance_column, variance;
      double     reference_variance = 0;

      // Sums per jackknife group g and owned node j: sum of xi_0 xi_j and of
      // xi_j^2, and of xi_0^2 (per group).
      std::vector<std::vector<double>> sum_0j, sum_jj;
      std::vector<double>              sum_00;

      // Per ring k: mean distance, number of nodes, the three correlations
      // and the jackknife standard error of the empirical one.
      struct Ring
      {
        double       nominal_distance = 0;
        double       mean_distance    = 0;
        unsigned int n_nodes          = 0;
        double       empirical        = 0;
        double       standard_error   = 0;
        double       discrete         = 0;
        double       matern           = 0;
      };
      std::vector<Ring> rings;

      // Empirical and continuum correlations at every node, for the VTU file.
      VectorType empirical_field, discrete_field, matern_field;
      VectorType first_sample;
    };


    // The constructor reads the parameters and sets up mesh, space and
    // covariance model. The Matérn parameters of the continuum comparison
    // are read from the subsection of the selected model: both Matérn
    // models ("matern" and "matern_spectral") declare `Marginal variance`,
    // `Correlation length` and `Smoothness`; other models have no continuum
    // counterpart to compare with.
    CorrelationStudy::CorrelationStudy(ParameterHandler &  prm,
                                       const std::string & output_directory,
                                       TimerOutput &       timer,
                                       ConditionalOStream &pcout)
      : output_directory(output_directory)
      , timer(timer)
      , pcout(pcout)
    {
      prm.enter_subsection("Correlation study");
      n_samples   = prm.get_integer("Number of samples");
      batch_size  = prm.get_integer("Batch size");
      n_groups    = prm.get_integer("Jackknife groups");
      seed        = prm.get_integer("Seed");
      n_distances = prm.get_integer("Number of distances");
      AssertThrow(n_groups <= n_samples,
                  ExcMessage("Correlation study: more jackknife groups than samples."));
      const auto p = Utilities::string_to_double(
        Utilities::split_string_list(prm.get("Reference point")));
      for (unsigned int d = 0; d < dim; ++d)
        requested_reference_point[d] = p[d];
      max_distance   = prm.get_double("Maximal distance");
      gnuplot_script = prm.get("Gnuplot script");
      if (gnuplot_script.empty())
        gnuplot_script = std::string(DDO_STEP1_SOURCE_DIR) + "/plot_correlation.gp";

      prm.enter_subsection("Covariance");
      const std::string model = prm.get("Model");
      AssertThrow(model == "matern" || model == "matern_spectral",
                  ExcMessage("The correlation study compares with the Matérn "
                             "correlation; select Model = matern or "
                             "matern_spectral, not <" + model + ">."));
      prm.enter_subsection(model);
      scales = MaternScales::from_user_parameters(dim,
                                                  prm.get_double("Marginal variance"),
                                                  prm.get_double("Correlation length"),
                                                  prm.get_double("Smoothness"));
      prm.leave_subsection();
      prm.leave_subsection();

      pcout << "\nCorrelation study (2D)\n";
      field.setup(prm, timer, "Correlation study", pcout);
      prm.leave_subsection();
    }


    void
    CorrelationStudy::run()
    {
      find_reference_node();
      compute_exact_covariances();
      sample_and_accumulate();
      evaluate_rings();
      write_results();
    }


    // @sect4{The reference node and the rings}
    //
    // Each rank looks for the owned node nearest to the requested point; the
    // nearest of all wins (ties go to the lowest rank). Then every owned node
    // is assigned to the ring whose nominal distance $r_k = k\Delta$,
    // $\Delta = r_{\max}/n$, is within $\Delta/2$ of its distance.
    void
    CorrelationStudy::find_reference_node()
    {
      const auto &        points = field.space->locally_owned_support_points();
      const IndexSet &    owned  = field.space->locally_owned_dofs();
      const unsigned int  rank   = Utilities::MPI::this_mpi_process(comm);
      double              best   = std::numeric_limits<double>::max();
      unsigned int        best_local = numbers::invalid_unsigned_int;
      for (unsigned int i = 0; i < points.size(); ++i)
        if (points[i].distance(requested_reference_point) < best)
          {
            best       = points[i].distance(requested_reference_point);
            best_local = i;
          }
      const double       global_best = Utilities::MPI::min(best, comm);
      const unsigned int owner =
        Utilities::MPI::min(best == global_best ? rank : Utilities::MPI::n_mpi_processes(comm),
                            comm);

      // The owner tells everybody index and coordinates (a sum with zeros).
      std::vector<double> data(dim + 1, 0.);
      if (rank == owner)
        {
          reference_local = best_local;
          data[0]         = owned.nth_index_in_set(best_local);
          for (unsigned int d = 0; d < dim; ++d)
            data[d + 1] = points[best_local][d];
        }
      Utilities::MPI::sum(data, comm, data);
      reference_dof = static_cast<types::global_dof_index>(std::llround(data[0]));
      for (unsigned int d = 0; d < dim; ++d)
        reference_point[d] = data[d + 1];

      const double spacing = max_distance / n_distances;
      rings.resize(n_distances);
      for (unsigned int k = 0; k < n_distances; ++k)
        rings[k].nominal_distance = (k + 1) * spacing;
      distance.resize(points.size());
      ring.assign(points.size(), numbers::invalid_unsigned_int);
      for (unsigned int i = 0; i < points.size(); ++i)
        {
          distance[i]  = points[i].distance(reference_point);
          const long k = std::lround(distance[i] / spacing) - 1;
          if (k >= 0 && k < long(n_distances))
            ring[i] = k;
        }

      pcout << "  reference node:   " << reference_dof << " at (" << reference_point
            << "), requested (" << requested_reference_point << ")\n"
            << "  rings:            " << n_distances << " of width " << spacing
            << " out to r = " << max_distance << " = "
            << max_distance / scales.correlation_length << " rho" << std::endl;
    }


    // @sect4{The exact discrete covariance}
    //
    // The column of the covariance matrix that belongs to the reference node
    // is $C e_0$: one call of CovarianceOperator::apply() on a unit vector.
    // (apply() is $P\tilde C R$; for a node that is not constrained by hanging
    // nodes or periodicity, which is always the case on our conforming
    // simplex mesh, this is exactly $\mathrm{Cov}(\xi) e_0$.) The pointwise
    // variance needs the whole diagonal, one solve per DoF.
    void
    CorrelationStudy::compute_exact_covariances()
    {
      TimerOutput::Scope scope(timer, "Correlation study: exact covariance");
      VectorType         unit = field.space->create_vector();
      if (reference_local != numbers::invalid_unsigned_int)
        unit[reference_dof] = 1.;
      unit.compress(VectorOperation::insert);
      field.covariance->apply(unit, covariance_column);
      variance = field.covariance->pointwise_variance();

      reference_variance = Utilities::MPI::sum(
        reference_local != numbers::invalid_unsigned_int ? variance[reference_dof] : 0., comm);
      const double column_at_reference = Utilities::MPI::sum(
        reference_local != numbers::invalid_unsigned_int ? covariance_column[reference_dof] : 0.,
        comm);
      pcout << "  exact variance at the reference node: " << reference_variance
            << " (from the column: " << column_at_reference
            << ", continuum sigma^2 = " << scales.variance << ")" << std::endl;
    }


    // @sect4{Sampling}
    //
    // Samples are drawn in batches, so that only a batch is held in memory.
    // Sample $s$ uses the random stream $(\text{seed}, s)$ and goes to the
    // jackknife group $s \bmod G$. The value at the reference node is summed
    // over ranks so that every rank knows it; each rank then updates the
    // sums of its own nodes. We work directly on the locally owned entries,
    // which are stored in the order of the support points.
    void
    CorrelationStudy::sample_and_accumulate()
    {
      TimerOutput::Scope scope(timer, "Correlation study: samples and statistics");
      const unsigned int n_owned = distance.size();
      sum_0j.assign(n_groups, std::vector<double>(n_owned, 0.));
      sum_jj.assign(n_groups, std::vector<double>(n_owned, 0.));
      sum_00.assign(n_groups, 0.);

      std::vector<VectorType> batch;
      unsigned int            next_report = n_samples / 4;
      for (unsigned int first = 0; first < n_samples; first += batch_size)
        {
          batch.resize(std::min(batch_size, n_samples - first));
          field.covariance->sample(batch, seed, first);
          for (unsigned int b = 0; b < batch.size(); ++b)
            {
              const unsigned int s      = first + b;
              const unsigned int g      = s % n_groups;
              const double *     values = batch[b].begin();
              const double       xi_0   = Utilities::MPI::sum(
                reference_local != numbers::invalid_unsigned_int ? values[reference_local] :
                                                                     0.,
                comm);
              sum_00[g] += xi_0 * xi_0;
              double *s0j = sum_0j[g].data();
              double *sjj = sum_jj[g].data();
              for (unsigned int j = 0; j < n_owned; ++j)
                {
                  s0j[j] += xi_0 * values[j];
                  sjj[j] += values[j] * values[j];
                }
            }
          if (first == 0)
            first_sample = batch[0];
          if (first + batch.size() >= next_report)
            {
              pcout << "  " << first + batch.size() << " of " << n_samples
                    << " samples drawn" << std::endl;
              next_report += n_samples / 4;
            }
        }
    }


    // @sect4{Ring averages and their standard errors}
    //
    // For every ring we need the estimator with all samples and the $G$
    // jackknife estimators with one group left out. Each is a mean over the
    // nodes of the ring of the nodal correlations, computed from the summed
    // moments; the sums over nodes are partial on each rank and added up
    // across ranks at the end.
    void
    CorrelationStudy::evaluate_rings()
    {
      TimerOutput::Scope scope(timer, "Correlation study: evaluation");
      const unsigned int n_owned = distance.size();
      const unsigned int n_rings = rings.size();

      double total_00 = 0;
      for (const double s : sum_00)
        total_00 += s;
      std::vector<double> total_0j(n_owned, 0.), total_jj(n_owned, 0.);
      for (unsigned int g = 0; g < n_groups; ++g)
        for (unsigned int j = 0; j < n_owned; ++j)
          {
            total_0j[j] += sum_0j[g][j];
            total_jj[j] += sum_jj[g][j];
          }

      // Layout of the per-ring sums: [ring][0] = estimator with all samples,
      // [ring][1 + g] = without group g; then mean distance, discrete and
      // continuum correlation and the number of nodes.
      std::vector<double> estimators(n_rings * (n_groups + 1), 0.);
      std::vector<double> ring_sums(n_rings * 4, 0.);

      empirical_field = field.space->create_vector();
      discrete_field  = field.space->create_vector();
      matern_field    = field.space->create_vector();
      const IndexSet &owned = field.space->locally_owned_dofs();
      for (unsigned int j = 0; j < n_owned; ++j)
        {
          const types::global_dof_index i = owned.nth_index_in_set(j);
          const double empirical = total_0j[j] / std::sqrt(total_00 * total_jj[j]);
          const double discrete =
            covariance_column[i] / std::sqrt(reference_variance * variance[i]);
          const double matern = scales.correlation(distance[j]);
          empirical_field[i]  = empirical;
          discrete_field[i]   = discrete;
          matern_field[i]     = matern;

          const unsigned int k = ring[j];
          if (k == numbers::invalid_unsigned_int)
            continue;
          estimators[k * (n_groups + 1)] += empirical;
          for (unsigned int g = 0; g < n_groups; ++g)
            estimators[k * (n_groups + 1) + 1 + g] +=
              (total_0j[j] - sum_0j[g][j]) /
              std::sqrt((total_00 - sum_00[g]) * (total_jj[j] - sum_jj[g][j]));
          ring_sums[4 * k + 0] += distance[j];
          ring_sums[4 * k + 1] += discrete;
          ring_sums[4 * k + 2] += matern;
          ring_sums[4 * k + 3] += 1.;
        }
      empirical_field.compress(VectorOperation::insert);
      discrete_field.compress(VectorOperation::insert);
      matern_field.compress(VectorOperation::insert);

      Utilities::MPI::sum(estimators, comm, estimators);
      Utilities::MPI::sum(ring_sums, comm, ring_sums);

      for (unsigned int k = 0; k < n_rings; ++k)
        {
          Ring &       r = rings[k];
          const double n = ring_sums[4 * k + 3];
          AssertThrow(n > 0,
                      ExcMessage("Correlation study: ring " + std::to_string(k) +
                                 " contains no node; the mesh is too coarse for " +
                                 std::to_string(n_distances) + " distances."));
          r.n_nodes       = static_cast<unsigned int>(n);
          r.mean_distance = ring_sums[4 * k + 0] / n;
          r.discrete      = ring_sums[4 * k + 1] / n;
          r.matern        = ring_sums[4 * k + 2] / n;
          r.empirical     = estimators[k * (n_groups + 1)] / n;
          double mean_of_replicates = 0;
          for (unsigned int g = 0; g < n_groups; ++g)
            mean_of_replicates += estimators[k * (n_groups + 1) + 1 + g] / n;
          mean_of_replicates /= n_groups;
          double sum_of_squares = 0;
          for (unsigned int g = 0; g < n_groups; ++g)
            sum_of_squares +=
              Utilities::fixed_power<2>(estimators[k * (n_groups + 1) + 1 + g] / n -
                                        mean_of_replicates);
          r.standard_error = std::sqrt((n_groups - 1.) / n_groups * sum_of_squares);
        }
    }


    // @sect4{Output}
    //
    // We print the table of ring averages with the two deviations of the
    // empirical correlation in units of its standard error, write it to
    // `correlation.dat`, write the Matérn curve on a fine grid to
    // `matern_curve.dat` (gnuplot knows no modified Bessel functions of the
    // second kind), write the correlation fields as VTU, and render the
    // figure with gnuplot if it is installed.
    void
    CorrelationStudy::write_results()
    {
      TimerOutput::Scope scope(timer, "Correlation study: output");

      pcout << "\n  Correlation with the reference node, averaged over rings "
               "(SE: jackknife standard error)\n"
            << "      r  nodes  empirical      SE   discrete   Matern"
               "  |emp-disc|/SE  |emp-Matern|/SE\n";
      double max_dev_matern = 0, max_dev_discrete_se = 0, max_dev_matern_se = 0,
             max_disc_matern = 0, max_se = 0;
      for (const Ring &r : rings)
        {
          const double dev_discrete = std::abs(r.empirical - r.discrete);
          const double dev_matern   = std::abs(r.empirical - r.matern);
          pcout << std::fixed << std::setprecision(4) << std::setw(7) << r.mean_distance
                << std::setw(7) << r.n_nodes << std::setw(11) << r.empirical << std::setw(8)
                << r.standard_error << std::setw(11) << r.discrete << std::setw(9)
                << r.matern << std::setprecision(2) << std::setw(15)
                << dev_discrete / r.standard_error << std::setw(17)
                << dev_matern / r.standard_error << '\n';
          max_dev_matern      = std::max(max_dev_matern, dev_matern);
          max_dev_discrete_se = std::max(max_dev_discrete_se, dev_discrete / r.standard_error);
          max_dev_matern_se   = std::max(max_dev_matern_se, dev_matern / r.standard_error);
          max_disc_matern     = std::max(max_disc_matern, std::abs(r.discrete - r.matern));
          max_se              = std::max(max_se, r.standard_error);
        }
      pcout << std::setprecision(4)
            << "\n  max |empirical - Matern|        = " << max_dev_matern
            << "   (max SE " << max_se << ", max |empirical - Matern|/SE "
            << std::setprecision(2) << max_dev_matern_se << ")\n"
            << std::setprecision(4)
            << "  max |empirical - discrete|/SE   = " << std::setprecision(2)
            << max_dev_discrete_se << '\n'
            << std::setprecision(4)
            << "  max |discrete - Matern|         = " << max_disc_matern
            << "   (discretization error of the SPDE)\n"
            << std::defaultfloat << std::setprecision(6) << std::endl;

      const std::string data_file  = output_directory + "/correlation.dat";
      const std::string curve_file = output_directory + "/matern_curve.dat";
      const std::string png_file   = output_directory + "/correlation.png";
      if (Utilities::MPI::this_mpi_process(comm) == 0)
        {
          std::ofstream out(data_file);
          out << "# ddo step-1: correlation with the node at (" << reference_point
              << "), Matern sigma^2 = " << scales.variance
              << ", rho = " << scales.correlation_length << ", nu = " << scales.smoothness
              << ", " << n_samples << " samples, " << field.space->n_dofs() << " DoFs\n"
              << "# r  empirical  standard_error  discrete_exact  continuum_matern  nodes\n"
              << std::setprecision(8);
          for (const Ring &r : rings)
            out << r.mean_distance << ' ' << r.empirical << ' ' << r.standard_error << ' '
                << r.discrete << ' ' << r.matern << ' ' << r.n_nodes << '\n';
          AssertThrow(out.good(), ExcMessage("Cannot write <" + data_file + ">."));

          std::ofstream curve(curve_file);
          curve << "# r  Matern correlation\n" << std::setprecision(8);
          for (unsigned int i = 0; i <= 200; ++i)
            {
              const double r = 1.1 * max_distance * i / 200.;
              curve << r << ' ' << scales.correlation(r) << '\n';
            }
          AssertThrow(curve.good(), ExcMessage("Cannot write <" + curve_file + ">."));
        }
      pcout << "  wrote " << data_file << " and " << curve_file << '\n';

      write_vtu(*field.space,
                {{"sample_0", &first_sample},
                 {"pointwise_variance", &variance},
                 {"covariance_with_reference", &covariance_column},
                 {"empirical_correlation", &empirical_field},
                 {"discrete_correlation", &discrete_field},
                 {"matern_correlation", &matern_field}},
                output_directory + "/correlation.vtu");
      pcout << "  wrote " << output_directory << "/correlation.vtu\n";

      // The figure. The arguments are passed to gnuplot as variables.
      std::ostringstream gnuplot;
      gnuplot << "gnuplot -e \"datafile='" << data_file << "'; curvefile='" << curve_file
              << "'; outfile='" << png_file << "'; rho=" << scales.correlation_length
              << "; nu=" << scales.smoothness << "; nsamples=" << n_samples
              << "; ndofs=" << field.space->n_dofs() << "\" '" << gnuplot_script << "'";
      if (Utilities::MPI::this_mpi_process(comm) == 0)
        {
          if (std::system("command -v gnuplot > /dev/null 2>&1") == 0)
            {
              if (std::system(gnuplot.str().c_str()) == 0)
                pcout << "  wrote " << png_file << std::endl;
              else
                pcout << "  gnuplot failed; the command was\n    " << gnuplot.str()
                      << std::endl;
            }
          else
            pcout << "  gnuplot is not installed; to render the figure run\n    "
                  << gnuplot.str() << std::endl;
        }
    }
  } // namespace Step1
} // namespace ddo



// @sect3{The main function}
//
// The usual deal.II main function: MPI (which Trilinos needs even in
// serial), the parameter file from the command line or the default one,
// and the three parts of the program, each with its own timer sections.
int
main(int argc, char *argv[])
{
  using namespace dealii;
  try
    {
      ddo::MPISession mpi(argc, argv, 1);
      ConditionalOStream pcout(std::cout,
                               Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0);
      TimerOutput timer(pcout, TimerOutput::summary, TimerOutput::wall_times);

      const std::string parameter_file =
        argc > 1 ? std::string(argv[1]) : std::string(DDO_STEP1_SOURCE_DIR) + "/step-1.prm";
      ParameterHandler prm;
      ddo::Step1::declare_parameters(prm);
      prm.parse_input(parameter_file);
      pcout << "ddo step-1: Gaussian random fields on unstructured meshes\n"
            << "parameters: " << parameter_file << std::endl;

      prm.enter_subsection("Output");
      const std::string output_directory = prm.get("Directory");
      prm.leave_subsection();
      ddo::create_directories(output_directory);

      ddo::Step1::run_sample_case<2>(prm, "Case A", output_directory, timer, pcout);
      ddo::Step1::run_sample_case<3>(prm, "Case B", output_directory, timer, pcout);

      prm.enter_subsection("Correlation study");
      const bool study = prm.get_bool("Enable");
      prm.leave_subsection();
      if (study)
        {
          ddo::Step1::CorrelationStudy correlation(prm, output_directory, timer, pcout);
          correlation.run();
        }
    }
  catch (std::exception &exc)
    {
      std::cerr << std::endl
                << std::endl
                << "----------------------------------------------------" << std::endl;
      std::cerr << "Exception on processing: " << std::endl
                << exc.what() << std::endl
                << "Aborting!" << std::endl
                << "----------------------------------------------------" << std::endl;
      return 1;
    }
  catch (...)
    {
      std::cerr << std::endl
                << std::endl
                << "----------------------------------------------------" << std::endl;
      std::cerr << "Unknown exception!" << std::endl
                << "Aborting!" << std::endl
                << "----------------------------------------------------" << std::endl;
      return 1;
    }
  return 0;
}
