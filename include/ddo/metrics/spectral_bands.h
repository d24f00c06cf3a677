#ifndef ddo_spectral_bands_h
#define ddo_spectral_bands_h

/**
 * @file
 * The energy spectrum of FE functions over the whole spectrum of the mesh's
 * operator \f$M^{-1}K\f$: how much of a field lies at each resolved scale,
 * from the domain's size down to the mesh's resolution.
 *
 * @ingroup metrics
 */

#include <deal.II/lac/lapack_full_matrix.h>
#include <deal.II/lac/trilinos_sparse_matrix.h>
#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ddo
{
  /**
   * Energy per band of the generalized eigenproblem
   * \f$K\varphi_i = \lambda_i M\varphi_i\f$ (M-orthonormal eigenfunctions,
   * the space's constraints and natural boundary conditions), over **all**
   * eigenvalues of the mesh: the band energy of a function u is
   * \f[
   *   E_b(u) = \sum_{\lambda_i \in b} (\varphi_i^T M u)^2 ,
   * \f]
   * so that the energies of all bands and of the null space (the constants
   * of Neumann and periodic spaces) add up to \f$\|u\|_{L^2}^2\f$. The
   * bands are log-spaced in \f$\sqrt\lambda\f$ (the analogue of a
   * wavenumber) from the smallest positive eigenvalue to the largest one:
   * the resolved scales of the mesh, each band a fixed ratio of scales.
   *
   * Two methods give the same quantity:
   * - **dense**: all eigenpairs (LAPACK on the free DoFs, through
   *   SpectralBasis, cached on disk), exact; for up to `Dense limit` free
   *   DoFs (cost \f$O(N^3)\f$ once and \f$O(N^2)\f$ per function);
   * - **chebyshev** (the kernel polynomial method): the band indicator
   *   functions as Jackson-damped Chebyshev series of degree J in
   *   \f$M^{-1}K\f$ on \f$[0, L]\f$: L is 1.1 times the Lanczos estimate
   *   of the largest eigenvalue once a probe vector's Chebyshev moments
   *   show no eigenvalue above it (outside \f$[-1, 1]\f$ the polynomials
   *   grow exponentially with the degree), else the rigorous bound of the
   *   cell pencils (cell_eigenvalue_bound(), up to 9 times higher on
   *   refined Gmsh tetrahedra, and the degree grows with \f$\sqrt L\f$);
   *   every function's moments are checked the same way. Each function
   *   needs J/2 products with K and J/2 mass solves (conjugate gradients;
   *   the moments of degree J come from those of degree J/2 by the
   *   doubling identities of Chebyshev polynomials), cost linear in the
   *   DoFs, no eigenvectors.
   *   The lowest `exact_modes` eigenpairs (ARPACK; they include the null
   *   space and give the smallest positive eigenvalue) are projected out
   *   and counted exactly, where smooth fields keep most of their energy;
   *   the series act on the rest (the Jackson kernel's tails fall only
   *   like the inverse fourth power of the distance, so a large energy
   *   near an edge would leak). The bands add up to \f$\|u\|^2\f$ less
   *   the null space part exactly. An interior band edge is smeared over
   *   about \f$\Delta\sqrt\lambda = \pi\sqrt{L}/(2J)\f$
   *   (smearing()); the automatic degree makes that a sixteenth of the
   *   narrowest band that reaches above the exact modes, up to J = 4000
   *   (beyond, the summary says which bands are approximate).
   *
   * Serial spaces only.
   */
  template <int dim>
  class SpectralBands
  {
  public:
    /** How the band energies are computed. */
    enum class Method
    {
      automatic, ///< dense up to `dense_limit` free DoFs, else chebyshev
      dense,
      chebyshev
    };

    /** Settings. */
    struct Settings
    {
      /** Number of log-spaced bands of \f$\sqrt\lambda\f$. */
      unsigned int n_bands = 12;
      Method       method  = Method::automatic;
      /** The largest space for the automatic dense method (free DoFs). */
      unsigned int dense_limit = 5000;
      /** Chebyshev degree J; 0: the smallest that resolves the narrowest band (at most 4000). */
      unsigned int chebyshev_degree = 0;
      /** Chebyshev: the lowest eigenpairs computed exactly (at most a quarter of the free DoFs). */
      unsigned int exact_modes = 64;
      /** Directory of the eigenpair cache (empty: none). */
      std::string cache_directory;
    };

    /** Sets up the method and the bands on the serial @p space. */
    SpectralBands(const FunctionSpace<dim> &space, const Settings &settings);

    ~SpectralBands();

    /** Band edges in \f$\sqrt\lambda\f$, increasing (number of bands + 1). */
    const std::vector<double> &
    edges() const;

    /** Geometric centres of the bands in \f$\sqrt\lambda\f$. */
    std::vector<double>
    centres() const;

    /**
     * Band energies of @p n_functions row-major coefficient vectors
     * @p values, averaged over the functions.
     */
    std::vector<double>
    mean_energies(const std::vector<double> &values, const unsigned int n_functions) const;

    /**
     * Band energies of each of @p n_functions row-major coefficient vectors
     * @p values: one row of band energies per function. The chebyshev
     * method evaluates several functions at a time on deal.II's threads
     * (MultithreadInfo::n_threads()); the result does not depend on their
     * number.
     */
    std::vector<std::vector<double>>
    energies_of_each(const std::vector<double> &values, const unsigned int n_functions) const;

    /** Band energies of one function. */
    std::vector<double>
    energies(const VectorType &u) const;

    /**
     * A function the chebyshev method calls with (functions done, functions
     * asked for) while it works through a set of functions (long work on
     * large meshes), first with 0 done; empty: none. Called on the calling
     * thread.
     */
    void
    set_progress(const std::function<void(unsigned int, unsigned int)> &callback);

    /**
     * \f$\sum_{\lambda_i \in b} f(\lambda_i)\f$ for every band b: e.g. the
     * expected band energies of a Gaussian field whose covariance is
     * diagonal in the eigenbasis, or (f = 1) the number of modes per
     * band. Dense method only.
     */
    std::vector<double>
    sum_over_bands(const std::function<double(double)> &f) const;

    /** The method in use (never automatic). */
    Method
    method() const;

    /** Smallest positive eigenvalue (the lower edge of the first band, squared). */
    double
    smallest_positive_eigenvalue() const;

    /** The largest eigenvalue (dense: exact; chebyshev: the Lanczos estimate). */
    double
    largest_eigenvalue() const;

    /** The Chebyshev degree (0 for the dense method). */
    unsigned int
    chebyshev_degree() const;

    /**
     * Width in \f$\sqrt\lambda\f$ over which the Chebyshev method smears
     * a band edge, \f$\pi\sqrt{L}/(2J)\f$ (0 for dense).
     */
    double
    smearing() const;

    /** The largest degree the automatic choice takes. */
    static constexpr unsigned int max_automatic_degree = 4000;

    /** A line that says how the bands were computed. */
    std::string
    summary() const;

  private:
    void
    set_up_dense(const Settings &settings);
    void
    set_up_chebyshev(const Settings &settings);
    /** The exact low modes and the smallest positive eigenvalue. */
    void
    set_up_low_modes(const Settings &settings, const double rigorous_bound);
    /** The degree and the band coefficients on [0, lambda_bound]. */
    void
    set_up_series(const Settings &settings);
    /** |mu_j| <= mu_0 for all j (to rounding): the spectrum lies in the series' interval. */
    static bool
    moments_are_bounded(const std::vector<double> &moments);
    void
    set_edges(const unsigned int n_bands);
    std::vector<std::vector<double>>
    dense_energies(const std::vector<double> &values, const unsigned int n_functions) const;
    std::vector<std::vector<double>>
    chebyshev_energies(const std::vector<double> &values, const unsigned int n_functions) const;
    /**
     * The free coefficients of @p u less its exact low modes, whose
     * energies are added to @p energies.
     */
    Vector<double>
    remove_low_modes(const VectorType &u, std::vector<double> &energies) const;
    /** x^T M T_j(A) x for j = 0..degree. */
    std::vector<double>
    chebyshev_moments(const Vector<double> &x) const;
    /** The band of eigenvalue @p lambda (-1: null space or outside). */
    int
    band_of(const double lambda) const;

    const FunctionSpace<dim> &space;
    Method                    used_method;
    double                    lambda_min = 0, lambda_max = 0;
    std::vector<double>       band_edges;

    // Dense: all eigenvalues and the rows psi_i^T M (n_modes x n_dofs).
    std::vector<double>      eigenvalues;
    LAPACKFullMatrix<double> projector;

    // Chebyshev: the operator of the series, and the damped expansion
    // coefficients of each band's indicator (band b, degree j).
    std::vector<double>              low_eigenvalues;
    std::vector<VectorType>          low_vectors;
    /** The upper end L of the series' interval (see the class description). */
    double lambda_bound = 0;
    class ChebyshevOperator;
    std::unique_ptr<ChebyshevOperator>              chebyshev_operator;
    unsigned int                                    degree = 0;
    std::vector<std::vector<double>>                coefficients;
    std::function<void(unsigned int, unsigned int)> progress;
  };

  /**
   * The largest eigenvalue of the cell pencils \f$(K_e, M_e)\f$ over the
   * mesh: an upper bound of the largest eigenvalue of \f$K\varphi =
   * \lambda M\varphi\f$ on the space (a Rayleigh quotient of sums is at most
   * the largest quotient of the summands; constraints restrict the space
   * and can only lower it).
   */
  template <int dim>
  double
  cell_eigenvalue_bound(const FunctionSpace<dim> &space);
} // namespace ddo

#endif
