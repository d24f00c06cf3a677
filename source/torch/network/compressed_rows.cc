#include <deal.II/base/exceptions.h>

#include <ddo/torch/network/compressed_rows.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace ddo
{
  CompressedRows
  CompressedRows::from_sparse(const torch::Tensor &matrix)
  {
    AssertThrow(matrix.is_sparse() && matrix.dim() == 2 && matrix.size(0) == matrix.size(1),
                dealii::ExcMessage("CompressedRows: a square sparse COO matrix is expected."));
    const torch::Tensor coalesced = matrix.coalesce();
    const torch::Tensor indices   = coalesced._indices().to(torch::kInt64).contiguous();
    const std::int64_t  n         = matrix.size(0);

    CompressedRows result;
    result.columns = indices[1].contiguous();
    result.values  = coalesced._values().to(torch::kFloat64).contiguous();
    // Coalesced COO is sorted by row, then column: counting gives the offsets.
    result.row_start           = torch::zeros({n + 1}, torch::kInt64);
    std::int64_t       *offset = result.row_start.data_ptr<std::int64_t>();
    const std::int64_t *rows   = indices.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < indices.size(1); ++k)
      ++offset[rows[k] + 1];
    std::partial_sum(offset, offset + n + 1, offset);
    return result;
  }


  CompressedRows
  CompressedRows::transposed() const
  {
    const std::int64_t  n         = n_rows();
    const std::int64_t  nnz       = columns.size(0);
    const std::int64_t *start     = row_start.data_ptr<std::int64_t>();
    const std::int64_t *column    = columns.data_ptr<std::int64_t>();
    const double       *value     = values.data_ptr<double>();
    CompressedRows      result;
    result.row_start              = torch::zeros({n + 1}, torch::kInt64);
    result.columns                = torch::empty({nnz}, torch::kInt64);
    result.values                 = torch::empty({nnz}, torch::kFloat64);
    std::int64_t *offset          = result.row_start.data_ptr<std::int64_t>();
    std::int64_t *result_column   = result.columns.data_ptr<std::int64_t>();
    double       *result_value    = result.values.data_ptr<double>();
    for (std::int64_t k = 0; k < nnz; ++k)
      ++offset[column[k] + 1];
    std::partial_sum(offset, offset + n + 1, offset);
    std::vector<std::int64_t> next(offset, offset + n);
    for (std::int64_t row = 0; row < n; ++row)
      for (std::int64_t k = start[row]; k < start[row + 1]; ++k)
        {
          const std::int64_t position = next[column[k]]++;
          result_column[position]     = row;
          result_value[position]      = value[k];
        }
    return result;
  }


  template <typename Number>
  void
  CompressedRows::vmult(const Number *x, Number *y, const std::int64_t batch) const
  {
    const std::int64_t *start  = row_start.data_ptr<std::int64_t>();
    const std::int64_t *column = columns.data_ptr<std::int64_t>();
    const double       *value  = values.data_ptr<double>();
    at::parallel_for(0, n_rows(), 256, [&](const std::int64_t begin, const std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row)
        {
          Number *__restrict out = y + row * batch;
          std::fill(out, out + batch, Number(0));
          for (std::int64_t k = start[row]; k < start[row + 1]; ++k)
            {
              const Number                  entry = static_cast<Number>(value[k]);
              const Number *__restrict in    = x + column[k] * batch;
              for (std::int64_t b = 0; b < batch; ++b)
                out[b] += entry * in[b];
            }
        }
    });
  }


  template void
  CompressedRows::vmult(const float *, float *, std::int64_t) const;
  template void
  CompressedRows::vmult(const double *, double *, std::int64_t) const;
} // namespace ddo
