#include <deal.II/base/mpi.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/distributed/tria_base.h>
#include <deal.II/numerics/fe_field_function.h>

#include <ddo/torch/model/generative_prior.h>
#include <ddo/torch/sampler/dps_posterior.h>
#include <ddo/torch/sampler/proximal_posterior.h>
#include <ddo/torch/torch_bridge.h>

#include <chrono>
#include <limits>
#include <sstream>

namespace ddo
{
  double
  PosteriorReport::likelihood_evaluations_per_sample() const
  {
    return sampler.n_samples > 0 ? static_cast<double>(counts.likelihood_evaluations) / sampler.n_samples : 0.;
  }


  double
  PosteriorReport::prior_evaluations_per_sample() const
  {
    return sampler.n_samples > 0 ? static_cast<double>(counts.prior_evaluations) / sampler.n_samples : 0.;
  }


  std::string
  PosteriorReport::summary() const
  {
    std::ostringstream out;
    out << sampler.n_samples << " posterior samples, " << prior_evaluations_per_sample()
        << " network and " << likelihood_evaluations_per_sample() << " likelihood evaluations per sample, "
        << sampler.wall_time << " s (" << likelihood_time << " s in the likelihood)";
    return out.str();
  }


  namespace
  {
    /** The element degree recorded in a checkpoint's mesh description. */
    template <int dim>
    unsigned int
    training_degree(const ModelRecord &record, const std::string &source)
    {
      if (record.mesh_description.empty())
        return 1;
      ParameterHandler prm;
      FunctionSpace<dim>::declare_parameters(prm); // subsection "Finite element"
      try
        {
          prm.parse_input_from_string(record.mesh_description, source, /*skip_undefined=*/true);
        }
      catch (const std::exception &e)
        {
          AssertThrow(false, ExcMessage("GenerativePrior: the mesh description of <" + source +
                                        "> cannot be read: " + e.what()));
        }
      prm.enter_subsection("Finite element");
      const unsigned int degree = prm.get_integer("Degree");
      prm.leave_subsection();
      return degree;
    }
  } // namespace


  namespace internal
  {
    namespace
    {
      /**
       * The application's likelihood of one row w of @p prior's coordinates
       * at the noise level sigma of w: \f$\log L(u)\f$ of the field
       * \f$u = P(\text{mean} + \text{scale}\,w)\f$ at the level
       * scale sigma (data units), and in @p gradient its gradient with
       * respect to w, \f$\text{scale}\,P^T\nabla_u\log L\f$.
       */
      using PulledBackLikelihood =
        std::function<double(const Vector<double> &w, const double sigma, Vector<double> &gradient)>;

      template <int dim>
      PulledBackLikelihood
      pull_back(const PriorCoordinates<dim> &prior, const ApplicationLikelihood &likelihood, double &likelihood_time)
      {
        const DataNormalization           normalization  = prior.normalization;
        const SameMeshInterpolation<dim> *to_application = prior.to_application;
        const unsigned int                n_application  = prior.n_application_dofs;
        return [=, &likelihood_time](const Vector<double> &w, const double sigma, Vector<double> &gradient) {
          const auto     start = std::chrono::steady_clock::now();
          Vector<double> model_field(w.size()), u(n_application), g(n_application);
          for (unsigned int i = 0; i < w.size(); ++i)
            model_field[i] = normalization.mean + normalization.scale * w[i];
          if (to_application)
            to_application->apply(model_field, u);
          else
            u = model_field;
          const double log_l = likelihood(u, normalization.scale * sigma, g);
          if (to_application)
            to_application->apply_transpose(g, gradient);
          else
            gradient = g;
          gradient *= normalization.scale;
          likelihood_time += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          return log_l;
        };
      }


