#include <deal.II/base/exceptions.h>

#include <ddo/torch/torch_bridge.h>

namespace ddo
{
  namespace torch_bridge
  {
    namespace
    {
      using namespace dealii;

      inline std::int64_t
      local_size(const Vector<double> &v)
      {
        return static_cast<std::int64_t>(v.size());
      }

      inline std::int64_t
      local_size(const TrilinosWrappers::MPI::Vector &v)
      {
        return static_cast<std::int64_t>(v.locally_owned_size());
      }

      inline void
      check_writable(const Vector<double> &)
      {}

      inline void
      check_writable(const TrilinosWrappers::MPI::Vector &v)
      {
        AssertThrow(!v.has_ghost_elements(),
                    ExcMessage("torch_bridge: cannot write into or view a "
                               "ghosted Trilinos vector; use a vector of "
                               "locally owned entries."));
      }

      // Pointer to the contiguous locally owned entries.
      inline double *
      local_data(Vector<double> &v)
      {
        return v.begin();
      }

      inline double *
      local_data(TrilinosWrappers::MPI::Vector &v)
      {
        return v.begin();
      }


      template <typename VectorType>
      torch::Tensor
      view_of(VectorType &vector)
      {
        check_writable(vector);
        return torch::from_blob(local_data(vector), {local_size(vector)},
                                torch::TensorOptions().dtype(torch::kFloat64));
      }


      template <typename VectorType>
      torch::Tensor
      stack(const std::vector<const VectorType *> &vectors, torch::Dtype dtype)
      {
        AssertThrow(!vectors.empty(), ExcMessage("to_tensor: empty batch of vectors."));
        const std::int64_t n = local_size(*vectors[0]);
        torch::Tensor      result =
          torch::empty({static_cast<std::int64_t>(vectors.size()), n},
                       torch::TensorOptions().dtype(dtype));
        for (std::size_t b = 0; b < vectors.size(); ++b)
          {
            AssertThrow(local_size(*vectors[b]) == n,
                        ExcMessage("to_tensor: vector " + std::to_string(b) + " has " +
                                   std::to_string(local_size(*vectors[b])) +
                                   " local entries, vector 0 has " + std::to_string(n) + "."));
            // Reading only: the cast does not let anything write.
            result[b].copy_(view_of(const_cast<VectorType &>(*vectors[b])));
          }
        return result;
      }


      template <typename VectorType>
      void
      unstack(const torch::Tensor &tensor, const std::vector<VectorType *> &vectors)
      {
        AssertThrow(tensor.dim() == 2 &&
                      tensor.size(0) == static_cast<std::int64_t>(vectors.size()),
                    ExcMessage("from_tensor: expected a tensor of shape [" +
                               std::to_string(vectors.size()) +
                               ", n_local], got one with " + std::to_string(tensor.dim()) +
                               " dimensions."));
        AssertThrow(tensor.is_floating_point(),
                    ExcMessage("from_tensor: the tensor must have a floating dtype."));
        for (std::size_t b = 0; b < vectors.size(); ++b)
          {
            AssertThrow(tensor.size(1) == local_size(*vectors[b]),
                        ExcMessage("from_tensor: row length " + std::to_string(tensor.size(1)) +
                                   " does not match the " +
                                   std::to_string(local_size(*vectors[b])) +
                                   " local entries of vector " + std::to_string(b) + "."));
            view_of(*vectors[b]).copy_(tensor[b]);
          }
      }
    } // namespace


#define DDO_DEFINE_BRIDGE(V)                                                          \
  torch::Tensor view(V &vector) { return view_of(vector); }                           \
  torch::Tensor to_tensor(const std::vector<const V *> &vectors, torch::Dtype dtype)  \
  {                                                                                   \
    return stack(vectors, dtype);                                                     \
  }                                                                                   \
  torch::Tensor to_tensor(const V &vector, torch::Dtype dtype)                        \
  {                                                                                   \
    return stack(std::vector<const V *>{&vector}, dtype);                             \
  }                                                                                   \
  void from_tensor(const torch::Tensor &tensor, const std::vector<V *> &vectors)      \
  {                                                                                   \
    unstack(tensor, vectors);                                                         \
  }                                                                                   \
  void from_tensor(const torch::Tensor &tensor, V &vector)                            \
  {                                                                                   \
    unstack(tensor.dim() == 1 ? tensor.unsqueeze(0) : tensor, std::vector<V *>{&vector}); \
  }

    DDO_DEFINE_BRIDGE(dealii::Vector<double>)
    DDO_DEFINE_BRIDGE(dealii::TrilinosWrappers::MPI::Vector)
#undef DDO_DEFINE_BRIDGE
  } // namespace torch_bridge
} // namespace ddo
