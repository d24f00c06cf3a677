#ifndef ddo_lumped_operator_h
#define ddo_lumped_operator_h

/**
 * @file
 * The operator \f$M_L^{-1}K\f$ with the lumped (diagonal) mass matrix, on
 * the functions of a space that satisfy its constraints: the operator whose
 * polynomials a score network can apply to a whole function at linear cost
 * (one sparse product per degree, no solve), and its eigenpairs on small
 * meshes.
 *
 * @ingroup lac
 */

#include <deal.II/lac/full_matrix.h>

#include <ddo/function_space/function_space.h>

#include <vector>

namespace ddo
{
  /**
   * The N × N matrix A with \f$A u = P\,D^{-1}P^TKP\,u_f\f$ for functions u
   * that satisfy the space's (homogeneous) constraints: P distributes the
   * free coefficients \f$u_f\f$, \f$P^TKP\f$ is the condensed stiffness
   * matrix and D the condensed lumped mass \f$P^Tw\f$ (w the quadrature
   * weights \f$\int\psi_i\f$, the row sums of M). Its eigenvalues are those
   * of the pencil \f$(P^TKP, D)\f$, which approximate the Laplacian's
   * eigenvalues from below as those of \f$(K, M)\f$ do from above.
   */
  struct LumpedOperator
  {
    /** Coordinates and values of the nonzero entries. */
    std::vector<std::int64_t> rows, columns;
    std::vector<double>       values;
    /** Number of rows (the DoFs of the space). */
    std::int64_t size = 0;
    /** An upper bound of its eigenvalues (Gershgorin: the largest absolute row sum of the free rows). */
    double eigenvalue_bound = 0;
    /** A lower bound of its eigenvalues (0 where none is known). */
    double eigenvalue_lower_bound = 0;
  };

  /** The lumped operator of the serial @p space. */
  template <int dim>
  LumpedOperator
  make_lumped_operator(const FunctionSpace<dim> &space);

  /**
   * The same construction with the mass matrix in place of K: B with
   * \f$B u = P\,D^{-1}P^TMP\,u_f\f$, whose eigenvalues lie in
   * [`eigenvalue_lower_bound`, 1] (1/(dim+2) for linear simplices). Then
   * \f$M^{-1}K = B^{-1}A\f$ on the free DoFs, and a polynomial of B that
   * approximates \f$B^{-1}\f$ turns A into the consistent operator to
   * that accuracy, with sparse products only. Degree 1 only.
   */
  template <int dim>
  LumpedOperator
  make_lumped_mass_operator(const FunctionSpace<dim> &space);

  /**
   * All eigenpairs of the pencil \f$(P^TKP, D)\f$ of the serial @p space
   * (dense LAPACK; at most @p max_free_dofs free DoFs, else an error):
   * @p eigenvalues increasing, and @p projector (free DoFs × N) whose row i
   * gives the coefficient \f$a_i = \psi_i^T D u_f\f$ of a function u in the
   * D-orthonormal eigenvector \f$\psi_i\f$.
   */
  template <int dim>
  void
  lumped_eigenpairs(const FunctionSpace<dim> &space,
                    std::vector<double> &     eigenvalues,
                    FullMatrix<double> &      projector,
                    const unsigned int        max_free_dofs = 5000);
} // namespace ddo

#endif
