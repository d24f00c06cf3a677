#ifndef ddo_compressed_rows_h
#define ddo_compressed_rows_h

/**
 * @file
 * A sparse matrix in compressed rows with a product on the rows of a
 * row-major `[n, batch]` block, for the polynomials of the whole-spectrum
 * skip.
 *
 * Why hand-written: the skip's Chebyshev series takes hundreds of sparse
 * products per network evaluation, each on a small block (1089 rows and a
 * batch of 16 on the Navier–Stokes torus). Through torch's sparse COO
 * product each one is a dispatched operator with its own allocations, plus
 * five elementwise operators for the mass iteration, and autograd keeps
 * every term for the backward pass; fused into one loop over
 * compressed rows per product, the series and its adjoint run 4–5 times
 * faster, from 10^3 to 10^6 DoFs (`benchmarks/whole_spectrum_benchmark.cc`,
 * doc/benchmarks_whole_spectrum.md).
 *
 * @ingroup network
 */

#include <torch/torch.h>

#include <cstdint>

namespace ddo
{
  /**
   * A square sparse matrix in compressed rows (CSR), held in tensors so that
   * an autograd function can keep it for its backward pass.
   */
  struct CompressedRows
  {
    torch::Tensor row_start; ///< `[n + 1]` int64 offsets into columns and values
    torch::Tensor columns;   ///< `[nnz]` int64
    torch::Tensor values;    ///< `[nnz]` float64

    /** Number of rows. */
    std::int64_t
    n_rows() const
    {
      return row_start.size(0) - 1;
    }

    /** The matrix of a sparse COO tensor `[n, n]` (any dtype; coalesced here). */
    static CompressedRows
    from_sparse(const torch::Tensor &matrix);

    /** The transpose. */
    CompressedRows
    transposed() const;

    /**
     * \f$y = A x\f$ for the rows of row-major `[n_rows, batch]` blocks
     * @p x and @p y (which must not overlap). Rows are split among torch's
     * intra-op threads.
     */
    template <typename Number>
    void
    vmult(const Number *x, Number *y, std::int64_t batch) const;
  };
} // namespace ddo

#endif
