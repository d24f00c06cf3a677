#include <ddo/torch/network/score_model.h>

namespace ddo
{
  namespace
  {
    /** A deal.II/Trilinos sparse matrix as a torch sparse COO tensor. */
    torch::Tensor
    to_sparse_tensor(const TrilinosWrappers::SparseMatrix &matrix, const torch::Dtype dtype)
    {
      std::vector<std::int64_t> rows, columns;
      std::vector<double>       values;
      for (auto entry = matrix.begin(); entry != matrix.end(); ++entry)
        if (entry->value() != 0.)
          {
            rows.push_back(entry->row());
            columns.push_back(entry->column());
            values.push_back(entry->value());
          }
      const auto n     = static_cast<std::int64_t>(matrix.m());
      auto       index = torch::stack({torch::tensor(rows, torch::kInt64), torch::tensor(columns, torch::kInt64)});
      return torch::sparse_coo_tensor(index, torch::tensor(values, torch::kFloat64).to(dtype), {n, n})
        .coalesce();
    }


    /**
     * The matrix P R of the constraints (see CovarianceOperator): identity on
     * unconstrained DoFs; a constrained row holds its constraint's weights.
     * Undefined if there are no constraints.
     */
    template <int dim>
    torch::Tensor
    constraint_projection(const FunctionSpace<dim> &space, const torch::Dtype dtype)
    {
      const auto &constraints = space.get_constraints();
      if (constraints.n_constraints() == 0)
        return {};
      std::vector<std::int64_t> rows, columns;
      std::vector<double>       values;
      for (types::global_dof_index i = 0; i < space.n_dofs(); ++i)
        if (const auto *entries = constraints.get_constraint_entries(i))
          {
            AssertThrow(constraints.get_inhomogeneity(i) == 0.,
                        ExcMessage("ScoreModel: inhomogeneous constraints are not supported."));
            for (const auto &entry : *entries)
              {
                rows.push_back(i);
                columns.push_back(entry.first);
                values.push_back(entry.second);
              }
          }
        else
          {
            rows.push_back(i);
            columns.push_back(i);
            values.push_back(1.);
          }
      const auto n     = static_cast<std::int64_t>(space.n_dofs());
      auto       index = torch::stack({torch::tensor(rows, torch::kInt64), torch::tensor(columns, torch::kInt64)});
      return torch::sparse_coo_tensor(index, torch::tensor(values, torch::kFloat64).to(dtype), {n, n})
        .coalesce();
    }
  } // namespace


  template <int dim>
  ScoreModel<dim>::ScoreModel(std::shared_ptr<ScoreNetwork<dim>> network_,
                              const FunctionSpace<dim> &         space_,
                              const unsigned int                 n_modes,
                              const std::string &                cache_directory)
    : score_network(std::move(network_))
    , function_space(space_)
  {
    AssertThrow(score_network != nullptr, ExcMessage("ScoreModel: no network."));
    AssertThrow(!function_space.is_distributed(),
                ExcMessage("ScoreModel: training and sampling work on serial (replicated) meshes; "
                           "parallel runs split the batch over the ranks."));
    spectral_basis = std::make_unique<SpectralBasis<dim>>(function_space, n_modes, cache_directory);
    geometry       = make_network_geometry(function_space, *spectral_basis, dtype(),
                                     score_network->uses_spectrum_variances());
    score_network->bind(geometry);
    mass        = to_sparse_tensor(function_space.mass_matrix(), dtype());
    constraints = constraint_projection(function_space, dtype());
  }


  template <int dim>
  torch::Tensor
  ScoreModel<dim>::forward(const torch::Tensor &v, const torch::Tensor &sigma) const
  {
    torch::Tensor f = score_network->forward(v, sigma);
    if (constraints.defined())
      f = torch::mm(constraints, f.t()).t();
    return f;
  }


  template <int dim>
  torch::Tensor
  ScoreModel<dim>::mass_norm_squared(const torch::Tensor &r) const
  {
    // [B, N] -> M r^T [N, B] -> row-wise dot products.
    const torch::Tensor mass_r = torch::mm(mass, r.t()).t();
    return (r * mass_r).sum(1);
  }


  template <int dim>
  torch::Tensor
  ScoreModel<dim>::evaluate(const torch::Tensor &v, const torch::Tensor &sigma, const unsigned int max_batch) const
  {
    torch::NoGradGuard no_grad;
    const auto         batch = v.size(0);
    torch::Tensor      out   = torch::empty_like(v, torch::kFloat64);
    for (std::int64_t first = 0; first < batch; first += max_batch)
      {
        const auto last = std::min<std::int64_t>(batch, first + max_batch);
        out.slice(0, first, last)
          .copy_(forward(v.slice(0, first, last).to(dtype()), sigma.slice(0, first, last).to(dtype())));
      }
    return out;
  }


  template <int dim>
  torch::Tensor
  ScoreModel<dim>::mode_second_moments(const torch::Tensor &rows) const
  {
    AssertThrow(rows.dim() == 2 && rows.size(1) == geometry->n_local() && rows.size(0) > 0,
                ExcMessage("ScoreModel: mode_second_moments() needs [B, " +
                           std::to_string(geometry->n_local()) + "] rows."));
    torch::NoGradGuard no_grad;
    const torch::Tensor coefficients =
      torch::mm(rows.to(torch::kFloat64), geometry->mass_modes.to(torch::kFloat64)); // [B,K]
    return (coefficients * coefficients).mean(0);
  }


  template <int dim>
  torch::Tensor
  ScoreModel<dim>::eigenvalue_tensor() const
  {
    return geometry->eigenvalues.to(torch::kFloat64);
  }


  template <int dim>
  ScoreNetwork<dim> &
  ScoreModel<dim>::network() const
  {
    return *score_network;
  }


  template <int dim>
  const FunctionSpace<dim> &
  ScoreModel<dim>::space() const
  {
    return function_space;
  }


  template <int dim>
  const SpectralBasis<dim> &
  ScoreModel<dim>::basis() const
  {
    return *spectral_basis;
  }


  template <int dim>
  torch::Dtype
  ScoreModel<dim>::dtype() const
  {
    return score_network->dtype();
  }


  template class ScoreModel<2>;
  template class ScoreModel<3>;
} // namespace ddo
