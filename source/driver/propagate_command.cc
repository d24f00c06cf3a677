// `ddo propagate file.prm`: forward uncertainty propagation. The selected
// quantity of interest (a plugin, e.g. the Darcy outflow through part of
// the boundary) is evaluated on every field of the prior samples (the
// output of `ddo sample`), of the test data, and of a Gaussian baseline with
// the training data's mean and covariance; the three distributions of the
// quantity are compared (KS and Wasserstein-1 distances against the
// test-vs-test floor, ddo::compare_quantity_distributions). Output: the
// table, the values, and a histogram and distribution-function plot.

#include <ddo/dataset/function_dataset.h>
#include <ddo/metrics/metrics_report.h>
#include <ddo/metrics/quantity_comparison.h>
#include <ddo/quantity/interface.h>

#include "commands.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ddo
{
  namespace driver
  {
    namespace
    {
      /** The entries of subsection `Propagation` besides the plugin. */
      struct PropagationSettings
      {
        std::string  samples_file;
        std::string  reference_file;
        std::string  baseline_file; // empty: no Gaussian baseline
        unsigned int n_fields;      // per set; 0: all
        unsigned int n_splits;
        unsigned int seed;
        std::string  output_directory;
      };


      PropagationSettings
      read_propagation_settings(ParameterHandler &prm)
      {
        PropagationSettings settings;
        prm.enter_subsection("Data");
        const std::string training_file = prm.get("File");
        prm.leave_subsection();
        prm.enter_subsection("Propagation");
        settings.samples_file     = prm.get("Samples file");
        settings.reference_file   = prm.get("Reference file");
        settings.baseline_file    = prm.get_bool("Gaussian baseline") ? training_file : "";
        settings.n_fields         = prm.get_integer("Number of fields");
        settings.n_splits         = prm.get_integer("Number of splits");
        settings.seed             = prm.get_integer("Seed");
        settings.output_directory = prm.get("Output directory");
        prm.leave_subsection();
        return settings;
      }


      /** The first @p n_fields (0: all) rows of the data set @p file_name, checked against @p space. */
      template <int dim>
      std::vector<double>
      read_rows(const FunctionSpace<dim> &space, const std::string &file_name, const unsigned int n_fields)
      {
        const FunctionDatasetReader reader(file_name);
        reader.check_compatible(space);
        const unsigned int available = reader.info().n_samples;
        const unsigned int count     = n_fields == 0 ? available : std::min(n_fields, available);
        std::vector<double> rows;
        reader.read(0, count, rows);
        return rows;
      }


      /**
       * The quantity of every row of @p rows, on rank 0 of @p comm in the
       * order of the rows: each rank evaluates a contiguous share (with a
       * progress line every tenth of rank 0's share); empty on the other ranks.
       */
      template <int dim>
      std::vector<double>
      evaluate_rows(QuantityOfInterest<dim> & quantity,
                    const std::vector<double> &rows,
                    const std::size_t          n_dofs,
                    const std::string &        name,
                    const MPI_Comm             comm,
                    ConditionalOStream &       pcout)
      {
        const std::size_t   n       = rows.size() / n_dofs;
        const std::size_t   n_ranks = Utilities::MPI::n_mpi_processes(comm);
        const std::size_t   rank    = Utilities::MPI::this_mpi_process(comm);
        const std::size_t   first = rank * n / n_ranks, last = (rank + 1) * n / n_ranks;
        std::vector<double> values;
        const auto          start = std::chrono::steady_clock::now();
        for (std::size_t i = first; i < last; ++i)
          {
            const Vector<double> field(rows.begin() + i * n_dofs, rows.begin() + (i + 1) * n_dofs);
            values.push_back(quantity.evaluate(field));
            AssertThrow(std::isfinite(values.back()),
                        ExcMessage("propagate: the quantity of field " + std::to_string(i) + " of " + name +
                                   " is not finite."));
            const std::size_t done = i + 1 - first;
            if (done % std::max<std::size_t>((last - first) / 10, 1) == 0 || i + 1 == last)
              pcout << "  " << name << ": " << done << " of " << last - first << " fields"
                    << (n_ranks > 1 ? " (rank 0's share of " + std::to_string(n) + ")" : "") << ", "
                    << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s\n";
          }
        std::vector<double> all;
        for (const auto &part : Utilities::MPI::gather(comm, values, 0))
          all.insert(all.end(), part.begin(), part.end());
        return all;
      }


      /**
       * quantity.dat (one block per set) and quantity.png: histograms and
       * empirical distribution functions of every set. Returns false without
       * gnuplot.
       */
      bool
      plot_quantity(const std::vector<std::pair<std::string, std::vector<double>>> &sets,
                    const std::string &                                             label,
                    const std::string &                                             directory)
      {
        std::ofstream data(directory + "/quantity.dat");
        data << "# " << label << ": one block per set (gnuplot index), sorted values\n";
        for (const auto &set : sets)
          {
            std::vector<double> sorted = set.second;
            std::sort(sorted.begin(), sorted.end());
            data << "# " << set.first << '\n';
            for (const double v : sorted)
              data << v << '\n';
            data << "\n\n";
          }
        data.close();
        double low = HUGE_VAL, high = -HUGE_VAL;
        for (const auto &set : sets)
          for (const double v : set.second)
            low = std::min(low, v), high = std::max(high, v);
        const double  width = std::max(high - low, 1e-300) / 30;
        std::ofstream script(directory + "/quantity.gp");
        script << "set terminal pngcairo size 1300,450 noenhanced\nset output 'quantity.png'\n"
               << "set multiplot layout 1,2\nset key top left\nset xlabel '" << label << "'\n"
               << "bin(x) = " << width << " * floor((x - " << low << ") / " << width << ") + " << low + width / 2
               << "\nset ylabel 'probability density'\nset style fill transparent solid 0.35 noborder\nplot ";
        const char *colors[] = {"#222222", "#b2182b", "#2166ac", "#4dac26", "#d01c8b"};
        for (std::size_t s = 0; s < sets.size(); ++s)
          script << (s ? ", " : "") << "'quantity.dat' index " << s << " using (bin($1)):(1. / ("
                 << sets[s].second.size() << " * " << width << ")) smooth frequency with boxes lc rgb '"
                 << colors[s % 5] << "' title '" << sets[s].first << "'";
        script << "\nset ylabel 'empirical distribution function'\nset yrange [0:1]\nplot ";
        for (std::size_t s = 0; s < sets.size(); ++s)
          script << (s ? ", " : "") << "'quantity.dat' index " << s << " using 1:(1. / " << sets[s].second.size()
                 << ") smooth cumulative with steps lw 2 lc rgb '" << colors[s % 5] << "' title '" << sets[s].first
                 << "'";
        script << "\nunset multiplot\n";
        script.close();
        const std::string command = "cd '" + directory + "' && gnuplot quantity.gp > /dev/null 2>&1";
        return std::system("command -v gnuplot > /dev/null 2>&1") == 0 && std::system(command.c_str()) == 0;
      }
    } // namespace


    template <int dim>
    void
    run_propagate(const std::string &prm_text, const std::string &source_name)
    {
      CommandContext<dim> context(prm_text, source_name);
      ParameterHandler &  prm   = context.prm;
      ConditionalOStream &pcout = context.pcout;
      TimerOutput &       timer = context.timer;
      // Every rank holds the whole mesh; the fields are shared out and the
      // quantities collected on rank 0, which compares and writes.
      const MPI_Comm comm = MPI_COMM_WORLD;
      const PropagationSettings settings = read_propagation_settings(prm);
      prm.enter_subsection("Propagation");
      auto              quantity = QuantityRegistry<dim>::instance().create_and_parse(prm, "Quantity");
      const std::string name     = prm.get("Quantity");
      prm.leave_subsection();

      const std::unique_ptr<FunctionSpace<dim>> space = context.build_space();
      {
        TimerOutput::Scope scope(timer, "set up the quantity");
        quantity->initialize(*space);
      }
      pcout << space->summary() << "Quantity " << name << ": " << quantity->summary() << '\n';

      std::vector<std::pair<std::string, std::vector<double>>> rows;
      {
        TimerOutput::Scope scope(timer, "read the fields");
        rows.emplace_back("samples", read_rows(*space, settings.samples_file, settings.n_fields));
        rows.emplace_back("test data", read_rows(*space, settings.reference_file, settings.n_fields));
        if (!settings.baseline_file.empty())
          {
            const std::vector<double> training = read_rows(*space, settings.baseline_file, 0);
            rows.emplace_back("Gaussian baseline",
                              gaussian_draws_like(training, training.size() / space->n_dofs(), space->n_dofs(),
                                                  rows[0].second.size() / space->n_dofs(), settings.seed));
          }
      }
      std::vector<std::pair<std::string, std::vector<double>>> values;
      {
        TimerOutput::Scope scope(timer, "evaluate the quantity");
        for (const auto &set : rows)
          values.emplace_back(set.first,
                              evaluate_rows(*quantity, set.second, space->n_dofs(), set.first, comm, pcout));
      }
      const unsigned int n_solves = Utilities::MPI::sum(quantity->n_solves(), comm);
      if (Utilities::MPI::this_mpi_process(comm) != 0)
        return;
      std::vector<std::pair<std::string, std::vector<double>>> candidates = {values[0]};
      if (values.size() > 2)
        candidates.push_back(values[2]);
      const QuantityComparison comparison =
        compare_quantity_distributions(values[1].second, candidates, settings.n_splits, settings.seed);

      TimerOutput::Scope scope(timer, "output");
      std::filesystem::create_directories(settings.output_directory);
      std::ofstream(settings.output_directory + "/propagation.txt")
        << "# ddo propagate " << source_name << "\n# quantity " << name << ": " << quantity->summary()
        << "\n# samples <" << settings.samples_file << ">, reference <" << settings.reference_file << ">"
        << (settings.baseline_file.empty() ? "" : ", Gaussian baseline with the mean and covariance of <" +
                                                    settings.baseline_file + ">")
        << "\n# KS, W1: distances of each set's first " << comparison.half_size
        << " values from test half B, mean over " << comparison.n_splits
        << " splits; /floor: their range over the splits divided by half A's; p(KS): two-sample KS test of the "
        << "whole set against the whole test set\n"
        << comparison.table();
      pcout << '\n' << comparison.table() << "PDE solves: " << n_solves << '\n';
      if (!plot_quantity(values, name, settings.output_directory))
        pcout << "(gnuplot not found or failed: no quantity.png)\n";
      pcout << "wrote: " << settings.output_directory << "/propagation.txt\n";
    }

    template void run_propagate<2>(const std::string &, const std::string &);
    template void run_propagate<3>(const std::string &, const std::string &);
  } // namespace driver
} // namespace ddo
