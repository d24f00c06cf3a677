#ifndef ddo_spectral_basis_h
#define ddo_spectral_basis_h

/**
 * @file
 * The generalized eigenbasis \f$K\varphi_k = \lambda_k M\varphi_k\f$ of a
 * function space: the Laplacian eigenfunctions of the mesh (with the space's
 * natural, i.e. Neumann, or periodic boundary conditions).
 *
 * @ingroup lac
 */

#include <deal.II/lac/vector.h>

#include <ddo/function_space/function_space.h>

#include <string>
#include <vector>

namespace ddo
{
  /**
   * The @p n_modes smallest eigenpairs of \f$K\varphi = \lambda M\varphi\f$
   * on the constraint-satisfying functions of a FunctionSpace, sorted by
   * increasing \f$\lambda\f$ and M-orthonormal: \f$\varphi_j^T M \varphi_k =
   * \delta_{jk}\f$ (exactly the L2 inner product of the FE functions).
   *
   * How they are computed:
   * - small problems (at most 2000 free DoFs, serial): dense LAPACK on the
   *   matrices restricted to the free DoFs, \f$P^TKP\f$ and \f$P^TMP\f$;
   * - otherwise: (P)ARPACK Lanczos in shift-invert mode (shift \f$-1\f$)
   *   with a sparse direct factorization (Amesos KLU) of the condensed
   *   \f$K - \sigma M\f$, reused for all iterations. Constrained DoFs get
   *   decoupled rows with eigenvalue far above the spectrum of interest.
   * Eigenvalues are then recomputed as Rayleigh quotients with the exact
   * M and K, and vectors re-normalized in M.
   *
   * A disk cache (serial meshes only) avoids recomputing: the file name
   * contains the mesh fingerprint, a hash of the constraints and the number
   * of modes; files are written atomically and checked when read (a
   * corrupt or mismatched file is recomputed and replaced, with a note on
   * stderr).
   *
   * Eigenvectors are defined up to sign (and up to rotations inside
   * degenerate eigenspaces): consumers must be invariant to that, as
   * functions of \f$\lambda\f$ are.
   */
  template <int dim>
  class SpectralBasis
  {
  public:
    /** How the eigenpairs are computed. */
    enum class Method
    {
      automatic, ///< dense for at most 2000 free DoFs in serial, else ARPACK
      dense,     ///< LAPACK on the free DoFs (serial only)
      arpack     ///< (P)ARPACK shift-invert Lanczos
    };

    /**
     * Computes (or loads from @p cache_directory, if not empty) the
     * @p n_modes smallest eigenpairs. Throws if @p n_modes is zero or not
     * smaller than the number of free DoFs (equal to it, i.e. all
     * eigenpairs, only with Method::dense). Collective.
     */
    SpectralBasis(const FunctionSpace<dim> &space,
                  const unsigned int        n_modes,
                  const std::string &       cache_directory = "",
                  const Method              method          = Method::automatic);

    /** Number of modes. */
    unsigned int
    n_modes() const;

    /** The eigenvalues, increasing. */
    const std::vector<double> &
    eigenvalues() const;

    /** The eigenvectors, M-orthonormal, satisfying the constraints. */
    const std::vector<VectorType> &
    eigenvectors() const;

    /** Coefficients \f$c_k = \varphi_k^T M v\f$ of @p v (collective). */
    Vector<double>
    project(const VectorType &v) const;

    /** @p v = \f$\sum_k c_k \varphi_k\f$. */
    void
    expand(const Vector<double> &coefficients, VectorType &v) const;

    /** Whether the basis was read from the cache rather than computed. */
    bool
    loaded_from_cache() const;

    /** The space the basis belongs to. */
    const FunctionSpace<dim> &
    get_space() const;

  private:
    void
    compute_dense();
    void
    compute_arpack();
    void
    normalize_and_sort();
    std::string
    cache_file_name(const std::string &directory) const;
    bool
    read_cache(const std::string &file_name);
    void
    write_cache(const std::string &file_name) const;

    const FunctionSpace<dim> &space;
    unsigned int              n_requested;
    std::vector<double>       lambdas;
    std::vector<VectorType>   vectors;
    bool                      from_cache = false;
  };


  /**
   * Assembles \f$a M + b K\f$ (FE mass and stiffness forms with the space's
   * mapping and quadrature) with the space's constraints eliminated, into
   * @p matrix (re-initialized). Rows and columns of constrained DoFs are
   * zero except for their diagonal, which is set to
   * @p constrained_diagonal. Collective.
   */
  template <int dim>
  void
  assemble_condensed_matrix(const FunctionSpace<dim> &      space,
                            const double                    mass_factor,
                            const double                    stiffness_factor,
                            const double                    constrained_diagonal,
                            TrilinosWrappers::SparseMatrix &matrix);

  /** Number of DoFs that are not constrained (collective). */
  template <int dim>
  types::global_dof_index
  n_free_dofs(const FunctionSpace<dim> &space);
} // namespace ddo

#endif