      /** The likelihood's gradient in the coordinates w of @p prior, row by row (see sample_posterior()). */
      template <int dim>
      LikelihoodGradient
      pull_back_likelihood(const PriorCoordinates<dim> &prior,
                           const ApplicationLikelihood &likelihood,
                           double &                     likelihood_time)
      {
        const PulledBackLikelihood row = pull_back(prior, likelihood, likelihood_time);
        return [row](const torch::Tensor &w_in, const torch::Tensor &sigma) {
          const torch::Tensor w      = w_in.to(torch::kFloat64).contiguous();
          const torch::Tensor level  = sigma.to(torch::kFloat64).contiguous();
          torch::Tensor       result = torch::empty({w.size(0), w.size(1)}, torch::kFloat64);
          Vector<double>      w_row(w.size(1)), gradient(w.size(1));
          for (int b = 0; b < w.size(0); ++b)
            {
              torch_bridge::from_tensor(w[b], w_row);
              const double log_l = row(w_row, level[b].item<double>(), gradient);
              AssertThrow(log_l != -std::numeric_limits<double>::infinity(),
                          ExcMessage("Posterior sampling: the likelihood has no value at a state of the sampler "
                                     "(noise level " +
                                     std::to_string(level[b].item<double>()) +
                                     "; e.g. a PDE without a solution for this field). The guided samplers "
                                     "cannot step around such states: use 'Method = dps' or 'proximal', whose "
                                     "line searches shorten the step."));
              result[b].copy_(torch_bridge::view(gradient));
            }
          return result;
        };
      }


      /** The likelihood of one row w, with its value, for the proximal sampler: the clean field (level 0). */
      template <int dim>
      LikelihoodWithGradient
      pull_back_likelihood_with_value(const PriorCoordinates<dim> &prior,
                                      const ApplicationLikelihood &likelihood,
                                      double &                     likelihood_time)
      {
        const PulledBackLikelihood row = pull_back(prior, likelihood, likelihood_time);
        return [row](const Vector<double> &w, Vector<double> &gradient) { return row(w, 0., gradient); };
      }


      /** sample_posterior() with the proximal sampler or with DPS (@p guidance.method). */
      template <int dim>
      torch::Tensor
      sample_with_likelihood_values(const PriorCoordinates<dim> &prior,
                                    const ApplicationLikelihood &likelihood,
                                    const GuidanceSettings &     guidance,
                                    const unsigned int           n_samples,
                                    const std::uint64_t          seed,
                                    const unsigned int           first_sample_index,
                                    PosteriorReport *            report)
      {
        double                       likelihood_time = 0;
        PosteriorCounts              counts;
        SamplerReport                sampler_report;
        const LikelihoodWithGradient row = pull_back_likelihood_with_value(prior, likelihood, likelihood_time);
        const torch::Tensor          w =
          guidance.method == GuidanceSettings::Method::proximal ?
            sample_proximal_posterior<dim>(prior.score, prior.space, prior.noise, prior.range, row, guidance.proximal,
                                           n_samples, seed, first_sample_index, &counts, &sampler_report) :
            sample_dps_posterior<dim>(prior.score, prior.space, prior.noise, prior.range, row, guidance.dps, n_samples,
                                      seed, first_sample_index, &counts, &sampler_report);
        if (report)
          {
            report->sampler         = sampler_report;
            report->counts          = counts;
            report->likelihood_time = likelihood_time;
          }
        return w;
      }
    } // namespace


    template <int dim>
    torch::Tensor
    sample_posterior(const PriorCoordinates<dim> &prior,
                     const ApplicationLikelihood &likelihood,
                     const Sampler<dim> &         sampler,
                     const GuidanceSettings &     guidance,
                     const unsigned int           n_samples,
                     const std::uint64_t          seed,
                     const unsigned int           first_sample_index,
                     PosteriorReport *            report)
    {
      AssertThrow(static_cast<bool>(likelihood), ExcMessage("Posterior sampling: no likelihood given."));
      if (guidance.method != GuidanceSettings::Method::guided_score)
        return sample_with_likelihood_values(prior, likelihood, guidance, n_samples, seed, first_sample_index, report);
      double                   likelihood_time = 0;
      const LikelihoodGradient gradient        = pull_back_likelihood(prior, likelihood, likelihood_time);
      auto                     counts          = std::make_shared<PosteriorCounts>();
      const ScoreFunction      posterior =
        make_posterior_score<dim>(prior.score, prior.space, prior.noise, gradient, guidance, counts);
      SamplerReport       sampler_report;
      const torch::Tensor w = sampler.sample(posterior, prior.space, prior.noise, prior.range, n_samples, seed,
                                             first_sample_index, &sampler_report);
      if (report)
        {
          report->sampler         = sampler_report;
          report->counts          = *counts;
          report->likelihood_time = likelihood_time;
        }
      return w;
    }
  } // namespace internal


