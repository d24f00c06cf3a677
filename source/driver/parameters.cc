// Parameter handling shared by the commands of the ddo driver.

#include <ddo/covariance/interface.h>
#include <ddo/function_space/function_space.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/mesh/space_description.h>
#include <ddo/generator/interface.h>
#include <ddo/likelihood/interface.h>
#include <ddo/quantity/interface.h>
#include <ddo/torch/sampler/interface.h>
#include <ddo/torch/sampler/posterior_guidance.h>
#include <ddo/torch/network/interface.h>
#include <ddo/torch/model/trained_model.h>
#include <ddo/torch/training/trainer.h>

#include "commands.h"

namespace ddo
{
  namespace driver
  {
    void
    declare_common(ParameterHandler &prm)
    {
      prm.declare_entry("Dimension", "2", Patterns::Integer(2, 3), "Spatial dimension of the problem.");
      prm.declare_entry("Plugin libraries", "", Patterns::List(Patterns::FileName()),
                        "Shared libraries with additional plugins, loaded "
                        "before the rest of this file is read.");
    }


    void
    parse(ParameterHandler &prm, const std::string &text, const std::string &source, const bool skip_undefined)
    {
      try
        {
          // The second argument is the text's required last line (none).
          prm.parse_input_from_string(text, "", skip_undefined);
        }
      catch (const std::exception &e)
        {
          // ParameterHandler's messages name the line "of file <input
          // string>": name the user's file instead.
          std::string       message = user_message(e);
          const std::string unnamed = "<input string>";
          for (auto at = message.find(unnamed); at != std::string::npos; at = message.find(unnamed, at))
            {
              message.replace(at, unnamed.size(), "<" + source + ">");
              at += source.size() + 2;
            }
          AssertThrow(false, ExcMessage("Invalid parameter file <" + source + ">:\n" + message));
        }
    }


    std::string
    extract_subsections(const std::string &                            text,
                        const std::string &                            source,
                        const std::function<void(ParameterHandler &)> &declare)
    {
      ParameterHandler prm;
      declare(prm);
      parse(prm, text, source, true);
      std::ostringstream out;
      prm.print_parameters(out, ParameterHandler::ShortPRM);
      return out.str();
    }


    template <int dim>
    void
    declare_network(ParameterHandler &prm)
    {
      prm.enter_subsection("Network");
      ScoreNetworkRegistry<dim>::instance().declare_parameters(prm, "Model", "spectral_operator",
                                                               "The score network.");
      prm.declare_entry("Number of modes", "64", Patterns::Integer(1),
                        "Eigenpairs K phi = lambda M phi of the mesh the network uses.");
      prm.declare_entry("Eigenbasis cache", "", Patterns::Anything(),
                        "Directory where eigenbases are cached, keyed by mesh fingerprint "
                        "(empty: no cache).");
      prm.leave_subsection();
    }


    template void declare_network<2>(ParameterHandler &);
    template void declare_network<3>(ParameterHandler &);


    namespace
    {
      /** Subsection `Generate`: the random fields and the data generator. */
      template <int dim>
      void
      declare_generate(ParameterHandler &prm)
      {
        prm.enter_subsection("Generate");
        prm.declare_entry("Output file", "data/grf.h5", Patterns::Anything(), "The data set file (HDF5).");
        prm.declare_entry("Number of samples", "100", Patterns::Integer(1), "Functions in the data set.");
        prm.declare_entry("Test output file", "", Patterns::Anything(),
                          "A second, independent data set from the same recipe (empty: none).");
        prm.declare_entry("Number of test samples", "0", Patterns::Integer(0), "Functions in the test set.");
        prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of the random fields.");
        prm.declare_entry("Maximum fields this run", "0", Patterns::Integer(0),
                          "Stop after this many new fields (0: all) and keep the partial file; the "
                          "next run continues it (for time-limited batch jobs).");
        prm.declare_entry("Mean function", "0", Patterns::Anything(),
                          "Mean of the random fields the generator receives, an expression in "
                          "x, y (and z) (muparser syntax, pi defined).");
        CovarianceRegistry<dim>::instance().declare_parameters(prm, "Model", "matern",
                                                               "Covariance model of the random fields.");
        GeneratorRegistry<dim>::instance().declare_parameters(
          prm, "Generator", "grf",
          "What turns each random field into a field of the data set (plugins, e.g. "
          "navier_stokes from libddo_navier_stokes.so).");
        prm.leave_subsection();
      }


