#include <deal.II/fe/fe_values.h>
#include <deal.II/lac/precondition.h>
#include <deal.II/lac/solver_cg.h>
#include <deal.II/lac/solver_control.h>
#include <deal.II/lac/trilinos_precondition.h>

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


    /** M^{-1} by Jacobi-preconditioned CG to a relative 1e-10 (for the Chebyshev recurrence and Lanczos). */
    class MassInverse
    {
    public:
      explicit MassInverse(const TrilinosWrappers::SparseMatrix &mass)
        : mass(mass)
      {
        jacobi.initialize(mass);
      }

      void
      vmult(VectorType &dst, const VectorType &src) const
      {
        ReductionControl     control(2000, 1e-300, 1e-10);
        SolverCG<VectorType> cg(control);
        dst = 0;
        cg.solve(mass, dst, src, jacobi);
      }

    private:
      const TrilinosWrappers::SparseMatrix &mass;
      TrilinosWrappers::PreconditionJacobi  jacobi;
    };


    /**
     * The largest eigenvalue of K phi = lambda M phi (condensed matrices),
     * estimated by the Lanczos process of 60 CG iterations on K + M with
     * M as the preconditioner (deal.II's CG eigenvalue estimates; they
     * converge from below, fast at the ends of the spectrum).
     */
    double
    lanczos_largest_eigenvalue(const TrilinosWrappers::SparseMatrix &k, const TrilinosWrappers::SparseMatrix &m,
                               const MassInverse &mass_inverse, const VectorType &start)
    {
      TrilinosWrappers::SparseMatrix shifted;
      shifted.copy_from(k);
      shifted.add(1., m);
      double                largest = 0;
      IterationNumberControl control(60, 1e-300);
      SolverCG<VectorType>  cg(control);
      cg.connect_eigenvalues_slot(
        [&](const std::vector<double> &eigenvalues) {
          if (!eigenvalues.empty())
            largest = *std::max_element(eigenvalues.begin(), eigenvalues.end());
        },
        false);
      VectorType solution = start;
      solution            = 0;
      cg.solve(shifted, solution, start, mass_inverse);
      return largest - 1;
    }
  } // namespace


  template <int dim>
  class SpectralBands<dim>::MassInverseType : public MassInverse
  {
  public:
    using MassInverse::MassInverse;
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
    // The Chebyshev series live on [0, the rigorous bound]; the bands end
    // at the Lanczos estimate of the largest eigenvalue, as the dense
    // method's do at the exact one.
    lambda_bound = cell_eigenvalue_bound(space);
    lambda_max   = lambda_bound;
    {
      // The lowest modes exactly (ARPACK): their energies are sharp, and
      // smooth fields keep most of theirs there, so that the smeared edges
      // of the Chebyshev filters only see the rest.
      const unsigned int n_low = std::min<unsigned int>(settings.exact_modes, n_free_dofs(space) / 4);
      AssertThrow(n_low >= 2, ExcMessage("SpectralBands: the chebyshev method needs at least 2 exact modes."));
      const SpectralBasis<dim> low(space, n_low, settings.cache_directory, SpectralBasis<dim>::Method::arpack);
      low_eigenvalues = low.eigenvalues();
      low_vectors     = low.eigenvectors();
      for (const double lambda : low_eigenvalues)
        if (lambda > null_space_fraction * lambda_max)
          {
            lambda_min = lambda;
            break;
          }
    }
    AssertThrow(lambda_min > 0, ExcMessage("SpectralBands: no positive eigenvalue among the lowest four."));
    assemble_condensed_matrix(space, 0., 1., 0., k_condensed);
    assemble_condensed_matrix(space, 1., 0., 1., m_condensed);
    mass_inverse = std::make_unique<MassInverseType>(m_condensed);
    {
      VectorType start = space.create_vector();
      for (std::size_t i = 0; i < start.size(); ++i)
        start[i] = std::sin(1. + 12.9898 * i); // deterministic, not smooth
      for (const auto &line : space.get_constraints().get_lines())
        start[line.index] = 0;
      lambda_max = std::min(lambda_bound, lanczos_largest_eigenvalue(k_condensed, m_condensed, *mass_inverse, start));
    }
    set_edges(settings.n_bands);
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
    return used_method == Method::dense ? dense_energies(u) : chebyshev_energies(u);
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::mean_energies(const std::vector<double> &values, const unsigned int n_functions) const
  {
    const std::size_t N = space.n_dofs();
    AssertThrow(n_functions > 0 && values.size() == N * n_functions,
                ExcMessage("SpectralBands: need n_functions full coefficient vectors of the space."));
    std::vector<double> mean(band_edges.size() - 1, 0.);
    if (used_method == Method::dense)
      {
        // In blocks of functions: coefficients = projector * U (BLAS-3).
        const unsigned int block = 64;
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
                  mean[b] += c(i, s) * c(i, s) / n_functions;
          }
        return mean;
      }
    VectorType u = space.create_vector();
    for (unsigned int s = 0; s < n_functions; ++s)
      {
        for (std::size_t j = 0; j < N; ++j)
          u[j] = values[s * N + j];
        const auto e = chebyshev_energies(u);
        for (unsigned int b = 0; b < e.size(); ++b)
          mean[b] += e[b] / n_functions;
      }
    return mean;
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::dense_energies(const VectorType &u) const
  {
    std::vector<double> values(u.begin(), u.end());
    return mean_energies(values, 1);
  }


  template <int dim>
  std::vector<double>
  SpectralBands<dim>::chebyshev_energies(const VectorType &u) const
  {
    // Moments mu_j = x^T M T_j(A) x of A = 2 M^{-1} K / lambda_bound - I on
    // the free coefficients x (u with its constrained entries zeroed: the
    // condensed matrices act on those).
    // The exact low modes first; the Chebyshev series act on the rest.
    std::vector<double> result(coefficients.size(), 0.);
    const auto &constraints = space.get_constraints();
    VectorType  x           = u;
    for (unsigned int i = 0; i < low_vectors.size(); ++i)
      {
        const double c = space.l2_inner_product(low_vectors[i], u);
        x.add(-c, low_vectors[i]);
        if (const int b = band_of(low_eigenvalues[i]); b >= 0)
          result[b] += c * c;
      }
    for (const auto &line : constraints.get_lines())
      x[line.index] = 0;
    VectorType m_x = space.create_vector(), previous = x, current = space.create_vector(),
               next = space.create_vector(), k_v = space.create_vector();
    m_condensed.vmult(m_x, x);

    auto apply = [&](const VectorType &v, VectorType &result) {
      k_condensed.vmult(k_v, v);
      mass_inverse->vmult(result, k_v);
      result *= 2. / lambda_bound;
      result -= v;
    };

    std::vector<double> moments(degree + 1);
    moments[0] = m_x * x;
    apply(x, current);
    moments[1] = m_x * current;
    for (unsigned int j = 2; j <= degree; ++j)
      {
        apply(current, next);
        next *= 2.;
        next -= previous;
        moments[j] = m_x * next;
        std::swap(previous, current);
        std::swap(current, next);
      }
    for (unsigned int b = 0; b < coefficients.size(); ++b)
      for (unsigned int j = 0; j <= degree; ++j)
        result[b] += coefficients[b][j] * moments[j];
    return result;
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