  namespace
  {
    /**
     * The model's space of its training degree on @p triangulation, with
     * the model bound to it; the check of the application's DoFHandler that
     * both constructors make first.
     */
    template <int dim>
    std::unique_ptr<FunctionSpace<dim>>
    bind_model(TrainedModel<dim> &                       trained,
               const DoFHandler<dim> &                   application,
               std::shared_ptr<const Triangulation<dim>> triangulation,
               const std::vector<PeriodicBoundary> &     periodic_boundaries,
               const unsigned int                        n_modes,
               const std::string &                       cache)
    {
      AssertThrow(application.n_dofs() > 0,
                  ExcMessage("GenerativePrior: the DoFHandler has no DoFs; call distribute_dofs() first."));
      auto space = std::make_unique<FunctionSpace<dim>>(
        triangulation, training_degree<dim>(trained.record(), trained.name()), periodic_boundaries);
      trained.bind(*space, n_modes, cache);
      return space;
    }


    /** @p u as a vector of a serial space (every entry owned, MPI_COMM_SELF). */
    VectorType
    as_serial_vector(const Vector<double> &u)
    {
      VectorType result(complete_index_set(u.size()), MPI_COMM_SELF);
      for (unsigned int i = 0; i < u.size(); ++i)
        result[i] = u[i];
      result.compress(VectorOperation::insert);
      return result;
    }
  } // namespace


  template <int dim>
  GenerativePrior<dim>::GenerativePrior(const std::vector<std::string> &     checkpoints,
                                        const DoFHandler<dim> &              dof_handler,
                                        const std::vector<PeriodicBoundary> &periodic_boundaries,
                                        const unsigned int                   n_modes,
                                        const std::string &                  cache)
    : application(dof_handler)
    , trained(std::make_unique<TrainedModel<dim>>(checkpoints))
  {
    AssertThrow(dynamic_cast<const parallel::TriangulationBase<dim> *>(&dof_handler.get_triangulation()) == nullptr,
                ExcMessage("GenerativePrior: the application's mesh is distributed; the score network needs the "
                           "whole mesh on every rank, so give a serial model mesh of the domain (the constructor "
                           "with a model triangulation)."));
    // The application owns its triangulation; the model's space only refers to it.
    const std::shared_ptr<const Triangulation<dim>> triangulation(&dof_handler.get_triangulation(),
                                                                  [](const Triangulation<dim> *) {});
    space = bind_model(*trained, dof_handler, triangulation, periodic_boundaries, n_modes, cache);
    model_to_application = std::make_unique<SameMeshInterpolation<dim>>(space->get_dof_handler(), dof_handler);
    application_to_model = std::make_unique<SameMeshInterpolation<dim>>(dof_handler, space->get_dof_handler());
  }


  template <int dim>
  GenerativePrior<dim>::GenerativePrior(const std::vector<std::string> &          checkpoints,
                                        const DoFHandler<dim> &                   dof_handler,
                                        const Mapping<dim> &                      mapping,
                                        std::shared_ptr<const Triangulation<dim>> model_triangulation,
                                        const std::vector<PeriodicBoundary> &     periodic_boundaries,
                                        const unsigned int                        n_modes,
                                        const std::string &                       cache)
    : application(dof_handler)
    , trained(std::make_unique<TrainedModel<dim>>(checkpoints))
  {
    AssertThrow(model_triangulation != nullptr && model_triangulation->n_active_cells() > 0,
                ExcMessage("GenerativePrior: the model mesh is empty."));
    AssertThrow(dynamic_cast<const parallel::TriangulationBase<dim> *>(model_triangulation.get()) == nullptr,
                ExcMessage("GenerativePrior: the model mesh must be a serial Triangulation (the same on every "
                           "rank): the score network needs the whole mesh."));
    space = bind_model(*trained, dof_handler, model_triangulation, periodic_boundaries, n_modes, cache);
    model_to_owned = std::make_unique<PointInterpolation<dim>>(*space, dof_handler, mapping);
    owned_to_model =
      std::make_unique<ReplicatedPointValues<dim>>(dof_handler, mapping, space->locally_owned_support_points());
  }


