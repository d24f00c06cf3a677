#ifndef ddo_generative_prior_h
#define ddo_generative_prior_h

/**
 * @file
 * A trained DDO as the prior of a deal.II application: bound to the
 * application's own mesh and finite element, drawing samples as deal.II
 * vectors, evaluating its score, and sampling the posterior with the
 * application's likelihood.
 *
 * @ingroup model
 */

#include <deal.II/base/function.h>
#include <deal.II/dofs/dof_handler.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/point_interpolation.h>
#include <ddo/function_space/replicated_point_values.h>
#include <ddo/function_space/same_mesh_interpolation.h>
#include <ddo/mesh/mesh_types.h>
#include <ddo/torch/model/trained_model.h>
#include <ddo/torch/sampler/posterior_guidance.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  using namespace dealii;

  /**
   * The likelihood of an application, on the application's own DoFs.
   *
   * Called with a field @p u (a coefficient vector of the application's
   * DoFHandler, in the units of the data: the sampler's noisy state or its
   * denoised estimate, see GuidanceSettings) and the noise level @p sigma of
   * the sampler's state in the same units (see LikelihoodGradient for how
   * to widen the observation noise with it: the state carries the noise
   * \f$\sigma\xi\f$, \f$\xi \sim N(0, C)\f$ with C = model().noise(), of
   * pointwise variance 1 for a Matérn noise of marginal variance 1). Fills @p gradient (already sized) with
   * \f$\partial \log L / \partial u\f$, the Euclidean gradient with respect
   * to the coefficients (typically from an adjoint solve), and returns
   * \f$\log L(u)\f$.
   */
  using ApplicationLikelihood =
    std::function<double(const Vector<double> &u, const double sigma, Vector<double> &gradient)>;


  /**
   * The likelihood of an application on a distributed mesh: as
   * ApplicationLikelihood, with @p u and @p gradient holding the locally
   * owned DoFs of the application's DoFHandler (copy @p u into a ghosted
   * vector to assemble with it). Called collectively on every rank; returns
   * the global \f$\log L(u)\f$ (the same on every rank) and fills the
   * owned entries of @p gradient (already zero and of u's layout).
   */
  using DistributedApplicationLikelihood =
    std::function<double(const VectorType &u, const double sigma, VectorType &gradient)>;


  /** What GenerativePrior::sample_posterior() did. */
  struct PosteriorReport
  {
    /** The sampler's counts and time (its evaluations are of the posterior score). */
    SamplerReport sampler;
    /** Likelihood and prior evaluations. */
    PosteriorCounts counts;
    /** Seconds spent in the application's likelihood. */
    double likelihood_time = 0;

    /** Likelihood evaluations per posterior sample (PDE solves, if each is one forward and one adjoint solve). */
    double
    likelihood_evaluations_per_sample() const;

    /** Prior (network) evaluations per posterior sample. */
    double
    prior_evaluations_per_sample() const;

    /** One line: samples, network and likelihood evaluations per sample, times. */
    std::string
    summary() const;
  };


  namespace internal
  {
    /**
     * A prior in the coordinates its sampler works in: the score, space,
     * noise and noise levels of normalized coefficients w, and the map to
     * the application's fields \f$u = P(\text{mean} + \text{scale}\,w)\f$
     * (@p to_application is P; null: the prior's space is the
     * application's, P = I).
     */
    template <int dim>
    struct PriorCoordinates
    {
      const ScoreFunction &             score;
      const FunctionSpace<dim> &        space;
      const CovarianceOperator<dim> &   noise;
      NoiseRange                        range;
      DataNormalization                 normalization;
      const SameMeshInterpolation<dim> *to_application;
      unsigned int                      n_application_dofs;
    };

    /**
     * Posterior samples (rows of w) of the prior @p prior and the
     * application's @p likelihood: the likelihood's gradient pulled back to
     * w (\f$\text{scale}\,P^T\nabla_u\log L\f$, the noise level passed
     * on in data units), the posterior score of make_posterior_score(),
     * @p sampler; @p report (if not null) gets the counts and times.
     */
    template <int dim>
    torch::Tensor
    sample_posterior(const PriorCoordinates<dim> &prior,
                     const ApplicationLikelihood &likelihood,
                     const Sampler<dim> &         sampler,
                     const GuidanceSettings &     guidance,
                     const unsigned int           n_samples,
                     const std::uint64_t          seed,
                     const unsigned int           first_sample_index,
                     PosteriorReport *            report);
  } // namespace internal


  /**
   * A trained DDO as a prior on an application's mesh.
   *
   * The model is bound to the application's triangulation with the element
   * degree it was trained with (its noise and eigenbasis are built there:
   * the model is discretization-agnostic); fields cross between that space
   * and the application's DoFHandler, whatever its degree, by
   * SameMeshInterpolation. Everything the application sees is in the units
   * of the training data and on its own DoFs.
   *
   * @code
   * DoFHandler<2> dof_handler(triangulation);   // the application's, any degree
   * dof_handler.distribute_dofs(FE_SimplexP<2>(2));
   * GenerativePrior<2> prior({"model"}, dof_handler);
   * auto sampler = SamplerRegistry<2>::instance().create("probability_flow");
   * std::vector<Vector<double>> fields = prior.sample(*sampler, 4, seed);
   * // a coefficient in the application's assembly:
   * fe_values.get_function_values(fields[0], coefficient_values);
   * @endcode
   *
   * Serial triangulations (also a replicated mesh on every rank); the
   * triangulation and DoFHandler must outlive the prior. The mesh must
   * cover the domain the model was trained on, with the same periodic
   * directions (@p periodic_boundaries, boundary ids of the application's
   * mesh).
   *
   * **Distributed meshes.** The score network needs the whole mesh on every
   * rank, so on a parallel::distributed::Triangulation the model is bound to
   * a serial *model mesh* of the same domain that the application gives
   * (e.g. its coarse mesh refined to about the training resolution), and
   * fields reach the application's locally owned DoFs by PointInterpolation
   * (hanging nodes constrained); likelihood gradients go back by its
   * transpose, summed over the ranks. The network runs on every rank on the
   * same states (its cost per rank is the serial cost on the model mesh;
   * the application's PDE solves stay distributed), and the samples are
   * broadcast from rank 0, so every rank holds the same fields. The ranks
   * must compute the same states: run them with the same number of threads
   * (OMP_NUM_THREADS), since guided sampling amplifies differences of
   * rounding, and an adaptive sampler whose ranks diverged would call the
   * collective likelihood a different number of times:
   * @code
   * parallel::distributed::Triangulation<2> triangulation(MPI_COMM_WORLD);
   * ...                                          // the application's mesh
   * auto model_mesh = std::make_shared<Triangulation<2>>();
   * GridGenerator::hyper_cube(*model_mesh, 0, 1, true);
   * model_mesh->refine_global(5);
   * GenerativePrior<2> prior({"model"}, dof_handler, MappingQ1<2>(), model_mesh, periodic);
   * std::vector<TrilinosWrappers::MPI::Vector> fields;
   * prior.sample(*sampler, 4, seed, fields);    // locally owned DoFs
   * @endcode
   * The Vector<double> members need the application's DoFHandler on the
   * model mesh's triangulation (the first constructor).
   */
  template <int dim>
  class GenerativePrior
  {
  public:
    /**
     * Loads @p checkpoints (one, or an ensemble) and binds them to the
     * triangulation of @p dof_handler. @p n_modes: eigenpairs of the
     * network geometry (0: as in training); @p cache: an eigenbasis cache
     * directory ("" for none).
     */
    GenerativePrior(const std::vector<std::string> &     checkpoints,
                    const DoFHandler<dim> &              dof_handler,
                    const std::vector<PeriodicBoundary> &periodic_boundaries = {},
                    const unsigned int                   n_modes             = 0,
                    const std::string &                  cache               = "");

    /**
     * Binds @p checkpoints to the serial @p model_triangulation (the same
     * mesh on every rank; @p periodic_boundaries are its periodic pairs)
     * and exchanges fields with @p dof_handler, on any mesh of the same
     * domain, serial or distributed, whose support points @p mapping gives.
     * Collective over the communicator of @p dof_handler's triangulation.
     */
    GenerativePrior(const std::vector<std::string> &           checkpoints,
                    const DoFHandler<dim> &                    dof_handler,
                    const Mapping<dim> &                       mapping,
                    std::shared_ptr<const Triangulation<dim>>  model_triangulation,
                    const std::vector<PeriodicBoundary> &      periodic_boundaries = {},
                    const unsigned int                         n_modes             = 0,
                    const std::string &                        cache               = "");

    ~GenerativePrior();

    /** Whether the prior was bound through a separate model mesh (the second constructor). */
    bool
    has_model_mesh() const;

    /** The trained model, bound to model_space(). */
    const TrainedModel<dim> &
    model() const;

    /** The model's space on the application's triangulation. */
    const FunctionSpace<dim> &
    model_space() const;

    /** The application's DoFHandler. */
    const DoFHandler<dim> &
    dof_handler() const;

    /** The training range of noise levels, in the units of the data. */
    NoiseRange
    noise_range() const;

    /**
     * @p n_samples fields drawn with @p sampler (sample i from the stream
     * (@p seed, @p first_sample_index + i)), as vectors of the application's
     * DoFHandler in the units of the data.
     */
    std::vector<Vector<double>>
    sample(const Sampler<dim> &sampler,
           const unsigned int  n_samples,
           const std::uint64_t seed,
           const unsigned int  first_sample_index = 0,
           SamplerReport *     report             = nullptr) const;

    /**
     * The same as the locally owned DoFs of the application's DoFHandler
     * (serial or distributed; every rank gets the same fields). Collective.
     */
    void
    sample(const Sampler<dim> &       sampler,
           const unsigned int         n_samples,
           const std::uint64_t        seed,
           std::vector<VectorType> &  fields,
           const unsigned int         first_sample_index = 0,
           SamplerReport *            report             = nullptr) const;

    /**
     * The prior's preconditioned score at a noisy field @p u (application
     * DoFs, data units) of noise level @p sigma (data units: the field
     * carries \f$\sigma\xi\f$, \f$\xi \sim N(0, C)\f$, C =
     * model().noise()): \f$C\nabla_u\log p_\sigma(u)\f$. The denoised
     * estimate is \f$u + \sigma^2\f$ score(u, sigma).
     */
    Vector<double>
    score(const Vector<double> &u, const double sigma) const;

    /**
     * The same for the locally owned DoFs @p u of the application's
     * DoFHandler (serial or distributed; a conforming field), into
     * @p result (reinitialized to the owned DoFs). The network evaluates
     * the field at the model's support points, on every rank. Collective.
     */
    void
    score(const VectorType &u, const double sigma, VectorType &result) const;

    /**
     * @p n_samples samples of the posterior \f$\propto L(u)\,p(u)\f$ with
     * the application's @p likelihood, drawn with @p sampler and the
     * guidance @p guidance (see GuidanceSettings); the likelihood is called
     * once per sample and step (twice with the denoised-estimate guidance:
     * once for the field, never for the difference). With
     * GuidanceSettings::Method::proximal, @p sampler is not used: the
     * proximal sampler (sample_proximal_posterior()) calls the likelihood
     * with σ = 0 in every L-BFGS evaluation and uses its returned value;
     * likewise with GuidanceSettings::Method::dps
     * (sample_dps_posterior(): once per step and sample, and once per trial
     * of its step; set GuidanceSettings::dps.misfit_floor to half the number
     * of noisy observations).
     */
    std::vector<Vector<double>>
    sample_posterior(const ApplicationLikelihood &likelihood,
                     const Sampler<dim> &         sampler,
                     const GuidanceSettings &     guidance,
                     const unsigned int           n_samples,
                     const std::uint64_t          seed,
                     const unsigned int           first_sample_index = 0,
                     PosteriorReport *            report             = nullptr) const;

    /**
     * Posterior samples as in the other sample_posterior(), with the
     * likelihood of an application on a distributed (or serial) mesh,
     * as locally owned DoFs of its DoFHandler. The likelihood is called
     * collectively, in the same sequence on every rank. Collective.
     */
    void
    sample_posterior(const DistributedApplicationLikelihood &likelihood,
                     const Sampler<dim> &                    sampler,
                     const GuidanceSettings &                guidance,
                     const unsigned int                      n_samples,
                     const std::uint64_t                     seed,
                     std::vector<VectorType> &               fields,
                     const unsigned int                      first_sample_index = 0,
                     PosteriorReport *                       report             = nullptr) const;

    /**
     * A Function<dim> view of the field @p u (application DoFs; copied):
     * the FE function evaluated at any point of the mesh, e.g. to
     * interpolate it onto another space. In assembly on the application's
     * own DoFHandler, FEValues::get_function_values() on @p u is cheaper.
     */
    std::unique_ptr<Function<dim>>
    as_function(const Vector<double> &u) const;

    /** Application DoFs to the model's space (interpolation). */
    Vector<double>
    to_model(const Vector<double> &u) const;

    /**
     * Locally owned application DoFs (a conforming field) to the model's
     * space: the field at the model's support points, the same on every
     * rank (ReplicatedPointValues with a model mesh). Collective.
     */
    Vector<double>
    to_model(const VectorType &u) const;

    /** The model's space to application DoFs (interpolation). */
    Vector<double>
    to_application(const Vector<double> &u) const;

  private:
    const DoFHandler<dim> &                   application;
    std::unique_ptr<TrainedModel<dim>>        trained;
    std::unique_ptr<FunctionSpace<dim>>       space;
    std::unique_ptr<SameMeshInterpolation<dim>> model_to_application;
    std::unique_ptr<SameMeshInterpolation<dim>> application_to_model;
    /** With a model mesh: the model's space to the application's owned DoFs. */
    std::unique_ptr<PointInterpolation<dim>>    model_to_owned;
    /** With a model mesh: the application's fields at the model's support points, on every rank. */
    std::unique_ptr<ReplicatedPointValues<dim>> owned_to_model;

    /** The model's score (data units) of the model field @p w (data units) at level @p sigma. */
    Vector<double>
    model_score(const Vector<double> &w, const double sigma) const;

    /** Throws unless the prior shares the application's triangulation (for the Vector<double> members). */
    void
    assert_same_mesh(const std::string &member) const;

    /** Rank 0's rows of @p w as owned application DoFs in data units. */
    void
    to_owned_fields(const torch::Tensor &w, std::vector<VectorType> &fields) const;

    /** Normalized model coefficients (rows of @p w) to model fields in data units. */
    std::vector<Vector<double>>
    to_model_fields(const torch::Tensor &w) const;

    /** Normalized model coefficients (rows of @p w) to application fields in data units. */
    std::vector<Vector<double>>
    to_application_fields(const torch::Tensor &w) const;
  };
} // namespace ddo

#endif
