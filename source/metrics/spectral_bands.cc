#include <deal.II/base/parallel.h>
#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/dynamic_sparsity_pattern.h>
#include <deal.II/lac/precondition.h>
#include <deal.II/lac/sparse_matrix.h>
#include <deal.II/lac/sparsity_pattern.h>
#include <deal.II/lac/vector.h>
#include <deal.II/lac/solver_cg.h>
#include <deal.II/lac/solver_control.h>

#include <ddo/lac/spectral_basis.h>
#include <ddo/metrics/spectral_bands.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace ddo
{
  namespace
  {
    /** Eigenvalues below this fraction of the largest one form the null space. */
    constexpr double null_space_fraction = 1e-9;

    /**
     * Jackson-damped Chebyshev coefficients (degrees 0..J) of the indicator
     * function of [a, b] in [-1, 1].
     */
    std::vector<double>
    damped_indicator_coefficients(const double a, const double b, const unsigned int J)
    {
      const double theta_a = std::acos(std::clamp(a, -1., 1.));
      const double theta_b = std::acos(std::clamp(b, -1., 1.));
      const double q       = M_PI / (J + 1);
      std::vector<double> c(J + 1);
      for (unsigned int j = 0; j <= J; ++j)
        {
          const double plain =
            j == 0 ? (theta_a - theta_b) / M_PI : 2. * (std::sin(j * theta_a) - std::sin(j * theta_b)) / (j * M_PI);
          const double jackson =
            ((J - j + 1) * std::cos(q * j) + std::sin(q * j) / std::tan(q)) / (J + 1);
          c[j] = plain * jackson;
        }
      return c;
    }
  } // namespace


  /**
   * The operator \f$A = 2 M^{-1}K/\lambda_{bound} - I\f$ of the Chebyshev
   * series on the free coefficients, in deal.II's own serial matrices and
   * vectors: the series of many functions run on several threads at once,
   * and Trilinos' vectors would reduce over MPI in every inner product
   * (not allowed from several threads at a time).
   */
  template <int dim>
  class SpectralBands<dim>::ChebyshevOperator
  {
  public:
    ChebyshevOperator(const TrilinosWrappers::SparseMatrix &k_condensed,
                      const TrilinosWrappers::SparseMatrix &m_condensed)
    {
      const unsigned int     n = k_condensed.m();
      DynamicSparsityPattern dsp(n, n);
      for (const auto *matrix : {&k_condensed, &m_condensed})
        for (unsigned int row = 0; row < n; ++row)
          for (auto entry = matrix->begin(row); entry != matrix->end(row); ++entry)
            dsp.add(row, entry->column());
      pattern.copy_from(dsp);
      k.reinit(pattern);
      m.reinit(pattern);
      for (const auto &[from, to] : {std::pair{&k_condensed, &k}, std::pair{&m_condensed, &m}})
        for (unsigned int row = 0; row < n; ++row)
          for (auto entry = from->begin(row); entry != from->end(row); ++entry)
            to->set(row, entry->column(), entry->value());
      jacobi.initialize(m);
    }

    /** The upper end of the series' interval: A maps [0, lambda_bound] onto [-1, 1]. */
    void
    set_upper_end(const double lambda_bound)
    {
      scale = 2. / lambda_bound;
    }

    /** result = A v (work: a scratch vector of the same size). */
    void
    apply(const Vector<double> &v, Vector<double> &result, Vector<double> &work) const
    {
      k.vmult(work, v);
      vmult(result, work);
      result.sadd(scale, -1., v);
    }

    /** dst = M^{-1} src by Jacobi-preconditioned CG to a relative 1e-10. */
    void
    vmult(Vector<double> &dst, const Vector<double> &src) const
    {
      ReductionControl         control(2000, 1e-300, 1e-10);
      SolverCG<Vector<double>> cg(control);
      dst = 0;
      cg.solve(m, dst, src, jacobi);
    }

    /**
     * The largest eigenvalue of K phi = lambda M phi, estimated by the
     * Lanczos process of 60 CG iterations on K + M with M as the
     * preconditioner from @p start (deal.II's CG eigenvalue estimates; they
     * converge from below, fast at the ends of the spectrum).
     */
    double
    largest_eigenvalue(const Vector<double> &start) const
    {
      SparseMatrix<double> shifted(pattern);
      shifted.copy_from(k);
      shifted.add(1., m);
      double                   largest = 0;
      IterationNumberControl   control(60, 1e-300);
      SolverCG<Vector<double>> cg(control);
      cg.connect_eigenvalues_slot(
        [&](const std::vector<double> &eigenvalues) {
          if (!eigenvalues.empty())
            largest = *std::max_element(eigenvalues.begin(), eigenvalues.end());
        },
        false);
      Vector<double> solution(start.size());
      cg.solve(shifted, solution, start, *this);
      return largest - 1;
    }

    /** a^T M b. */
    double
    mass_product(const Vector<double> &a, const Vector<double> &b, Vector<double> &work) const
    {
      m.vmult(work, b);
      return a * work;
    }

  private:
    double                                    scale = 0;
    SparsityPattern                           pattern;
    SparseMatrix<double>                      k, m;
    PreconditionJacobi<SparseMatrix<double>> jacobi;
  };


  template <int dim>
  double
  cell_eigenvalue_bound(const FunctionSpace<dim> &space)
  {
    FEValues<dim>      fe_values(space.get_mapping(), space.get_fe(), space.get_quadrature(),
                            update_values | update_gradients | update_JxW_values);
    const unsigned int n = space.get_fe().n_dofs_per_cell();
    double             bound = 0;
    for (const auto &cell : space.get_dof_handler().active_cell_iterators())
      if (cell->is_locally_owned())
        {
          fe_values.reinit(cell);
          LAPACKFullMatrix<double> k(n, n), m(n, n);
          for (const unsigned int q : fe_values.quadrature_point_indices())
            for (unsigned int i = 0; i < n; ++i)
              for (unsigned int j = 0; j < n; ++j)
                {
                  m(i, j) += fe_values.shape_value(i, q) * fe_values.shape_value(j, q) * fe_values.JxW(q);
                  k(i, j) += fe_values.shape_grad(i, q) * fe_values.shape_grad(j, q) * fe_values.JxW(q);
                }
          std::vector<Vector<double>> vectors(n, Vector<double>(n));
          k.compute_generalized_eigenvalues_symmetric(m, vectors);
          for (unsigned int i = 0; i < n; ++i)
            bound = std::max(bound, k.eigenvalue(i).real());
        }
    return Utilities::MPI::max(bound, space.get_mpi_communicator());
  }


  template <int dim>
  SpectralBands<dim>::SpectralBands(const FunctionSpace<dim> &space_in, const Settings &settings)
    : space(space_in)
  {
    AssertThrow(!space.is_distributed(), ExcMessage("SpectralBands works on serial (replicated) meshes."));
    AssertThrow(settings.n_bands >= 1, ExcMessage("SpectralBands: the number of bands must be positive."));
    const auto n_free = n_free_dofs(space);
    AssertThrow(n_free >= 4, ExcMessage("SpectralBands: the space has fewer than 4 free DoFs."));
    used_method = settings.method;
    if (used_method == Method::automatic)
      used_method = n_free <= settings.dense_limit ? Method::dense : Method::chebyshev;
    if (used_method == Method::dense)
      set_up_dense(settings);
    else
      set_up_chebyshev(settings);
  }


  template <int dim>
  void
  SpectralBands<dim>::set_up_dense(const Settings &settings)
  {
    const SpectralBasis<dim> basis(space, n_free_dofs(space), settings.cache_directory,
                                   SpectralBasis<dim>::Method::dense);
    eigenvalues = basis.eigenvalues();
    lambda_max  = eigenvalues.back();
    lambda_min  = 0;
    for (const double lambda : eigenvalues)
      if (lambda > null_space_fraction * lambda_max)
        {
          lambda_min = lambda;
          break;
        }
    AssertThrow(lambda_min > 0, ExcMessage("SpectralBands: the space has no positive eigenvalue."));
    set_edges(settings.n_bands);

    // Rows (M psi_i)^T, so that the coefficients of u are projector * u.
    const std::size_t N = space.n_dofs();
    projector.reinit(eigenvalues.size(), N);
    VectorType m_psi = space.create_vector();
    for (unsigned int i = 0; i < eigenvalues.size(); ++i)
      {
        space.mass_matrix().vmult(m_psi, basis.eigenvectors()[i]);
        for (std::size_t j = 0; j < N; ++j)
          projector(i, j) = m_psi[j];
      }
  }


  template <int dim>
  void
  SpectralBands<dim>::set_up_chebyshev(const Settings &settings)
  {
    // The bands end at the Lanczos estimate of the largest eigenvalue, as
    // the dense method's do at the exact one.
    const double rigorous_bound = cell_eigenvalue_bound(space);
    set_up_low_modes(settings, rigorous_bound);
    {
      TrilinosWrappers::SparseMatrix k_condensed, m_condensed;
      assemble_condensed_matrix(space, 0., 1., 0., k_condensed);
      assemble_condensed_matrix(space, 1., 0., 1., m_condensed);
      chebyshev_operator = std::make_unique<ChebyshevOperator>(k_condensed, m_condensed);
    }
    Vector<double> probe(space.n_dofs());
    for (std::size_t i = 0; i < probe.size(); ++i)
      probe[i] = std::sin(1. + 12.9898 * i); // deterministic, not smooth: every mode
    for (const auto &line : space.get_constraints().get_lines())
      probe[line.index] = 0;
    lambda_max = std::min(rigorous_bound, chebyshev_operator->largest_eigenvalue(probe));
    set_edges(settings.n_bands);

    // The series live on [0, lambda_bound]. The cell bound is rigorous but
    // can be far above the spectrum (3x in sqrt(lambda) on a refined Gmsh
    // tetrahedral mesh, and the degree grows with its root); 1.1 times the
    // Lanczos estimate is taken instead once the probe's moments show no
    // eigenvalue above it: there |T_j| grows exponentially with j, and
    // |mu_j| <= mu_0 holds only while the whole spectrum lies inside.
    lambda_bound = std::min(rigorous_bound, 1.1 * lambda_max);
    set_up_series(settings);
    if (lambda_bound < rigorous_bound &&
        !moments_are_bounded(chebyshev_moments(probe)))
      {
        lambda_bound = rigorous_bound;
        set_up_series(settings);
      }
  }


  template <int dim>
  void
  SpectralBands<dim>::set_up_low_modes(const Settings &settings, const double rigorous_bound)
  {
    // The lowest modes exactly (ARPACK): their energies are sharp, and
    // smooth fields keep most of theirs there, so that the smeared edges of
    // the Chebyshev filters only see the rest.
    const unsigned int n_low = std::min<unsigned int>(settings.exact_modes, n_free_dofs(space) / 4);
    AssertThrow(n_low >= 2, ExcMessage("SpectralBands: the chebyshev method needs at least 2 exact modes."));
    const SpectralBasis<dim> low(space, n_low, settings.cache_directory, SpectralBasis<dim>::Method::arpack);
    low_eigenvalues = low.eigenvalues();
    low_vectors     = low.eigenvectors();
    for (const double lambda : low_eigenvalues)
      if (lambda > null_space_fraction * rigorous_bound)
        {
          lambda_min = lambda;
          break;
        }
    AssertThrow(lambda_min > 0, ExcMessage("SpectralBands: no positive eigenvalue among the lowest modes."));
  }


  template <int dim>
  void
  SpectralBands<dim>::set_up_series(const Settings &settings)
  {
    chebyshev_operator->set_upper_end(lambda_bound);
    // Edges are smeared over pi sqrt(lambda_bound) / (2J) in sqrt(lambda);
    // the automatic degree makes that a sixteenth of the narrowest band the
    // series must resolve: the first one that reaches above the exact modes.
    degree = settings.chebyshev_degree;
    if (degree == 0)
      {
        unsigned int b = 0;
        while (b + 2 < band_edges.size() && band_edges[b + 1] <= std::sqrt(low_eigenvalues.back()))
          ++b;
        degree = std::clamp<unsigned int>(std::ceil(8 * M_PI * std::sqrt(lambda_bound) /
                                                    (band_edges[b + 1] - band_edges[b])),
                                          50, max_automatic_degree);
      }

    // Band b covers [edge_b^2, edge_{b+1}^2] of lambda, i.e. an interval of
    // x = 2 lambda / lambda_bound - 1. The lowest modes are removed
    // exactly, so the first band's filter reaches down to x = -1 and the
    // last one up to 1: the indicators sum to one, and the energies to
    // ||u||^2 less the null space part.
    auto to_x = [&](const double root) { return 2 * root * root / lambda_bound - 1; };
    coefficients.clear();
    for (unsigned int b = 0; b + 1 < band_edges.size(); ++b)
      coefficients.push_back(damped_indicator_coefficients(b == 0 ? -1. : to_x(band_edges[b]),
                                                           b + 2 == band_edges.size() ? 1. : to_x(band_edges[b + 1]),
                                                           degree));
  }


  template <int dim>
  bool
  SpectralBands<dim>::moments_are_bounded(const std::vector<double> &moments)
  {
    // |mu_j| <= mu_0 in exact arithmetic; the mass solves (1e-10) and the
    // doubling identities leave far less than this margin.
    for (const double mu : moments)
      if (!(std::abs(mu) <= moments.front() * (1 + 1e-4) + 1e-300))
        return false;
    return true;
  }


  template <int dim>
  void
  SpectralBands<dim>::set_edges(const unsigned int n_bands)
  {
    // Slightly outside the extreme eigenvalues, so both lie inside a band.
    const double low  = std::sqrt(lambda_min) * (1 - 1e-9);
    const double high = std::sqrt(lambda_max) * (1 + 1e-9);
    band_edges.resize(n_bands + 1);
    for (unsigned int b = 0; b <= n_bands; ++b)
      band_edges[b] = low * std::pow(high / low, double(b) / n_bands);
  }


  template <int dim>
  const std::vector<double> &
  SpectralBands<dim>::edges() const
  {
    return band_edges;
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::centres() const
  {
    std::vector<double> c;
    for (unsigned int b = 0; b + 1 < band_edges.size(); ++b)
      c.push_back(std::sqrt(band_edges[b] * band_edges[b + 1]));
    return c;
  }


  template <int dim>
  int
  SpectralBands<dim>::band_of(const double lambda) const
  {
    if (lambda <= null_space_fraction * lambda_max)
      return -1;
    const double root = std::sqrt(std::max(lambda, 0.));
    const auto   it   = std::upper_bound(band_edges.begin(), band_edges.end(), root);
    if (it == band_edges.begin() || it == band_edges.end())
      return -1;
    return static_cast<int>(it - band_edges.begin()) - 1;
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::energies(const VectorType &u) const
  {
    return energies_of_each(std::vector<double>(u.begin(), u.end()), 1).front();
  }


  template <int dim>
  void
  SpectralBands<dim>::set_progress(const std::function<void(unsigned int, unsigned int)> &callback)
  {
    progress = callback;
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::mean_energies(const std::vector<double> &values, const unsigned int n_functions) const
  {
    std::vector<double> mean(band_edges.size() - 1, 0.);
    for (const auto &e : energies_of_each(values, n_functions))
      for (unsigned int b = 0; b < mean.size(); ++b)
        mean[b] += e[b] / n_functions;
    return mean;
  }


  template <int dim>
  std::vector<std::vector<double>>
  SpectralBands<dim>::energies_of_each(const std::vector<double> &values, const unsigned int n_functions) const
  {
    AssertThrow(n_functions > 0 && values.size() == space.n_dofs() * n_functions,
                ExcMessage("SpectralBands: need n_functions full coefficient vectors of the space."));
    return used_method == Method::dense ? dense_energies(values, n_functions) :
                                          chebyshev_energies(values, n_functions);
  }


  template <int dim>
  std::vector<std::vector<double>>
  SpectralBands<dim>::dense_energies(const std::vector<double> &values, const unsigned int n_functions) const
  {
    // In blocks of functions: coefficients = projector * U (BLAS-3).
    const std::size_t                N     = space.n_dofs();
    const unsigned int               block = 64;
    std::vector<std::vector<double>> result(n_functions, std::vector<double>(band_edges.size() - 1, 0.));
    for (unsigned int first = 0; first < n_functions; first += block)
      {
        const unsigned int       count = std::min(block, n_functions - first);
        LAPACKFullMatrix<double> u(N, count), c(eigenvalues.size(), count);
        for (unsigned int s = 0; s < count; ++s)
          for (std::size_t j = 0; j < N; ++j)
            u(j, s) = values[(first + s) * N + j];
        projector.mmult(c, u);
        for (unsigned int i = 0; i < eigenvalues.size(); ++i)
          if (const int b = band_of(eigenvalues[i]); b >= 0)
            for (unsigned int s = 0; s < count; ++s)
              result[first + s][b] += c(i, s) * c(i, s);
      }
    return result;
  }


  template <int dim>
  std::vector<std::vector<double>>
  SpectralBands<dim>::chebyshev_energies(const std::vector<double> &values, const unsigned int n_functions) const
  {
    // The exact low modes of every function first (Trilinos' vectors, on
    // this thread); the Chebyshev series then act on the rest of each
    // function, several functions at a time on deal.II's threads.
    const std::size_t                N = space.n_dofs();
    std::vector<std::vector<double>> result(n_functions, std::vector<double>(band_edges.size() - 1, 0.));
    const unsigned int               chunk = 4 * MultithreadInfo::n_threads();
    std::vector<Vector<double>>      rests(chunk);
    VectorType                       u = space.create_vector();
    if (progress)
      progress(0, n_functions);
    for (unsigned int first = 0; first < n_functions; first += chunk)
      {
        const unsigned int count = std::min(chunk, n_functions - first);
        for (unsigned int s = 0; s < count; ++s)
          {
            for (std::size_t j = 0; j < N; ++j)
              u[j] = values[(first + s) * N + j];
            rests[s] = remove_low_modes(u, result[first + s]);
          }
        parallel::apply_to_subranges(
          0u,
          count,
          [&](const unsigned int begin, const unsigned int end) {
            for (unsigned int s = begin; s < end; ++s)
              {
                const auto moments = chebyshev_moments(rests[s]);
                AssertThrow(moments_are_bounded(moments),
                            ExcMessage("SpectralBands: the Chebyshev moments of a function grow, so the "
                                       "spectrum reaches above the series' interval [0, " +
                                       std::to_string(lambda_bound) + "]; a non-finite function?"));
                for (unsigned int b = 0; b < coefficients.size(); ++b)
                  for (unsigned int j = 0; j <= degree; ++j)
                    result[first + s][b] += coefficients[b][j] * moments[j];
              }
          },
          1);
        if (progress)
          progress(first + count, n_functions);
      }
    return result;
  }


  template <int dim>
  Vector<double>
  SpectralBands<dim>::remove_low_modes(const VectorType &u, std::vector<double> &energies) const
  {
    VectorType x = u, m_u = space.create_vector();
    space.mass_matrix().vmult(m_u, u);
    for (unsigned int i = 0; i < low_vectors.size(); ++i)
      {
        const double c = low_vectors[i] * m_u;
        x.add(-c, low_vectors[i]);
        if (const int b = band_of(low_eigenvalues[i]); b >= 0)
          energies[b] += c * c;
      }
    // The free coefficients: the condensed matrices act on those.
    for (const auto &line : space.get_constraints().get_lines())
      x[line.index] = 0;
    return Vector<double>(x.begin(), x.end());
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::chebyshev_moments(const Vector<double> &x) const
  {
    // Moments mu_j = x^T M T_j(A) x, j = 0..J, from T_0 x .. T_{ceil(J/2)} x
    // by the doubling identities of the M-self-adjoint A,
    //   mu_{2k} = 2 (T_k x)^T M T_k x - mu_0,
    //   mu_{2k+1} = 2 (T_k x)^T M T_{k+1} x - mu_1,
    // half the operator applications of the plain recurrence.
    std::vector<double> moments(degree + 1);
    Vector<double>      previous = x, current(x.size()), next(x.size()), m_v(x.size()), work(x.size());
    chebyshev_operator->apply(x, current, work);
    moments[0] = chebyshev_operator->mass_product(x, x, m_v);
    moments[1] = chebyshev_operator->mass_product(x, current, m_v);
    for (unsigned int k = 1; 2 * k <= degree; ++k)
      {
        // previous = T_{k-1} x, current = T_k x; m_v = M T_k x.
        moments[2 * k] = 2 * chebyshev_operator->mass_product(current, current, m_v) - moments[0];
        if (2 * k + 1 > degree)
          break;
        chebyshev_operator->apply(current, next, work);
        next.sadd(2., -1., previous);
        moments[2 * k + 1] = 2 * (m_v * next) - moments[1];
        std::swap(previous, current);
        std::swap(current, next);
      }
    return moments;
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::sum_over_bands(const std::function<double(double)> &f) const
  {
    AssertThrow(used_method == Method::dense,
                ExcMessage("SpectralBands::sum_over_bands needs the eigenvalues (dense method)."));
    std::vector<double> sums(band_edges.size() - 1, 0.);
    for (const double lambda : eigenvalues)
      if (const int b = band_of(lambda); b >= 0)
        sums[b] += f(lambda);
    return sums;
  }


  template <int dim>
  typename SpectralBands<dim>::Method
  SpectralBands<dim>::method() const
  {
    return used_method;
  }


  template <int dim>
  double
  SpectralBands<dim>::smallest_positive_eigenvalue() const
  {
    return lambda_min;
  }


  template <int dim>
  double
  SpectralBands<dim>::largest_eigenvalue() const
  {
    return lambda_max;
  }


  template <int dim>
  unsigned int
  SpectralBands<dim>::chebyshev_degree() const
  {
    return degree;
  }


  template <int dim>
  double
  SpectralBands<dim>::smearing() const
  {
    return degree == 0 ? 0. : M_PI * std::sqrt(lambda_bound) / (2 * degree);
  }


  template <int dim>
  std::string
  SpectralBands<dim>::summary() const
  {
    std::ostringstream s;
    s << band_edges.size() - 1 << " log-spaced bands of sqrt(lambda) from " << band_edges.front() << " to "
      << band_edges.back() << " (the whole spectrum of the mesh), ";
    if (used_method == Method::dense)
      s << "all " << eigenvalues.size() << " eigenpairs (dense)";
    else
      s << "Chebyshev degree " << degree << " (edges smeared over about " << smearing()
        << " in sqrt(lambda); bands narrower than 16 times that are approximate)";
    return s.str();
  }


  template <int dim>
  SpectralBands<dim>::~SpectralBands() = default;


  template class SpectralBands<2>;
  template class SpectralBands<3>;
  template double cell_eigenvalue_bound(const FunctionSpace<2> &);
  template double cell_eigenvalue_bound(const FunctionSpace<3> &);
} // namespace ddo