      /** Subsection `Sampling`: the trained model, the sampler, the output. */
      template <int dim>
      void
      declare_sampling(ParameterHandler &prm)
      {
        prm.enter_subsection("Sampling");
        prm.declare_entry("Checkpoint", "checkpoint", Patterns::Anything(),
                          "The trained model (`ddo train`), or a comma-separated list of models "
                          "trained on the same data, mesh and noise (e.g. with different seeds): an "
                          "ensemble, sampled with the mean of their scores.");
        prm.declare_entry("Number of samples", "16", Patterns::Integer(1), "Samples to draw.");
        prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of the sampler's noise.");
        prm.declare_entry("Number of modes", "0", Patterns::Integer(0),
                          "Eigenpairs of the sampling mesh the network uses (0: as in training).");
        prm.declare_entry("Eigenbasis cache", "", Patterns::Anything(), "Directory of cached eigenbases.");
        prm.declare_entry("Output file", "output/samples.h5", Patterns::Anything(),
                          "The samples as a data set (HDF5; empty: not written).");
        prm.declare_entry("VTU file", "output/samples.vtu", Patterns::Anything(),
                          "The first samples as fields of one VTU file (empty: not written).");
        prm.declare_entry("Samples in VTU", "4", Patterns::Integer(0), "How many samples go into the VTU file.");
        prm.declare_entry("Sigma max", "0", Patterns::Double(0),
                          "Largest noise level the sampler starts from (0: the model's training "
                          "sigma_max). Above the training range the network extrapolates in sigma; "
                          "useful when the training sigma_max did not dominate the data everywhere.");
        prm.declare_entry("Remove mean", "false", Patterns::Bool(),
                          "Subtract each sample's mean: for data known to be mean-free (vorticity on a "
                          "torus, whose integral is conserved and zero), a constraint the model only "
                          "learns approximately.");
        SamplerRegistry<dim>::instance().declare_parameters(prm, "Sampler", "probability_flow", "How to sample.");
        prm.leave_subsection();
      }


      /** Subsection `Posterior`: the model as the prior of an inverse problem. */
      template <int dim>
      void
      declare_posterior(ParameterHandler &prm)
      {
        prm.enter_subsection("Posterior");
        prm.declare_entry("Truth file", "data/test.h5", Patterns::Anything(),
                          "The data set whose rows are the truths to observe (on the mesh of this file).");
        prm.declare_entry("First truth", "0", Patterns::Integer(0), "The row of the first truth.");
        prm.declare_entry("Number of truths", "1", Patterns::Integer(1), "How many consecutive rows are truths.");
        prm.declare_entry("Samples per truth", "8", Patterns::Integer(2), "Posterior samples per truth.");
        prm.declare_entry("Seed", "1", Patterns::Integer(0),
                          "Seed of the observation noise and of the sampler's noise.");
        prm.declare_entry("Credible level", "0.9", Patterns::Double(0, 1),
                          "Level of the pointwise credible interval mean +- z std whose coverage of the "
                          "truth is reported.");
        prm.declare_entry("Classification threshold", "", Patterns::Anything(),
                          "For two-valued fields: also report the fraction of the domain where the "
                          "posterior mean and the truth lie on different sides of this value (empty: off).");
        prm.declare_entry("Output directory", "output/posterior", Patterns::Anything(),
                          "Where the table and the VTU files go.");
        prm.declare_entry("Truths in VTU", "3", Patterns::Integer(0),
                          "For the first truths: truth, posterior mean and deviation, samples as VTU.");
        GuidanceSettings::declare_parameters(prm);
        SamplerRegistry<dim>::instance().declare_parameters(prm, "Sampler", "probability_flow",
                                                            "How to sample the posterior.");
        LikelihoodRegistry<dim>::instance().declare_parameters(prm, "Likelihood", "darcy_point_pressure",
                                                               "The observation model.");
        prm.declare_entry("Prior", "trained model", Patterns::Selection("trained model|gaussian"),
                          "The prior: the trained model of subsection Sampling, or the Gaussian prior of "
                          "subsection `Gaussian prior` (the baseline; sampled with the same sampler and guidance).");
        prm.enter_subsection("Gaussian prior");
        prm.declare_entry("Mean", "0", Patterns::Double(), "The prior mean m0 (a constant).");
        prm.declare_entry("Transform", "identity", Patterns::Selection("identity|exp"),
                          "The field compared with the truths: the prior's variable u itself, or exp(u) "
                          "(a prior on log a; the likelihood then takes log a, e.g. `Field = log permeability`).");
        CovarianceRegistry<dim>::instance().declare_parameters(prm, "Model", "matern",
                                                               "The prior covariance C (also the diffusion's noise).");
        prm.leave_subsection();
        prm.leave_subsection();
      }


