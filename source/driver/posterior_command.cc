// `ddo posterior file.prm`: a trained model as the prior of an inverse
// problem. For each truth (rows of a data set on the mesh of the file) the
// selected likelihood plugin observes it, and posterior samples are drawn
// with the prior's score guided by the likelihood's gradient
// (GenerativePrior::sample_posterior). Reported per truth and on average:
// the relative L2 error of the posterior mean, the misfit of the data, the
// coverage of the credible interval, optionally the misclassified fraction
// of the domain (two-valued fields), and the PDE solves and time per sample.

#include <deal.II/fe/fe_values.h>

#include <ddo/base/hashing.h>
#include <ddo/base/output.h>
#include <ddo/covariance/interface.h>
#include <ddo/dataset/function_dataset.h>
#include <ddo/likelihood/interface.h>
#include <ddo/mesh/mesh_builder.h>
#include <ddo/torch/model/gaussian_prior.h>
#include <ddo/torch/model/generative_prior.h>
#include <ddo/torch/sampler/interface.h>

#include <boost/math/distributions/normal.hpp>

#include "commands.h"
#include "field_grid.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <type_traits>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      /** The entries of subsection `Posterior` besides the plugins. */
      struct PosteriorSettings
      {
        std::string      truth_file;
        unsigned int     first_truth;
        unsigned int     n_truths;
        unsigned int     n_samples;
        unsigned int     seed;
        double           credible_level;
        bool             classify;
        double           threshold;
        std::string      output_directory;
        unsigned int     n_vtu;
        GuidanceSettings guidance;
        bool             gaussian;    // the Gaussian prior instead of the trained model
        double           gaussian_mean;
        bool             exponential; // compare exp(u) with the truths
      };


      PosteriorSettings
      read_posterior_settings(ParameterHandler &prm)
      {
        PosteriorSettings settings;
        settings.truth_file       = prm.get("Truth file");
        settings.first_truth      = prm.get_integer("First truth");
        settings.n_truths         = prm.get_integer("Number of truths");
        settings.n_samples        = prm.get_integer("Samples per truth");
        settings.seed             = prm.get_integer("Seed");
        settings.credible_level   = prm.get_double("Credible level");
        const std::string level   = prm.get("Classification threshold");
        settings.classify         = !level.empty();
        settings.threshold        = settings.classify ? Utilities::string_to_double(level) : 0.;
        settings.output_directory = prm.get("Output directory");
        settings.n_vtu            = prm.get_integer("Truths in VTU");
        settings.guidance.parse_parameters(prm);
        settings.gaussian = prm.get("Prior") == "gaussian";
        prm.enter_subsection("Gaussian prior");
        settings.gaussian_mean = prm.get_double("Mean");
        settings.exponential   = settings.gaussian && prm.get("Transform") == "exp";
        prm.leave_subsection();
        AssertThrow(settings.n_samples >= 2,
                    ExcMessage("Posterior: 'Samples per truth' must be at least 2 (a mean and a spread)."));
        return settings;
      }


      /** What one truth's posterior achieved. */
      struct TruthResult
      {
        double relative_error = 0; // ||mean - truth|| / ||truth||, L2 of the domain
        double log_error      = 0; // the same for the mean of log u against log truth (positive fields)
        double prior_error    = 0; // the same for the data's mean value (no observations)
        double mean_misfit    = 0; // normalized data misfit of the posterior mean
        double sample_misfit  = 0; // the same, averaged over the samples
        double coverage       = 0; // domain fraction where the truth lies in the credible interval
        double misclassified  = 0; // domain fraction where mean and truth fall on different sides
        double sample_misclassified = 0; // the same for each sample, averaged over the samples
        double seconds        = 0;
        double solves         = 0; // PDE solves of the likelihood per sample
        double network        = 0; // network evaluations per sample
      };


      /** Pointwise mean and standard deviation of @p samples. */
      void
      mean_and_deviation(const std::vector<Vector<double>> &samples, Vector<double> &mean, Vector<double> &deviation)
      {
        mean.reinit(samples[0].size());
        deviation.reinit(samples[0].size());
        for (const auto &s : samples)
          mean.add(1. / samples.size(), s);
        for (const auto &s : samples)
          for (unsigned int i = 0; i < s.size(); ++i)
            deviation[i] += std::pow(s[i] - mean[i], 2) / (samples.size() - 1);
        for (double &d : deviation)
          d = std::sqrt(d);
      }


      /**
       * The pointwise mean of log u over @p samples, each clamped at 1% of
       * the truth's smallest value (a sample of a positive field may dip
       * below zero); empty unless @p truth is positive everywhere.
       */
      Vector<double>
      mean_of_logarithm(const std::vector<Vector<double>> &samples, const Vector<double> &truth)
      {
        const double smallest = *std::min_element(truth.begin(), truth.end());
        if (!(smallest > 0))
          return {};
        Vector<double> result(truth.size());
        for (const auto &s : samples)
          for (unsigned int i = 0; i < s.size(); ++i)
            result[i] += std::log(std::max(s[i], 0.01 * smallest)) / samples.size();
        return result;
      }


      /** ", proximal steps with n L-BFGS iterations below sigma s" when DPS has them, else "". */
      std::string
      proximal_steps_summary(const DpsSettings &dps)
      {
        if (!(dps.proximal_below > 0))
          return "";
        std::ostringstream text;
        text << ", proximal steps with " << dps.proximal_iterations << " L-BFGS iterations below sigma "
             << dps.proximal_below;
        return text.str();
      }


      /**
       * The domain integrals of a truth's result: relative L2 error (also of
       * the constant @p data_mean, the guess without observations), the
       * fraction covered by mean +- z std, the misclassified fraction.
       */
      template <int dim>
      void
      integrate_errors(const FunctionSpace<dim> &space,
                       const Vector<double> &    truth,
                       const Vector<double> &    mean,
                       const Vector<double> &    deviation,
                       const Vector<double> &    log_mean,
                       const double              data_mean,
                       const PosteriorSettings & settings,
                       TruthResult &             result)
      {
        const double z = boost::math::quantile(boost::math::normal(), 0.5 + 0.5 * settings.credible_level);
        FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                                update_values | update_JxW_values);
        const unsigned int  n_q = space.get_quadrature().size();
        const bool          positive = log_mean.size() > 0;
        std::vector<double> t(n_q), m(n_q), d(n_q), l(n_q);
        double              error = 0, prior = 0, norm = 0, covered = 0, wrong = 0, volume = 0;
        double              log_error = 0, log_norm = 0;
        for (const auto &cell : space.get_dof_handler().active_cell_iterators())
          {
            fe_values.reinit(cell);
            fe_values.get_function_values(truth, t);
            fe_values.get_function_values(mean, m);
            fe_values.get_function_values(deviation, d);
            if (positive)
              fe_values.get_function_values(log_mean, l);
            for (unsigned int q = 0; q < n_q; ++q)
              {
                const double w = fe_values.JxW(q);
                if (positive)
                  {
                    log_error += w * std::pow(l[q] - std::log(t[q]), 2);
                    log_norm += w * std::pow(std::log(t[q]), 2);
                  }
                error += w * std::pow(m[q] - t[q], 2);
                prior += w * std::pow(data_mean - t[q], 2);
                norm += w * t[q] * t[q];
                covered += w * (std::abs(m[q] - t[q]) <= z * d[q]);
                wrong += w * ((m[q] > settings.threshold) != (t[q] > settings.threshold));
                volume += w;
              }
          }
        result.relative_error = std::sqrt(error / norm);
        result.log_error      = positive ? std::sqrt(log_error / log_norm) : 0.;
        result.prior_error    = std::sqrt(prior / norm);
        result.coverage       = covered / volume;
        result.misclassified  = settings.classify ? wrong / volume : 0.;
      }


      /** Truth, posterior mean, deviation and the first samples of one truth as VTU. */
      template <int dim>
      void
      write_truth_vtu(const FunctionSpace<dim> &         space,
                      const Vector<double> &             truth,
                      const Vector<double> &             mean,
                      const Vector<double> &             deviation,
                      const std::vector<Vector<double>> &samples,
                      const std::string &                file_name)
      {
        std::vector<std::string> names = {"truth", "posterior_mean", "posterior_std"};
        std::vector<const Vector<double> *> sources = {&truth, &mean, &deviation};
        for (unsigned int s = 0; s < std::min<std::size_t>(4, samples.size()); ++s)
          {
            names.push_back("sample_" + std::to_string(s));
            sources.push_back(&samples[s]);
          }
        std::vector<VectorType> vectors(names.size(), space.create_vector());
        std::vector<std::pair<std::string, const VectorType *>> fields;
        for (unsigned int k = 0; k < names.size(); ++k)
          {
            std::copy(sources[k]->begin(), sources[k]->end(), vectors[k].begin());
            fields.emplace_back(names[k], &vectors[k]);
          }
        write_vtu(space, fields, file_name, /*this_rank_writes=*/true); // the rank of the truth
      }


      /**
       * truth_<index>.png: truth, posterior mean, standard deviation and two
       * samples drawn as filled functions (the data as truth_<index>.dat
       * and the gnuplot script beside). Returns false without gnuplot.
       */
      template <int dim>
      bool
      plot_truth(const FieldGrid<dim> &             grid,
                 const Vector<double> &             truth,
                 const Vector<double> &             mean,
                 const Vector<double> &             deviation,
                 const std::vector<Vector<double>> &samples,
                 const std::string &                directory,
                 const std::string &                name)
      {
        grid.write(directory + "/" + name + ".dat", {{"truth", truth.data()},
                                                     {"posterior mean", mean.data()},
                                                     {"posterior std", deviation.data()},
                                                     {"sample 0", samples[0].data()},
                                                     {"sample 1", samples[1].data()}});
        const auto   range = std::minmax_element(truth.begin(), truth.end());
        const double top   = *std::max_element(deviation.begin(), deviation.end());
        std::ofstream script(directory + "/" + name + ".gp");
        script << "set terminal pngcairo size 1500,330 noenhanced\nset output '" << name
               << ".png'\nset size ratio -1\nunset key\nunset xtics\nunset ytics\n"
               << "set multiplot layout 1,5\n";
        const char *titles[] = {"truth", "posterior mean", "posterior std", "sample 0", "sample 1"};
        for (unsigned int c = 0; c < 5; ++c)
          {
            if (c == 2)
              script << "set palette defined (0 '#ffffff', 1 '#3f007d')\nset cbrange [0:" << std::max(top, 1e-300)
                     << "]\n";
            else
              script << "set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')\nset cbrange ["
                     << *range.first << ':' << std::max(*range.second, *range.first + 1e-300) << "]\n";
            script << "set title '" << titles[c] << grid.slice_title() << "'\nplot '" << name
                   << ".dat' using 1:2:" << 3 + c << " with image\n";
          }
        script << "unset multiplot\n";
        script.close();
        const std::string command = "cd '" + directory + "' && gnuplot " + name + ".gp > /dev/null 2>&1";
        return std::system("command -v gnuplot > /dev/null 2>&1") == 0 && std::system(command.c_str()) == 0;
      }


      /** The table of the results, one line per truth and the average. */
      std::string
      results_table(const std::vector<TruthResult> &results, const PosteriorSettings &settings)
      {
        std::ostringstream out;
        out << std::setw(6) << "truth" << std::setw(12) << "rel L2" << std::setw(12) << "log L2" << std::setw(12) << "prior L2" << std::setw(12) << "misfit(m)" << std::setw(12)
            << "misfit(s)" << std::setw(10) << "cover" << (settings.classify ? "  misclassified   miscl(s)" : "")
            << std::setw(10) << "solves" << std::setw(10) << "network" << std::setw(10) << "s/sample" << '\n';
        TruthResult average;
        const auto  line = [&](const std::string &label, const TruthResult &r) {
          out << std::setw(6) << label << std::fixed << std::setprecision(4) << std::setw(12) << r.relative_error
              << std::setw(12) << r.log_error << std::setw(12) << r.prior_error << std::setw(12) << r.mean_misfit << std::setw(12) << r.sample_misfit << std::setw(10) << r.coverage;
          if (settings.classify)
            out << std::setw(14) << std::setprecision(2) << 100 * r.misclassified << '%' << std::setw(10)
                << 100 * r.sample_misclassified << '%';
          out << std::setprecision(0) << std::setw(10) << r.solves << std::setw(10) << r.network
              << std::setprecision(2) << std::setw(10) << r.seconds << '\n';
        };
        for (unsigned int k = 0; k < results.size(); ++k)
          {
            line(std::to_string(settings.first_truth + k), results[k]);
            const double w = 1. / results.size();
            average.relative_error += w * results[k].relative_error;
            average.log_error += w * results[k].log_error;
            average.prior_error += w * results[k].prior_error;
            average.mean_misfit += w * results[k].mean_misfit;
            average.sample_misfit += w * results[k].sample_misfit;
            average.coverage += w * results[k].coverage;
            average.misclassified += w * results[k].misclassified;
            average.sample_misclassified += w * results[k].sample_misclassified;
            average.solves += w * results[k].solves;
            average.network += w * results[k].network;
            average.seconds += w * results[k].seconds;
          }
        line("mean", average);
        return out.str();
      }


      /**
       * Draws the posterior samples of one truth: (likelihood, index of the
       * first sample, report) to the samples, in the units of the truths.
       */
      using PosteriorDraw = std::function<std::vector<Vector<double>>(const ApplicationLikelihood &,
                                                                      const unsigned int,
                                                                      PosteriorReport *)>;


      /** The prior of subsection `Posterior`: the trained model, or the Gaussian baseline. */
      template <int dim>
      struct PosteriorPrior
      {
        std::unique_ptr<GenerativePrior<dim>>    trained;
        std::unique_ptr<CovarianceOperator<dim>> covariance;
        std::unique_ptr<GaussianPrior<dim>>      gaussian;
        std::string                              description;
        PosteriorDraw                            draw;
        /** The noise of the sampler's states (data units), a typical field's value and its scale against the noise. */
        const CovarianceOperator<dim> *state_noise     = nullptr;
        double                         reference_value = 0;
        double                         field_scale     = 1;
      };


      /** Builds the prior selected by `Prior` on @p space. */
      template <int dim>
      PosteriorPrior<dim>
      make_posterior_prior(ParameterHandler &        prm,
                           const FunctionSpace<dim> &space,
                           const PosteriorSettings & settings,
                           const Sampler<dim> &      sampler)
      {
        PosteriorPrior<dim> prior;
        const auto          run = [&settings, &sampler](const auto &p) {
          return [&settings, &sampler, &p](const ApplicationLikelihood &likelihood, const unsigned int first,
                                           PosteriorReport *report) {
            return p.sample_posterior(likelihood, sampler, settings.guidance, settings.n_samples, settings.seed,
                                      first, report);
          };
        };
        if (settings.gaussian)
          {
            prm.enter_subsection("Posterior");
            prm.enter_subsection("Gaussian prior");
            prior.covariance = CovarianceRegistry<dim>::instance().create_and_parse(prm, "Model");
            prior.description = "Gaussian prior: mean " + std::to_string(settings.gaussian_mean) + ", covariance " +
                                prm.get("Model") + (settings.exponential ? ", compared as exp(u)" : "");
            prm.leave_subsection();
            prm.leave_subsection();
            prior.covariance->initialize(space);
            prior.gaussian = std::make_unique<GaussianPrior<dim>>(space, *prior.covariance, settings.gaussian_mean);
            prior.draw     = run(*prior.gaussian);
            prior.state_noise     = prior.covariance.get();
            prior.reference_value = settings.gaussian_mean;
            return prior;
          }
        prm.enter_subsection("Sampling");
        const std::string  model   = prm.get("Checkpoint");
        const unsigned int n_modes = prm.get_integer("Number of modes");
        const std::string  cache   = prm.get("Eigenbasis cache");
        prm.leave_subsection();
        const std::vector<std::string> checkpoints = Utilities::split_string_list(model, ',');
        AssertThrow(!checkpoints.empty(), ExcMessage("Sampling: 'Checkpoint' names no model."));
        MeshBuilder<dim> builder;
        builder.parse_parameters(prm);
        prior.trained =
          std::make_unique<GenerativePrior<dim>>(checkpoints, space.get_dof_handler(), builder.periodic_boundaries(),
                                                 n_modes, cache);
        prior.description = "Prior <" + model + ">";
        prior.draw        = run(*prior.trained);
        AssertThrow(prior.trained->model_space().n_dofs() == space.n_dofs(),
                    ExcMessage("Posterior: the model's element differs from `Finite element` of the file; "
                               "use the degree the model was trained with."));
        // The noise in data units: the state carries sigma_data xi, xi ~ N(0, C) (sigma_data = scale sigma).
        prior.state_noise     = &prior.trained->model().noise();
        prior.reference_value = prior.trained->model().record().normalization.mean;
        prior.field_scale     = prior.trained->model().record().normalization.scale;
        return prior;
      }


      /** exp of every entry, for a prior on log u. */
      void
      exponentiate(std::vector<Vector<double>> &fields)
      {
        for (auto &f : fields)
          for (double &v : f)
            v = std::exp(v);
      }


      /** The domain fraction where @p field and @p truth fall on different sides of @p threshold. */
      template <int dim>
      double
      misclassified_fraction(const FunctionSpace<dim> &space,
                             const Vector<double> &    truth,
                             const Vector<double> &    field,
                             const double              threshold)
      {
        FEValues<dim> fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                                update_values | update_JxW_values);
        std::vector<double> t(space.get_quadrature().size()), f(t.size());
        double              wrong = 0, volume = 0;
        for (const auto &cell : space.get_dof_handler().active_cell_iterators())
          {
            fe_values.reinit(cell);
            fe_values.get_function_values(truth, t);
            fe_values.get_function_values(field, f);
            for (unsigned int q = 0; q < t.size(); ++q)
              {
                wrong += fe_values.JxW(q) * ((f[q] > threshold) != (t[q] > threshold));
                volume += fe_values.JxW(q);
              }
          }
        return wrong / volume;
      }


      /** Mean, deviation, errors and misfits of one truth's posterior @p samples. */
      template <int dim>
      void
      judge_samples(const FunctionSpace<dim> &         space,
                    Likelihood<dim> &                  likelihood,
                    const Vector<double> &             truth,
                    const std::vector<Vector<double>> &samples,
                    const std::vector<Vector<double>> &likelihood_fields,
                    const double                       data_mean,
                    const PosteriorSettings &          settings,
                    Vector<double> &                   mean,
                    Vector<double> &                   deviation,
                    TruthResult &                      result)
      {
        mean_and_deviation(samples, mean, deviation);
        integrate_errors(space, truth, mean, deviation, mean_of_logarithm(samples, truth), data_mean, settings,
                         result);
        Vector<double> likelihood_mean, unused;
        mean_and_deviation(likelihood_fields, likelihood_mean, unused);
        result.mean_misfit = likelihood.normalized_misfit(likelihood_mean);
        for (const auto &s : likelihood_fields)
          result.sample_misfit += likelihood.normalized_misfit(s) / likelihood_fields.size();
        if (settings.classify)
          for (const auto &s : samples)
            result.sample_misclassified +=
              misclassified_fraction(space, truth, s, settings.threshold) / samples.size();
      }


      /**
       * Collects every rank's @p results (in the order of the ranks, which
       * hold consecutive truths) on rank 0 and prints the progress lines of
       * the other ranks there. Returns whether this is rank 0.
       */
      bool
      gather_results(const MPI_Comm comm, std::vector<TruthResult> &results, const std::string &lines,
                     ConditionalOStream &pcout)
      {
        constexpr unsigned int n_entries = sizeof(TruthResult) / sizeof(double);
        static_assert(sizeof(TruthResult) == n_entries * sizeof(double) &&
                        std::is_trivially_copyable<TruthResult>::value,
                      "TruthResult holds doubles only");
        std::vector<double> local(results.size() * n_entries);
        std::memcpy(local.data(), results.data(), local.size() * sizeof(double));
        const auto all_results = Utilities::MPI::gather(comm, local, 0);
        const auto all_lines   = Utilities::MPI::gather(comm, lines, 0);
        if (Utilities::MPI::this_mpi_process(comm) != 0)
          return false;
        results.clear();
        for (unsigned int r = 0; r < all_results.size(); ++r)
          {
            if (r > 0)
              pcout << all_lines[r];
            for (std::size_t i = 0; i < all_results[r].size(); i += n_entries)
              {
                TruthResult result;
                std::memcpy(static_cast<void *>(&result), all_results[r].data() + i, sizeof(TruthResult));
                results.push_back(result);
              }
          }
        return true;
      }
    } // namespace


    template <int dim>
    void
    run_posterior(const std::string &prm_text, const std::string &source_name)
    {
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      // Every rank holds the whole mesh and solves its likelihood serially;
      // the truths are shared out (truth k is the same whatever the number
      // of ranks: its observations and samples are seeded by its index).
      const MPI_Comm     comm    = MPI_COMM_WORLD;
      const unsigned int rank    = Utilities::MPI::this_mpi_process(comm);
      const unsigned int n_ranks = Utilities::MPI::n_mpi_processes(comm);

      prm.enter_subsection("Posterior");
      PosteriorSettings       settings     = read_posterior_settings(prm);
      auto                    sampler      = SamplerRegistry<dim>::instance().create_and_parse(prm, "Sampler");
      auto                    likelihood   = LikelihoodRegistry<dim>::instance().create_and_parse(prm, "Likelihood");
      const std::string       sampler_name = prm.get("Sampler");
      prm.leave_subsection();

      const std::unique_ptr<FunctionSpace<dim>> space = context.build_space();
      PosteriorPrior<dim>                       prior;
      {
        TimerOutput::Scope scope(timer, "set up the prior on the mesh");
        prior = make_posterior_prior<dim>(prm, *space, settings, *sampler);
      }
      {
        TimerOutput::Scope scope(timer, "set up the likelihood");
        likelihood->initialize(*space);
        Vector<double> reference(space->n_dofs());
        reference = prior.reference_value;
        const bool at_estimate = settings.guidance.point == GuidanceSettings::Point::denoised_estimate;
        likelihood->set_state_noise(*prior.state_noise, reference, at_estimate ? prior.field_scale : 0.);
        // DPS guidance stops at the likelihood's noise level: -log L = m/2 for residuals of that size.
        settings.guidance.dps.misfit_floor = 0.5 * likelihood->n_observations();
      }
      const FunctionDatasetReader truths(settings.truth_file);
      truths.check_compatible(*space);
      const unsigned int n_rows = truths.info().n_samples;
      AssertThrow(settings.first_truth + settings.n_truths <= n_rows,
                  ExcMessage("Posterior: truths " + std::to_string(settings.first_truth) + " to " +
                             std::to_string(settings.first_truth + settings.n_truths - 1) + " requested, <" +
                             settings.truth_file + "> holds " + std::to_string(n_rows) + "."));
      std::vector<double> rows;
      truths.read(0, n_rows, rows);
      const double data_mean = compute_normalization(*space, rows, n_rows).mean;
      if (settings.guidance.method == GuidanceSettings::Method::proximal)
        pcout << space->summary() << prior.description << ", sampled with the proximal sampler ("
              << settings.guidance.proximal.n_levels << " levels, " << settings.guidance.proximal.n_iterations
              << " L-BFGS iterations per level)\nLikelihood: " << likelihood->summary() << '\n';
      else if (settings.guidance.method == GuidanceSettings::Method::dps)
        pcout << space->summary() << prior.description << ", sampled with DPS (" << settings.guidance.dps.n_steps
              << " steps, misfit reduction " << settings.guidance.dps.misfit_reduction << " per step"
              << proximal_steps_summary(settings.guidance.dps) << ")\nLikelihood: " << likelihood->summary() << '\n';
      else
        pcout << space->summary() << prior.description << ", sampled with " << sampler_name
              << ", likelihood at the "
              << (settings.guidance.point == GuidanceSettings::Point::noisy_state ? "noisy state" : "denoised estimate")
              << " (scale " << settings.guidance.scale << ")\nLikelihood: " << likelihood->summary() << '\n';

      if (rank == 0)
        std::filesystem::create_directories(settings.output_directory);
      MPI_Barrier(comm);
      std::vector<TruthResult>        results;
      std::string                     lines; // this rank's progress lines
      std::unique_ptr<FieldGrid<dim>> grid;
      const unsigned int              first = rank * settings.n_truths / n_ranks;
      const unsigned int              last  = (rank + 1) * settings.n_truths / n_ranks;
      for (unsigned int k = first; k < last; ++k)
        {
          const unsigned int index = settings.first_truth + k;
          const Vector<double> truth(rows.begin() + std::size_t(index) * space->n_dofs(),
                                     rows.begin() + std::size_t(index + 1) * space->n_dofs());
          // The likelihood observes the truth in its own variable (log u for a prior on log u).
          Vector<double> observed = truth;
          if (settings.exponential)
            for (double &v : observed)
              v = std::log(v);
          likelihood->observe(observed, hashing::combine(settings.seed, index));
          const unsigned int          solves_before = likelihood->n_solves();
          const ApplicationLikelihood callback = [&](const Vector<double> &u, const double sigma, Vector<double> &g) {
            return likelihood->log_likelihood(u, sigma, g);
          };
          PosteriorReport             report;
          std::vector<Vector<double>> samples;
          const auto                  start = std::chrono::steady_clock::now();
          {
            TimerOutput::Scope scope(timer, "posterior samples");
            samples = prior.draw(callback, index * settings.n_samples, &report);
          }
          TruthResult result;
          result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                           settings.n_samples;
          result.solves  = double(likelihood->n_solves() - solves_before) / settings.n_samples;
          result.network = report.prior_evaluations_per_sample();
          TimerOutput::Scope                scope(timer, "statistics and output");
          const std::vector<Vector<double>> likelihood_fields = samples;
          if (settings.exponential)
            exponentiate(samples);
          Vector<double> mean, deviation;
          judge_samples(*space, *likelihood, truth, samples, likelihood_fields, data_mean, settings, mean, deviation,
                        result);
          results.push_back(result);
          std::ostringstream line;
          line << "truth " << index << ": relative L2 error " << result.relative_error << " (of log: "
               << result.log_error << "), misfit " << result.mean_misfit << " (mean) " << result.sample_misfit
               << " (samples), coverage " << result.coverage
               << (settings.classify ? ", misclassified " + std::to_string(100 * result.misclassified) +
                                         "% (mean), " + std::to_string(100 * result.sample_misclassified) +
                                         "% (samples)" :
                                       "")
               << ", " << report.summary() << '\n';
          pcout << line.str();
          lines += line.str();
          if (k < settings.n_vtu)
            {
              const std::string name = "truth_" + std::to_string(index);
              write_truth_vtu(*space, truth, mean, deviation, samples, settings.output_directory + "/" + name + ".vtu");
              if (!grid)
                grid = std::make_unique<FieldGrid<dim>>(*space);
              if (!plot_truth(*grid, truth, mean, deviation, samples, settings.output_directory, name))
                pcout << "(gnuplot not found or failed: no " << name << ".png)\n";
            }
        }
      const unsigned int n_solves = Utilities::MPI::sum(likelihood->n_solves(), comm);
      if (!gather_results(comm, results, lines, pcout))
        return;
      const std::string table = results_table(results, settings);
      std::ofstream(settings.output_directory + "/posterior.txt")
        << "# ddo posterior " << source_name << "\n# " << prior.description << "\n# likelihood: "
        << likelihood->summary() << "\n# " << settings.n_samples
        << " samples per truth; rel L2: posterior mean against the truth; log L2: the mean of log u against "
        << "log truth; prior L2: the truths' mean value against the truth; misfit: normalized data misfit of "
        << "the mean (m) and of the samples (s); cover: domain fraction where the truth lies in the "
        << settings.credible_level << " credible interval mean +- z std"
        << (settings.classify ? "; misclassified: domain fraction where the mean and the truth fall on different "
                                "sides of the threshold; miscl(s): the same for each sample, averaged" :
                                "")
        << "\n"
        << table;
      pcout << '\n'
            << table << "PDE solves: " << n_solves << (n_ranks > 1 ? " on " + std::to_string(n_ranks) + " ranks" : "")
            << "\nwrote: " << settings.output_directory << "/posterior.txt\n";
    }

    template void run_posterior<2>(const std::string &, const std::string &);
    template void run_posterior<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
