#include <ddo/lac/lumped_operator.h>
#include <ddo/metrics/spectral_bands.h>
#include <ddo/torch/network/network_geometry.h>
#include <ddo/torch/torch_bridge.h>

namespace ddo
{
  namespace
  {
    void
    all_reduce_in_place(torch::Tensor &x, MPI_Comm comm)
    {
      AssertThrow(x.is_contiguous() && x.device().is_cpu(),
                  ExcMessage("all_reduce_sum: needs a contiguous CPU tensor."));
      MPI_Datatype type = x.scalar_type() == torch::kFloat64 ? MPI_DOUBLE : MPI_FLOAT;
      AssertThrow(x.scalar_type() == torch::kFloat64 || x.scalar_type() == torch::kFloat32,
                  ExcMessage("all_reduce_sum: float32 or float64 only."));
      const int ierr = MPI_Allreduce(MPI_IN_PLACE, x.data_ptr(), static_cast<int>(x.numel()),
                                     type, MPI_SUM, comm);
      AssertThrowMPI(ierr);
    }

    class AllReduceSum : public torch::autograd::Function<AllReduceSum>
    {
    public:
      static torch::Tensor
      forward(torch::autograd::AutogradContext *context, const torch::Tensor &x, std::int64_t comm_handle)
      {
        context->saved_data["comm"] = comm_handle;
        torch::Tensor result        = x.contiguous().clone();
        all_reduce_in_place(result, MPI_Comm_f2c(comm_handle));
        return result;
      }

      static torch::autograd::tensor_list
      backward(torch::autograd::AutogradContext *context, torch::autograd::tensor_list grad)
      {
        torch::Tensor g = grad[0].contiguous().clone();
        all_reduce_in_place(g, MPI_Comm_f2c(context->saved_data["comm"].toInt()));
        return {g, torch::Tensor()};
      }
    };
  } // namespace


  torch::Tensor
  all_reduce_sum(const torch::Tensor &x, MPI_Comm comm)
  {
    if (comm == MPI_COMM_SELF || Utilities::MPI::n_mpi_processes(comm) == 1)
      return x;
    return AllReduceSum::apply(x, static_cast<std::int64_t>(MPI_Comm_c2f(comm)));
  }


  torch::Tensor
  NetworkGeometry::integrate(const torch::Tensor &f) const
  {
    // [N] x [B,N,C] -> [B,C]: a batched matrix-vector product.
    return all_reduce_sum(torch::matmul(weights, f), communicator);
  }


  torch::Tensor
  NetworkGeometry::project(const torch::Tensor &h) const
  {
    // [K,N] x [B,N,C] -> [B,K,C]: one batched GEMM (einsum would permute).
    return all_reduce_sum(torch::matmul(mass_modes_transposed, h), communicator);
  }


  torch::Tensor
  NetworkGeometry::expand(const torch::Tensor &c) const
  {
    return torch::matmul(modes, c);
  }


  torch::Tensor
  NetworkGeometry::blended_mass_eigenvalues() const
  {
    // sum_i w_i phi_ik^2: the lumped-mass norms of the M-orthonormal modes.
    torch::Tensor lumped_norms =
      all_reduce_sum(torch::mv(modes.square().t(), weights), communicator); // [K]
    return 2. * eigenvalues / (1. + lumped_norms);
  }


  NetworkGeometry
  NetworkGeometry::permuted(const torch::Tensor &permutation) const
  {
    NetworkGeometry result = *this;
    result.coordinates     = coordinates.index_select(0, permutation);
    result.weights         = weights.index_select(0, permutation);
    result.modes           = modes.index_select(0, permutation);
    result.mass_modes      = mass_modes.index_select(0, permutation);
    result.mass_modes_transposed = result.mass_modes.t().contiguous();
    // The lumped operators follow a renumbering of all rows; a selection of
    // rows (a part of the mesh) has none.
    const auto renumbered = [&](const torch::Tensor &matrix) {
      if (!matrix.defined() || permutation.size(0) != matrix.size(0))
        return torch::Tensor();
      // Row and column i of the result are row and column permutation[i].
      torch::Tensor inverse = torch::empty_like(permutation);
      inverse.index_put_({permutation}, torch::arange(permutation.size(0), permutation.options()));
      torch::Tensor indices = matrix._indices();
      return torch::sparse_coo_tensor(inverse.index_select(0, indices.flatten()).view({2, -1}), matrix._values(),
                                      matrix.sizes())
        .coalesce();
    };
    result.lumped_operator      = renumbered(lumped_operator);
    result.lumped_mass_operator = renumbered(lumped_mass_operator);
    return result;
  }