      /** Subsection `Propagation`: a quantity of interest of samples against the data. */
      template <int dim>
      void
      declare_propagation(ParameterHandler &prm)
      {
        prm.enter_subsection("Propagation");
        prm.declare_entry("Samples file", "output/samples.h5", Patterns::Anything(),
                          "The fields to propagate (e.g. the output of `ddo sample`), on the mesh of this file.");
        prm.declare_entry("Reference file", "data/test.h5", Patterns::Anything(),
                          "The data whose quantity is the reference (at least 4 fields; split into halves).");
        prm.declare_entry("Gaussian baseline", "true", Patterns::Bool(),
                          "Also propagate as many draws of the Gaussian with the mean and covariance of the "
                          "training data (subsection Data).");
        prm.declare_entry("Number of fields", "0", Patterns::Integer(0),
                          "At most this many fields of each file (0: all).");
        prm.declare_entry("Number of splits", "20", Patterns::Integer(1, 1000),
                          "A/B splits of the reference for the floor (as in subsection Metrics).");
        prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of the splits and of the baseline.");
        prm.declare_entry("Output directory", "output/propagation", Patterns::Anything(),
                          "Where the table, the values and the plot go.");
        QuantityRegistry<dim>::instance().declare_parameters(prm, "Quantity", "darcy_boundary_flux",
                                                             "The quantity of interest.");
        prm.leave_subsection();
      }