  template <int dim>
  GenerativePrior<dim>::~GenerativePrior() = default;


  template <int dim>
  bool
  GenerativePrior<dim>::has_model_mesh() const
  {
    return model_to_owned != nullptr;
  }


  template <int dim>
  void
  GenerativePrior<dim>::assert_same_mesh(const std::string &member) const
  {
    AssertThrow(!model_to_owned,
                ExcMessage("GenerativePrior::" + member +
                           ": this prior was bound through a model mesh (for a distributed application "
                           "mesh); use the members with TrilinosWrappers::MPI::Vector."));
  }


  template <int dim>
  const TrainedModel<dim> &
  GenerativePrior<dim>::model() const
  {
    return *trained;
  }


  template <int dim>
  const FunctionSpace<dim> &
  GenerativePrior<dim>::model_space() const
  {
    return *space;
  }


  template <int dim>
  const DoFHandler<dim> &
  GenerativePrior<dim>::dof_handler() const
  {
    return application;
  }


  template <int dim>
  NoiseRange
  GenerativePrior<dim>::noise_range() const
  {
    const double scale = trained->record().normalization.scale;
    return NoiseRange{scale * trained->record().range.sigma_max, scale * trained->record().range.sigma_min};
  }


  template <int dim>
  Vector<double>
  GenerativePrior<dim>::to_model(const Vector<double> &u) const
  {
    assert_same_mesh("to_model");
    Vector<double> out;
    application_to_model->apply(u, out);
    return out;
  }


  template <int dim>
  Vector<double>
  GenerativePrior<dim>::to_application(const Vector<double> &u) const
  {
    assert_same_mesh("to_application");
    Vector<double> out;
    model_to_application->apply(u, out);
    return out;
  }


  template <int dim>
  std::vector<Vector<double>>
  GenerativePrior<dim>::to_model_fields(const torch::Tensor &w) const
  {
    const DataNormalization &   n    = trained->record().normalization;
    const torch::Tensor         data = (w.to(torch::kFloat64) * n.scale + n.mean).contiguous();
    std::vector<Vector<double>> fields(data.size(0), Vector<double>(space->n_dofs()));
    for (unsigned int b = 0; b < fields.size(); ++b)
      torch_bridge::from_tensor(data[b], fields[b]);
    return fields;
  }


  template <int dim>
  std::vector<Vector<double>>
  GenerativePrior<dim>::to_application_fields(const torch::Tensor &w) const
  {
    std::vector<Vector<double>> fields = to_model_fields(w);
    for (auto &field : fields)
      {
        Vector<double> model_field;
        model_field.swap(field);
        model_to_application->apply(model_field, field);
      }
    return fields;
  }


  namespace
  {
    /**
     * Rank 0's samples @p w on every rank: the ranks computed the same
     * samples, and this makes them bitwise the same whatever the rounding
     * of the reductions in between.
     */
    torch::Tensor
    broadcast_samples(const torch::Tensor &w, const MPI_Comm communicator)
    {
      if (Utilities::MPI::n_mpi_processes(communicator) == 1)
        return w;
      torch::Tensor copy = w.to(torch::kFloat64).contiguous().clone();
      const int     ierr = MPI_Bcast(copy.data_ptr<double>(), copy.numel(), MPI_DOUBLE, 0, communicator);
      AssertThrowMPI(ierr);
      return copy;
    }
  } // namespace


  template <int dim>
  std::vector<Vector<double>>
  GenerativePrior<dim>::sample(const Sampler<dim> &sampler,
                               const unsigned int  n_samples,
                               const std::uint64_t seed,
                               const unsigned int  first_sample_index,
                               SamplerReport *     report) const
  {
    assert_same_mesh("sample");
    const torch::Tensor w = sampler.sample(trained->score(), *space, trained->noise(), trained->record().range,
                                           n_samples, seed, first_sample_index, report);
    return to_application_fields(w);
  }


