#ifndef ddo_torch_bridge_h
#define ddo_torch_bridge_h

/**
 * @file
 * Moving FE coefficient vectors between deal.II and LibTorch.
 *
 * A batch of B vectors becomes a tensor of shape `[B, n_local]`, where
 * `n_local` is the number of locally owned entries (all entries of a serial
 * vector). Each direction makes exactly one pass over the data: the vector's
 * storage is wrapped with `torch::from_blob` (no copy) and one `copy_`
 * converts to or from the requested dtype. No entry-wise accessor loops.
 *
 * Supported vector types: dealii::Vector<double> and
 * dealii::TrilinosWrappers::MPI::Vector (without ghost entries).
 *
 * This is the only public header of ddo that includes torch: keep it out of
 * files that do not need it, they compile much faster.
 *
 * @ingroup torch_bridge
 */

#include <deal.II/lac/trilinos_vector.h>
#include <deal.II/lac/vector.h>

#include <torch/torch.h>

#include <vector>

namespace ddo
{
  namespace torch_bridge
  {
    /**
     * A tensor of dtype double and shape `[n_local]` that **aliases** the
     * locally owned storage of @p vector (no copy): writes through it change
     * the vector. Valid as long as the vector is alive and not reinitialized.
     */
    torch::Tensor
    view(dealii::Vector<double> &vector);
    torch::Tensor
    view(dealii::TrilinosWrappers::MPI::Vector &vector);

    /**
     * Stacks the locally owned entries of @p vectors into a new tensor of
     * shape `[vectors.size(), n_local]` and dtype @p dtype (one copy).
     * All vectors must have the same local size.
     */
    torch::Tensor
    to_tensor(const std::vector<const dealii::Vector<double> *> &vectors,
              torch::Dtype dtype = torch::kFloat32);
    torch::Tensor
    to_tensor(const std::vector<const dealii::TrilinosWrappers::MPI::Vector *> &vectors,
              torch::Dtype dtype = torch::kFloat32);

    /** One vector as a tensor of shape `[1, n_local]`. */
    torch::Tensor
    to_tensor(const dealii::Vector<double> &vector, torch::Dtype dtype = torch::kFloat32);
    torch::Tensor
    to_tensor(const dealii::TrilinosWrappers::MPI::Vector &vector,
              torch::Dtype                                  dtype = torch::kFloat32);

    /**
     * Writes row b of @p tensor (shape `[B, n_local]`, any floating dtype and
     * device) into the locally owned entries of `*vectors[b]` (one copy).
     */
    void
    from_tensor(const torch::Tensor &tensor, const std::vector<dealii::Vector<double> *> &vectors);
    void
    from_tensor(const torch::Tensor &                                       tensor,
                const std::vector<dealii::TrilinosWrappers::MPI::Vector *> &vectors);

    /** Writes a tensor of shape `[n_local]` or `[1, n_local]` into @p vector. */
    void
    from_tensor(const torch::Tensor &tensor, dealii::Vector<double> &vector);
    void
    from_tensor(const torch::Tensor &tensor, dealii::TrilinosWrappers::MPI::Vector &vector);
  } // namespace torch_bridge
} // namespace ddo

#endif