      /** Subsection `Metrics`: samples against a test set. */
      void
      declare_metrics(ParameterHandler &prm)
      {
        prm.enter_subsection("Metrics");
        prm.declare_entry("Samples files", "output/samples.h5", Patterns::Anything(),
                          "Comma-separated data sets to judge (e.g. the output of `ddo sample`); the "
                          "first one's mesh is the mesh of the comparison, the others are interpolated.");
        prm.declare_entry("Labels", "", Patterns::Anything(),
                          "One name per samples file, separated by commas, or by semicolons when a "
                          "label contains a comma (empty: the file names).");
        prm.declare_entry("Reference file", "data/test.h5", Patterns::Anything(),
                          "The test set (at least 4 functions; split into halves A and B).");
        prm.declare_entry("Output directory", "output/metrics", Patterns::Anything(),
                          "Where the table, data files, PNG plots and VTU fields go.");
        prm.declare_entry("Number of modes", "64", Patterns::Integer(2),
                          "Laplacian eigenpairs of the spectrum.");
        prm.declare_entry("Number of bands", "8", Patterns::Integer(1), "Eigenvalue bands of the spectrum.");
        prm.declare_entry("Eigenbasis cache", "", Patterns::Anything(), "Directory of cached eigenbases.");
        prm.declare_entry("Relative bandwidth", "0.05", Patterns::Double(0),
                          "KDE bandwidth, relative to the standard deviation of the reference values.");
        prm.declare_entry("Correlation distances", "0.05, 0.1, 0.2, 0.3", Patterns::List(Patterns::Double(0)),
                          "Distances of the two-point correlation.");
        prm.declare_entry("Gaussian baseline", "true", Patterns::Bool(),
                          "Also judge samples of the Gaussian with the mean and covariance of the test set.");
        prm.declare_entry("Seed", "1", Patterns::Integer(0), "Seed of the point pairs and the baseline.");
        prm.declare_entry("FFM grid size", "0", Patterns::Integer(0),
                          "Also compute Functional Flow Matching's spectra MSE and density MSE, exactly "
                          "as its evaluation does, on a uniform grid of this size per direction of the "
                          "mesh's bounding box (2D; meaningful on periodic boxes; 0: off; FFM uses 64).");
        prm.declare_entry("Number of splits", "1", Patterns::Integer(1, 1000),
                          "A/B splits of the reference: distances are averaged over this many splits "
                          "(split 0 in file order, the others random), and the ratios to the floor "
                          "are given with their range over the splits. 100 functions per half make "
                          "the floor itself uncertain by a factor ~2; 20 splits steady it.");
        prm.declare_entry("Spectrum bands", "12", Patterns::Integer(0),
                          "Log-spaced bands of sqrt(lambda) over the whole spectrum of the mesh's "
                          "M^-1 K, from its smallest positive to its largest eigenvalue: the energy per "
                          "band of every set over the reference's, every resolved scale (0: off).");
        prm.declare_entry("Spectrum method", "automatic", Patterns::Selection("automatic|dense|chebyshev"),
                          "How the band energies are computed: dense (all eigenpairs, exact; automatic up "
                          "to 5000 free DoFs) or chebyshev (Jackson-damped Chebyshev band filters of "
                          "M^-1 K, linear cost in the DoFs; see ddo::SpectralBands).");
        prm.declare_entry("Chebyshev degree", "0", Patterns::Integer(0),
                          "Degree of the Chebyshev band filters (0: enough to resolve the narrowest band).");
        prm.leave_subsection();
      }
    } // namespace


    template <int dim>
    void
    declare_all(ParameterHandler &prm)
    {
      declare_common(prm);
      MeshBuilder<dim>::declare_parameters(prm);
      FunctionSpace<dim>::declare_parameters(prm);

      prm.enter_subsection("Output");
      prm.declare_entry("Directory", "output", Patterns::DirectoryName(),
                        "Where `ddo info` writes (created if missing).");
      prm.declare_entry("Write VTU", "true", Patterns::Bool(),
                        "Write the function space (quadrature weights, support "
                        "point coordinates, partition) as VTU.");
      prm.leave_subsection();

      declare_generate<dim>(prm);

      prm.enter_subsection("Data");
      prm.declare_entry("File", "data/train.h5", Patterns::Anything(),
                        "The training data set (HDF5, see `ddo generate`), on the mesh of this file.");
      prm.leave_subsection();

      declare_noise_section<dim>(prm);
      declare_network<dim>(prm);

      prm.enter_subsection("Training");
      TrainingSettings::declare_parameters(prm);
      prm.leave_subsection();

      declare_sampling<dim>(prm);
      declare_posterior<dim>(prm);
      declare_propagation<dim>(prm);

      declare_metrics(prm);
    }


    template <int dim>
    CommandContext<dim>::CommandContext(const std::string &prm_text_in, const std::string &source_name_in)
      : prm_text(prm_text_in)
      , source_name(source_name_in)
      , pcout(std::cout, Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0)
      , timer(pcout, TimerOutput::summary, TimerOutput::wall_times)
    {
      declare_all<dim>(prm);
      parse(prm, prm_text, source_name, false);
      space_description = extract_space_description<dim>(prm_text, source_name);
    }


    template <int dim>
    std::unique_ptr<FunctionSpace<dim>>
    CommandContext<dim>::build_space(const MPI_Comm comm)
    {
      TimerOutput::Scope scope(timer, "build mesh and space");
      return build_function_space<dim>(space_description, comm, source_name);
    }


    template struct CommandContext<2>;
    template struct CommandContext<3>;
    template void declare_all<2>(ParameterHandler &);
    template void declare_all<3>(ParameterHandler &);
  } // namespace driver
} // namespace ddo