  template <int dim>
  void
  GenerativePrior<dim>::sample(const Sampler<dim> &     sampler,
                               const unsigned int       n_samples,
                               const std::uint64_t      seed,
                               std::vector<VectorType> &fields,
                               const unsigned int       first_sample_index,
                               SamplerReport *          report) const
  {
    const torch::Tensor w = sampler.sample(trained->score(), *space, trained->noise(), trained->record().range,
                                           n_samples, seed, first_sample_index, report);
    to_owned_fields(w, fields);
  }


  template <int dim>
  void
  GenerativePrior<dim>::to_owned_fields(const torch::Tensor &w, std::vector<VectorType> &fields) const
  {
    const MPI_Comm communicator =
      model_to_owned ? model_to_owned->get_mpi_communicator() : MPI_COMM_SELF;
    const std::vector<Vector<double>> model_fields = to_model_fields(broadcast_samples(w, communicator));
    fields.resize(model_fields.size());
    for (unsigned int b = 0; b < fields.size(); ++b)
      if (model_to_owned)
        model_to_owned->apply(model_fields[b], fields[b]);
      else
        fields[b] = as_serial_vector(to_application(model_fields[b]));
  }


  template <int dim>
  Vector<double>
  GenerativePrior<dim>::to_model(const VectorType &u) const
  {
    Vector<double> out;
    if (owned_to_model)
      owned_to_model->evaluate(u, out);
    else
      {
        AssertThrow(u.size() == application.n_dofs() && u.locally_owned_size() == u.size(),
                    ExcMessage("GenerativePrior::to_model: the vector does not hold the application's DoFs."));
        application_to_model->apply(Vector<double>(u.begin(), u.end()), out);
      }
    return out;
  }


  template <int dim>
  Vector<double>
  GenerativePrior<dim>::score(const Vector<double> &u, const double sigma) const
  {
    assert_same_mesh("score");
    return to_application(model_score(to_model(u), sigma));
  }


  template <int dim>
  void
  GenerativePrior<dim>::score(const VectorType &u, const double sigma, VectorType &result) const
  {
    const Vector<double> s = model_score(to_model(u), sigma);
    if (model_to_owned)
      model_to_owned->apply(s, result);
    else
      result = as_serial_vector(to_application(s));
  }


  template <int dim>
  Vector<double>
  GenerativePrior<dim>::model_score(const Vector<double> &model_field, const double sigma) const
  {
    AssertThrow(sigma > 0, ExcMessage("GenerativePrior::score: the noise level must be positive."));
    const DataNormalization &n = trained->record().normalization;
    Vector<double>           w = model_field;
    w.add(-n.mean);
    w /= n.scale;
    const torch::Tensor f =
      trained->score()(torch_bridge::to_tensor(w, torch::kFloat64),
                       torch::full({1}, sigma / n.scale, torch::TensorOptions().dtype(torch::kFloat64)));
    Vector<double> result(space->n_dofs());
    // In data units the state of level sigma carries sigma xi, xi ~ N(0, C), and
    // C grad_u = C grad_w / scale: the score is F_w / scale, and u + sigma^2 F is the
    // Tweedie estimate mean + scale (w + sigma_w^2 F_w).
    torch_bridge::from_tensor(f.to(torch::kFloat64) / n.scale, result);
    return result;
  }


  template <int dim>
  std::vector<Vector<double>>
  GenerativePrior<dim>::sample_posterior(const ApplicationLikelihood &likelihood,
                                         const Sampler<dim> &         sampler,
                                         const GuidanceSettings &     guidance,
                                         const unsigned int           n_samples,
                                         const std::uint64_t          seed,
                                         const unsigned int           first_sample_index,
                                         PosteriorReport *            report) const
  {
    assert_same_mesh("sample_posterior");
    const ScoreFunction                   prior_score = trained->score();
    const internal::PriorCoordinates<dim> prior{prior_score, *space, trained->noise(), trained->record().range,
                                                trained->record().normalization, model_to_application.get(),
                                                application.n_dofs()};
    const torch::Tensor w = internal::sample_posterior(prior, likelihood, sampler, guidance, n_samples, seed,
                                                       first_sample_index, report);
    return to_application_fields(w);
  }