  NetworkGeometry
  NetworkGeometry::to(torch::Dtype dtype) const
  {
    NetworkGeometry result = *this;
    result.coordinates     = coordinates.to(dtype);
    result.weights         = weights.to(dtype);
    result.modes           = modes.to(dtype);
    result.mass_modes      = mass_modes.to(dtype);
    result.eigenvalues     = eigenvalues.to(dtype);
    result.mass_modes_transposed = mass_modes_transposed.to(dtype);
    if (lumped_operator.defined())
      result.lumped_operator = lumped_operator.to(dtype);
    if (lumped_mass_operator.defined())
      result.lumped_mass_operator = lumped_mass_operator.to(dtype);
    return result;
  }


  template <int dim>
  void
  add_lumped_operators(NetworkGeometry &geometry, const FunctionSpace<dim> &space, const torch::Dtype dtype)
  {
    AssertThrow(!space.is_distributed(),
                ExcMessage("The lumped operators of a network geometry are for serial meshes."));
    const auto n         = static_cast<std::int64_t>(space.n_dofs());
    const auto to_sparse = [&](const LumpedOperator &lumped) {
      const auto    nnz     = static_cast<std::int64_t>(lumped.values.size());
      torch::Tensor indices = torch::empty({2, nnz}, torch::kInt64);
      std::copy(lumped.rows.begin(), lumped.rows.end(), indices.data_ptr<std::int64_t>());
      std::copy(lumped.columns.begin(), lumped.columns.end(), indices.data_ptr<std::int64_t>() + nnz);
      return torch::sparse_coo_tensor(indices, torch::tensor(lumped.values, torch::kFloat64), {n, n})
        .coalesce()
        .to(dtype);
    };
    const LumpedOperator lumped      = make_lumped_operator(space);
    geometry.lumped_operator         = to_sparse(lumped);
    geometry.lumped_eigenvalue_bound = lumped.eigenvalue_bound;
    if (space.get_fe().degree == 1)
      {
        const LumpedOperator mass            = make_lumped_mass_operator(space);
        geometry.lumped_mass_operator        = to_sparse(mass);
        geometry.mass_eigenvalue_lower_bound = mass.eigenvalue_lower_bound;
        geometry.consistent_eigenvalue_bound = cell_eigenvalue_bound(space);
      }
  }


  template <int dim>
  std::shared_ptr<NetworkGeometry>
  make_network_geometry(const FunctionSpace<dim> &space,
                        const SpectralBasis<dim> &basis,
                        torch::Dtype              dtype,
                        const bool                with_lumped_operators)
  {
    auto        geometry = std::make_shared<NetworkGeometry>();
    const auto &points   = space.locally_owned_support_points();
    const auto  n        = static_cast<std::int64_t>(points.size());
    geometry->dimension  = dim;
    geometry->communicator =
      space.is_distributed() ? space.get_mpi_communicator() : MPI_COMM_SELF;
    geometry->volume = space.volume();
    geometry->fe_degree = space.get_fe().degree;

    torch::Tensor coordinates = torch::empty({n, dim}, torch::kFloat64);
    auto          accessor    = coordinates.accessor<double, 2>();
    for (std::int64_t i = 0; i < n; ++i)
      for (unsigned int d = 0; d < dim; ++d)
        accessor[i][d] = points[i][d];
    geometry->coordinates = coordinates.to(dtype);
    geometry->weights     = torch_bridge::to_tensor(space.quadrature_weights(), dtype)[0];

    std::vector<const VectorType *> modes, mass_modes_ptr;
    std::vector<VectorType>         mass_modes(basis.n_modes(), space.create_vector());
    for (unsigned int k = 0; k < basis.n_modes(); ++k)
      {
        modes.push_back(&basis.eigenvectors()[k]);
        space.mass_matrix().vmult(mass_modes[k], basis.eigenvectors()[k]);
        mass_modes_ptr.push_back(&mass_modes[k]);
      }
    geometry->modes      = torch_bridge::to_tensor(modes, dtype).t().contiguous();
    geometry->mass_modes = torch_bridge::to_tensor(mass_modes_ptr, dtype).t().contiguous();
    geometry->mass_modes_transposed = geometry->mass_modes.t().contiguous();
    geometry->eigenvalues =
      torch::tensor(std::vector<double>(basis.eigenvalues()), torch::kFloat64).to(dtype);
    if (with_lumped_operators && !space.is_distributed())
      add_lumped_operators(*geometry, space, dtype);
    return geometry;
  }

  template std::shared_ptr<NetworkGeometry>
  make_network_geometry(const FunctionSpace<2> &, const SpectralBasis<2> &, torch::Dtype, const bool);
  template std::shared_ptr<NetworkGeometry>
  make_network_geometry(const FunctionSpace<3> &, const SpectralBasis<3> &, torch::Dtype, const bool);
  template void
  add_lumped_operators(NetworkGeometry &, const FunctionSpace<2> &, torch::Dtype);
  template void
  add_lumped_operators(NetworkGeometry &, const FunctionSpace<3> &, torch::Dtype);
} // namespace ddo
