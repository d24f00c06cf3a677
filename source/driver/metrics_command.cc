// `ddo metrics file.prm`: generated samples against a reference (test) set on
// the mesh of the samples, with the test-vs-test floor and a Gaussian
// baseline; a Markdown table on screen and in a file, data files, PNG plots
// (gnuplot) and the mean and variance fields as VTU.

#include <deal.II/base/conditional_ostream.h>
#include <deal.II/base/timer.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/grid_tools_cache.h>

#include <ddo/dataset/function_dataset.h>
#include <ddo/function_space/function_transfer.h>
#include <ddo/metrics/fourier_metrics.h>
#include <ddo/metrics/metrics_report.h>
#include <ddo/metrics/spectral_bands.h>
#include <ddo/base/output.h>
#include <ddo/mesh/space_description.h>

#include "commands.h"
#include "field_grid.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iomanip>
#include <memory>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      /**
       * A progress callback for long work through a set of functions: a line
       * "<what>: done of total functions, time, time left" at most every
       * 10 s and at the end of the set.
       */
      std::function<void(unsigned int, unsigned int)>
      progress_printer(ConditionalOStream &out, const std::string &what)
      {
        auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
        auto last  = std::make_shared<double>(0.);
        return [&out, what, start, last](const unsigned int done, const unsigned int total) {
          if (done == 0)
            {
              *start = std::chrono::steady_clock::now();
              *last  = 0;
            }
          const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
          if (done == 0 || (elapsed - *last < 10 && done < total))
            return;
          *last = elapsed;
          if (total > 1)
            out << "  " << what << ": " << done << " of " << total << " functions, " << std::fixed
                << std::setprecision(1) << elapsed << " s, about " << elapsed / done * (total - done)
                << " s left" << std::defaultfloat << std::endl;
        };
      }


      /** The functions of @p file on @p space (interpolated if on another mesh). */
      template <int dim>
      std::vector<double>
      read_on_space(const std::string &file, const FunctionSpace<dim> &space, std::ostream &log)
      {
        const FunctionDatasetReader reader(file);
        const auto &                info = reader.info();
        AssertThrow(info.dimension == dim,
                    ExcMessage("The data set <" + file + "> holds " + std::to_string(info.dimension) +
                               "D functions, the metrics are computed in " + std::to_string(dim) + "D."));
        std::vector<double> values = reader.read_all();
        if (info.fingerprint == space.fingerprint())
          return values;
        const auto source = build_function_space<dim>(info.space_description, MPI_COMM_SELF, file);
        const FunctionTransfer<dim> transfer(*source, space);
        log << "  <" << file << ">: " << info.n_samples << " functions on another mesh (" << info.n_dofs
            << " DoFs), interpolated onto the mesh of the samples\n";
        return transfer.apply(values, info.n_samples);
      }


      /** The mean and variance fields of @p s as VTU fields named after @p name. */
      void
      add_mean_and_variance(const SampleStatistics &s, const std::string &name,
                            std::vector<std::unique_ptr<VectorType>> &storage,
                            std::vector<std::pair<std::string, const VectorType *>> &fields)
      {
        std::string key = name;
        for (char &c : key)
          if (!std::isalnum(static_cast<unsigned char>(c)))
            c = '_';
        storage.push_back(std::make_unique<VectorType>(s.mean));
        fields.emplace_back(key + "_mean", storage.back().get());
        storage.push_back(std::make_unique<VectorType>(s.variance));
        fields.emplace_back(key + "_variance", storage.back().get());
      }


      /** gnuplot script for the three data files; returns whether it ran. */
      bool
      plot(const std::string &directory, const std::vector<std::string> &names, const double spectrum_floor,
           const bool whole_spectrum)
      {
        std::ostringstream script;
        script << "set terminal pngcairo size 900,600 noenhanced\nset key outside right\nset grid\n";
        auto curves = [&](const std::string &file, const std::string &x) {
          std::ostringstream c;
          c << "'" << file << "' using " << x << ":" << (x == "1" ? 2 : 3)
            << " with lines lw 3 lc rgb 'black' title 'reference (test half B)'";
          for (unsigned int r = 0; r < names.size(); ++r)
            c << ", '' using " << x << ":" << (x == "1" ? 3 : 4) + r << " with " << (x == "1" ? "lines" : "linespoints")
              << " lw 2 title '"
              << names[r] << "'";
          return c.str();
        };
        script << "set output 'density.png'\nset title 'pointwise density (Gaussian KDE)'\nset xlabel 'value'\n"
               << "set logscale y\nset yrange [1e-4:*]\nplot " << curves("density.dat", "1") << '\n'
               << "set output 'spectrum.png'\nset title 'energy per band of Laplacian eigenvalues'\n"
               << "set xlabel 'sqrt(lambda) (band centre)'\nset yrange [" << spectrum_floor
               << ":*]\nplot " << curves("spectrum.dat", "2")
               << '\n'
               << "unset logscale y\nset output 'correlation.png'\nset title 'two-point correlation'\n"
               << "set xlabel 'distance'\nplot " << curves("correlation.dat", "1") << '\n'
               << "set output 'gradient_density.png'\nset title 'density of |grad u| (Gaussian KDE)'\n"
               << "set xlabel '|grad u|'\nset logscale y\nstats 'gradient_density.dat' using 2 nooutput\n"
               << "set yrange [1e-4*STATS_max:*]\nplot "
               << curves("gradient_density.dat", "1") << "\nunset logscale y\nset yrange [*:*]\n";
        if (whole_spectrum)
          {
            // Energy per band on log-log axes, and each set over the reference.
            auto band_curves = [&](const bool ratio) {
              std::ostringstream c;
              c << "'bands.dat' using 4:" << (ratio ? "($5/$5)" : "5")
                << " with linespoints lw 3 lc rgb 'black' title 'reference (test half B)'";
              for (unsigned int r = 0; r < names.size(); ++r)
                c << ", '' using 4:" << (ratio ? "($" + std::to_string(6 + r) + "/$5)" : std::to_string(6 + r))
                  << " with linespoints lw 2 title '" << names[r] << "'";
              return c.str();
            };
            script << "set output 'bands.png'\nset title 'energy per band over the whole spectrum of the mesh'\n"
                   << "set xlabel 'sqrt(lambda) (band centre)'\nset ylabel 'energy'\nset logscale xy\n"
                   << "set format y '10^{%L}'\nset terminal pngcairo size 900,600 enhanced\nplot "
                   << band_curves(false) << '\n'
                   << "set output 'band_ratios.png'\nset title 'energy per band over the reference'\n"
                   << "set ylabel 'ratio'\nset format y '%g'\nset yrange [0.1:*]\nplot " << band_curves(true)
                   << ", 0.85 dt 2 lc rgb 'gray' notitle, 1.15 dt 2 lc rgb 'gray' notitle\n";
          }
        std::string text = script.str();
        {
          std::ofstream out((std::filesystem::path(directory) / "plots.gp").string());
          out << text;
        }
        if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
          return false;
        const std::string command = "cd '" + directory + "' && gnuplot plots.gp > /dev/null 2>&1";
        return std::system(command.c_str()) == 0;
      }

      /**
       * A PNG of the first three functions of the reference and of each
       * candidate, drawn as filled functions: interpolated onto a uniform
       * grid of the bounding box (about 160 points along its longer side) in
       * 2D, and in 3D of the mid-plane of the bounding box across its
       * shortest side; points outside the mesh (holes) left blank.
       */
      template <int dim>
      bool
      plot_fields(const std::string &                                             directory,
                  const FunctionSpace<dim> &                                      space,
                  const std::vector<double> &                                     reference,
                  const std::vector<std::pair<std::string, std::vector<double>>> &candidates)
      {
        const std::size_t n_dofs = space.n_dofs();
        std::vector<std::pair<std::string, const std::vector<double> *>> sets = {{"test set", &reference}};
        for (const auto &c : candidates)
          sets.emplace_back(c.first, &c.second);
        const unsigned int n_show = 3;
        // The colour range: the 0.5 % and 99.5 % quantiles of the
        // reference's values, so that a heavy tail does not wash out the rest.
        std::vector<double> sorted(reference);
        std::sort(sorted.begin(), sorted.end());
        const double low  = sorted[std::size_t(0.005 * (sorted.size() - 1))];
        const double high = std::max(sorted[std::size_t(0.995 * (sorted.size() - 1))], low + 1e-300);

        const FieldGrid<dim>                                  grid(space);
        std::vector<std::pair<std::string, const double *>> functions;
        for (const auto &set : sets)
          for (unsigned int f = 0; f < n_show; ++f)
            functions.emplace_back(set.first + ' ' + std::to_string(f),
                                   (f + 1) * n_dofs <= set.second->size() ? set.second->data() + f * n_dofs : nullptr);
        grid.write((std::filesystem::path(directory) / "fields.dat").string(), functions);
        std::ofstream script((std::filesystem::path(directory) / "fields.gp").string());
        script << "set terminal pngcairo size " << 300 * n_show << ',' << 280 * sets.size() << " noenhanced\n"
               << "set output 'fields.png'\nset size ratio -1\nunset key\nunset xtics\nunset ytics\n"
               << "set palette defined (0 '#2166ac', 0.5 '#f7f7f7', 1 '#b2182b')\nset cbrange [" << low << ':'
               << high << "]\nunset colorbox\nset multiplot layout " << sets.size() << ',' << n_show << '\n';
        for (unsigned int s = 0; s < sets.size(); ++s)
          for (unsigned int f = 0; f < n_show; ++f)
            script << "set title '" << sets[s].first << ' ' << f << grid.slice_title() << "'\nplot 'fields.dat' using 1:2:"
                   << 3 + s * n_show + f << " with image\n";
        script << "unset multiplot\n";
        script.close();
        const std::string command = "cd '" + directory + "' && gnuplot fields.gp > /dev/null 2>&1";
        return std::system("command -v gnuplot > /dev/null 2>&1") == 0 && std::system(command.c_str()) == 0;
      }

      /** The entries of subsection `Metrics`. */
      struct MetricsCommandSettings
      {
        std::vector<std::string> files, labels;
        std::string              reference, directory, cache;
        unsigned int             n_modes, n_splits, ffm_grid;
        typename SpectralBands<2>::Settings bands;
        double                   bandwidth;
        bool                     gaussian;
        MetricSettings           settings;
      };


      /** Reads and checks subsection `Metrics` (entered). */
      MetricsCommandSettings
      read_metrics_settings(ParameterHandler &prm)
      {
        MetricsCommandSettings c;
        c.files = Utilities::split_string_list(prm.get("Samples files"));
        // Labels may contain commas when separated by semicolons.
        const std::string label_text = prm.get("Labels");
        c.labels    = Utilities::split_string_list(label_text, label_text.find(';') != std::string::npos ? ';' : ',');
        c.reference = prm.get("Reference file");
        c.directory = prm.get("Output directory");
        c.n_modes   = prm.get_integer("Number of modes");
        c.cache     = prm.get("Eigenbasis cache");
        c.bandwidth = prm.get_double("Relative bandwidth");
        c.gaussian  = prm.get_bool("Gaussian baseline");
        c.n_splits  = prm.get_integer("Number of splits");
        c.settings.n_bands               = prm.get_integer("Number of bands");
        c.settings.correlation_distances = Utilities::string_to_double(
          Utilities::split_string_list(prm.get("Correlation distances")));
        c.settings.seed = prm.get_integer("Seed");
        c.ffm_grid      = prm.get_integer("FFM grid size");
        c.bands.n_bands = prm.get_integer("Spectrum bands");
        const std::string method = prm.get("Spectrum method");
        c.bands.method  = method == "dense"     ? SpectralBands<2>::Method::dense :
                          method == "chebyshev" ? SpectralBands<2>::Method::chebyshev :
                                                  SpectralBands<2>::Method::automatic;
        c.bands.chebyshev_degree = prm.get_integer("Chebyshev degree");
        c.bands.cache_directory  = c.cache;
        AssertThrow(!c.files.empty(), ExcMessage("Metrics: 'Samples files' is empty."));
        AssertThrow(c.labels.empty() || c.labels.size() == c.files.size(),
                    ExcMessage("Metrics: give one label per samples file (or none)."));
        AssertThrow(c.bandwidth > 0, ExcMessage("Metrics: the relative bandwidth must be positive."));
        if (c.labels.empty())
          for (const auto &file : c.files)
            c.labels.push_back(std::filesystem::path(file).stem().string());
        return c;
      }


      /**
       * FFM's spectra MSE and density MSE (ddo::FourierMetrics) on a uniform
       * @p grid_size² grid: each samples set and the reference's first half
       * (the floor) against its second half, the split of the main table.
       * Writes a Markdown table (printed and appended to metrics.md), the
       * spectra as ffm_spectrum.dat and, with gnuplot, ffm_spectrum.png.
       */
      template <int dim>
      void
      report_fourier_metrics(const FunctionSpace<dim> &                                     space,
                             const unsigned int                                             grid_size,
                             const std::vector<double> &                                    reference_values,
                             const std::vector<std::pair<std::string, std::vector<double>>> &candidates,
                             const std::string &                                            directory,
                             ConditionalOStream &                                           pcout)
      {
        const FourierMetrics<dim> ffm(space, grid_size);
        const std::size_t         n_dofs  = space.n_dofs();
        const unsigned int        n_ref   = reference_values.size() / n_dofs;
        const unsigned int        n_a     = n_ref / 2;
        const auto                half    = [&](const unsigned int first, const unsigned int count) {
          return ffm.grid_values(std::vector<double>(reference_values.begin() + first * n_dofs,
                                                     reference_values.begin() + (first + count) * n_dofs),
                                 count);
        };
        const std::vector<double> reference = half(n_a, n_ref - n_a);
        const std::vector<double> reference_spectrum = ffm.spectrum(reference);
        std::vector<std::pair<std::string, std::vector<double>>> sets = {{"floor (test half A)", half(0, n_a)}};
        for (const auto &candidate : candidates)
          sets.emplace_back(candidate.first, ffm.grid_values(candidate.second, candidate.second.size() / n_dofs));

        std::vector<std::vector<double>> spectra = {reference_spectrum};
        std::vector<std::pair<double, double>> mse;
        for (const auto &set : sets)
          {
            spectra.push_back(ffm.spectrum(set.second));
            mse.emplace_back(FourierMetrics<dim>::spectra_mse(spectra.back(), reference_spectrum),
                             FourierMetrics<dim>::density_mse(set.second, reference));
          }
        std::ostringstream table;
        table << "\nFFM metrics (Functional Flow Matching's evaluation: fields on a uniform " << grid_size << "x"
              << grid_size << " grid, against test half B; absolute numbers, and over the floor):\n\n"
              << "| set | spectra MSE | density MSE | spectra / floor | density / floor |\n|---|---|---|---|---|\n";
        for (std::size_t i = 0; i < sets.size(); ++i)
          table << "| " << sets[i].first << " | " << mse[i].first << " | " << mse[i].second << " | "
                << mse[i].first / mse[0].first << " | " << mse[i].second / mse[0].second << " |\n";
        pcout << table.str();
        std::ofstream((std::filesystem::path(directory) / "metrics.md").string(), std::ios::app) << table.str();

        std::ofstream data((std::filesystem::path(directory) / "ffm_spectrum.dat").string());
        data << "m \"test half B\"";
        for (const auto &set : sets)
          data << "  \"" << set.first << "\"";
        data << '\n';
        for (unsigned int m = 0; m < reference_spectrum.size(); ++m)
          {
            data << m + 1;
            for (const auto &spectrum : spectra)
              data << ' ' << spectrum[m];
            data << '\n';
          }
        data.close();
        pcout << "wrote: " << directory << "/ffm_spectrum.dat\n";
        std::ofstream script((std::filesystem::path(directory) / "ffm_spectrum.gp").string());
        script << "set terminal pngcairo size 800,560\nset output 'ffm_spectrum.png'\nset logscale y\n"
               << "set xlabel 'shell m = |k_x| + |k_y|'\nset ylabel 'S_m (FFM)'\nset key top right\n"
               << "plot for [c=2:" << spectra.size() + 1
               << "] 'ffm_spectrum.dat' using 1:c with linespoints title columnheader(c)\n";
        script.close();
        if (std::system("command -v gnuplot > /dev/null 2>&1") == 0 &&
            std::system(("cd '" + directory + "' && gnuplot ffm_spectrum.gp > /dev/null 2>&1").c_str()) == 0)
          pcout << "wrote: " << directory << "/ffm_spectrum.png\n";
      }
    } // namespace


    template <int dim>
    void
    run_metrics(const std::string &prm_text, const std::string &source_name)
    {
      const bool          root = Utilities::MPI::this_mpi_process(MPI_COMM_WORLD) == 0;
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      prm.enter_subsection("Metrics");
      const MetricsCommandSettings command = read_metrics_settings(prm);
      prm.leave_subsection();
      const auto &       files = command.files;
      const auto &       labels = command.labels;
      const std::string &reference = command.reference;
      const std::string &directory = command.directory;
      const unsigned int n_modes = command.n_modes;
      const MetricSettings &settings = command.settings;
      if (!root)
        return;

      // The mesh of the first samples file is the mesh of the comparison.
      std::unique_ptr<FunctionSpace<dim>> space;
      {
        TimerOutput::Scope scope(timer, "read data");
        const FunctionDatasetReader first(files[0]);
        space = build_function_space<dim>(first.info().space_description, MPI_COMM_SELF, files[0]);
      }
      pcout << space->summary();
      std::vector<std::pair<std::string, std::vector<double>>> candidates;
      std::vector<double>                                      reference_values;
      {
        TimerOutput::Scope scope(timer, "read data");
        for (unsigned int i = 0; i < files.size(); ++i)
          candidates.emplace_back(labels[i], read_on_space(files[i], *space, std::cout));
        reference_values = read_on_space(reference, *space, std::cout);
      }
      std::unique_ptr<SpectralBasis<dim>> basis;
      {
        TimerOutput::Scope scope(timer, "eigenbasis");
        basis = std::make_unique<SpectralBasis<dim>>(*space, n_modes, command.cache);
      }
      std::unique_ptr<SpectralBands<dim>> bands;
      if (command.bands.n_bands > 0)
        {
          TimerOutput::Scope scope(timer, "whole-spectrum bands");
          typename SpectralBands<dim>::Settings band_settings;
          band_settings.n_bands          = command.bands.n_bands;
          band_settings.method           = static_cast<typename SpectralBands<dim>::Method>(command.bands.method);
          band_settings.chebyshev_degree = command.bands.chebyshev_degree;
          band_settings.cache_directory  = command.bands.cache_directory;
          bands = std::make_unique<SpectralBands<dim>>(*space, band_settings);
          pcout << "Energy spectrum: " << bands->summary() << '\n';
          if (bands->method() == SpectralBands<dim>::Method::chebyshev)
            bands->set_progress(progress_printer(pcout, "band energies"));
        }
      MetricsReport report;
      {
        TimerOutput::Scope scope(timer, "metrics");
        report = compare_with_reference(*space, *basis, settings, command.bandwidth, candidates, reference_values,
                                        command.gaussian, settings.seed, command.n_splits, bands.get());
      }

      TimerOutput::Scope scope(timer, "write results");
      std::filesystem::create_directories(directory);
      const std::string table = report.table();
      pcout << "\nMetrics against the reference <" << reference << "> (second half; every set has "
            << report.rows.front().n_samples << " functions, KDE bandwidth " << report.settings.bandwidth << ", "
            << settings.n_bands << " bands of " << n_modes << " modes):\n\n"
            << table << '\n';
      const std::string band_table = report.band_table();
      if (!band_table.empty())
        pcout << "Energy per band of sqrt(lambda) over the whole spectrum of the mesh, each set over the "
                 "reference (test half B):\n\n"
              << band_table << '\n';
      {
        std::ofstream out((std::filesystem::path(directory) / "metrics.md").string());
        out << table;
        if (!band_table.empty())
          out << "\nEnergy per band of sqrt(lambda) over the whole spectrum of the mesh, over the reference:\n\n"
              << band_table;
        std::ofstream kv((std::filesystem::path(directory) / "metrics.txt").string());
        kv << report.key_values();
      }
      for (const auto &file : report.write_data_files(directory))
        pcout << "wrote: " << file << '\n';
      std::vector<std::unique_ptr<VectorType>>                storage;
      std::vector<std::pair<std::string, const VectorType *>> fields;
      add_mean_and_variance(report.reference, "reference", storage, fields);
      for (const auto &row : report.rows)
        add_mean_and_variance(row.statistics, row.name, storage, fields);
      pcout << "wrote: "
            << write_vtu(*space, fields, (std::filesystem::path(directory) / "mean_and_variance.vtu").string())
            << '\n';
      std::vector<std::string> names;
      for (const auto &row : report.rows)
        names.push_back(row.name);
      // The spectrum plot starts where the spectrum MSE stops resolving
      // energies (1e-6 of the total), so that empty bands do not squash it.
      const double total_energy =
        std::accumulate(report.reference.band_energy.begin(), report.reference.band_energy.end(), 0.);
      if (plot(directory, names, 1e-6 * total_energy, !report.band_edges.empty()))
        pcout << "wrote: " << directory << "/{density,spectrum,correlation,gradient_density"
              << (report.band_edges.empty() ? "" : ",bands,band_ratios") << "}.png\n";
      if (command.ffm_grid > 0)
        {
          TimerOutput::Scope ffm_scope(timer, "FFM metrics");
          report_fourier_metrics(*space, command.ffm_grid, reference_values, candidates, directory, pcout);
        }
      if (plot_fields(directory, *space, reference_values, candidates))
        pcout << "wrote: " << directory << "/fields.png\n";
      else
        pcout << "(gnuplot not found or failed: no fields.png; the script is " << directory << "/fields.gp)\n";
    }

    template void run_metrics<2>(const std::string &, const std::string &);
    template void run_metrics<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