  template <int dim>
  void
  GenerativePrior<dim>::sample_posterior(const DistributedApplicationLikelihood &likelihood,
                                         const Sampler<dim> &                    sampler,
                                         const GuidanceSettings &                guidance,
                                         const unsigned int                      n_samples,
                                         const std::uint64_t                     seed,
                                         std::vector<VectorType> &               fields,
                                         const unsigned int                      first_sample_index,
                                         PosteriorReport *                       report) const
  {
    AssertThrow(model_to_owned,
                ExcMessage("GenerativePrior::sample_posterior: the likelihood on owned DoFs needs a prior bound "
                           "through a model mesh; on the application's own serial mesh use the "
                           "ApplicationLikelihood overload."));
    AssertThrow(static_cast<bool>(likelihood), ExcMessage("Posterior sampling: no likelihood given."));
    const MPI_Comm communicator = model_to_owned->get_mpi_communicator();
    // The application's likelihood as one of model-space fields: T u in, T^T g
    // back, both the same on every rank.
    const ApplicationLikelihood on_model_space = [&](const Vector<double> &u_model, const double sigma,
                                                     Vector<double> &gradient) {
      VectorType u;
      model_to_owned->apply(u_model, u);
      VectorType g(u);
      g = 0.;
      double log_l = likelihood(u, sigma, g);
      model_to_owned->apply_transpose(g, gradient);
      if (Utilities::MPI::n_mpi_processes(communicator) > 1)
        {
          const int ierr = MPI_Bcast(&log_l, 1, MPI_DOUBLE, 0, communicator);
          AssertThrowMPI(ierr);
        }
      return log_l;
    };
    const ScoreFunction                   prior_score = trained->score();
    const internal::PriorCoordinates<dim> prior{prior_score,
                                                *space,
                                                trained->noise(),
                                                trained->record().range,
                                                trained->record().normalization,
                                                nullptr,
                                                space->n_dofs()};
    const torch::Tensor w = internal::sample_posterior(prior, on_model_space, sampler, guidance, n_samples, seed,
                                                       first_sample_index, report);
    to_owned_fields(w, fields);
  }


  namespace
  {
    /** An FE field that owns its coefficient vector. */
    template <int dim>
    class OwnedFieldFunction : public Function<dim>
    {
    public:
      OwnedFieldFunction(const DoFHandler<dim> &dof_handler, const Vector<double> &u, const Mapping<dim> &mapping)
        : values(u)
        , field(dof_handler, values, mapping)
      {}

      double
      value(const Point<dim> &p, const unsigned int component = 0) const override
      {
        return field.value(p, component);
      }

      Tensor<1, dim>
      gradient(const Point<dim> &p, const unsigned int component = 0) const override
      {
        return field.gradient(p, component);
      }

    private:
      const Vector<double>                                 values;
      const Functions::FEFieldFunction<dim, Vector<double>> field;
    };
  } // namespace


  template <int dim>
  std::unique_ptr<Function<dim>>
  GenerativePrior<dim>::as_function(const Vector<double> &u) const
  {
    assert_same_mesh("as_function");
    AssertThrow(u.size() == application.n_dofs(),
                ExcMessage("GenerativePrior::as_function: the vector has " + std::to_string(u.size()) +
                           " entries, the DoFHandler " + std::to_string(application.n_dofs()) + "."));
    return std::make_unique<OwnedFieldFunction<dim>>(application, u, space->get_mapping());
  }


  template class GenerativePrior<2>;
  template class GenerativePrior<3>;
  template torch::Tensor internal::sample_posterior(const internal::PriorCoordinates<2> &, const ApplicationLikelihood &,
                                                    const Sampler<2> &, const GuidanceSettings &, const unsigned int,
                                                    const std::uint64_t, const unsigned int, PosteriorReport *);
  template torch::Tensor internal::sample_posterior(const internal::PriorCoordinates<3> &, const ApplicationLikelihood &,
                                                    const Sampler<3> &, const GuidanceSettings &, const unsigned int,
                                                    const std::uint64_t, const unsigned int, PosteriorReport *);
} // namespace ddo
