#include <deal.II/base/exceptions.h>

#include <ddo/torch/network/compressed_rows.h>
#include <ddo/torch/network/whole_spectrum_skip.h>

#include <torch/torch.h>

#include <vector>

namespace ddo
{
  namespace whole_spectrum
  {
    namespace
    {
      /**
       * The operator of SpectrumOperator on raw `[n, batch]` blocks: \f$A =
       * q_m(B)\,L\f$, or its adjoint \f$A^T = L^T q_m(B^T)\f$ when built from
       * the transposed matrices with @p adjoint (q_m is a polynomial, so
       * \f$q_m(B)^T = q_m(B^T)\f$).
       */
      template <typename Number>
      class FusedOperator
      {
      public:
        FusedOperator(const CompressedRows &stiffness,
                      const CompressedRows *mass,
                      const unsigned int    mass_iterations,
                      const double          mass_lower_bound,
                      const bool            adjoint,
                      const std::int64_t    batch)
          : stiffness(stiffness)
          , mass(mass)
          , mass_iterations(mass_iterations)
          , lower(mass_lower_bound)
          , adjoint(adjoint)
          , size(stiffness.n_rows() * batch)
          , batch(batch)
          , buffer(size)
          , residual(mass_iterations > 1 ? size : 0)
          , step(mass_iterations > 1 ? size : 0)
          , product(mass_iterations > 1 ? size : 0)
        {}

        /** @p z = A @p x (or the adjoint's). */
        void
        apply(const Number *x, Number *z)
        {
          if (mass_iterations == 0)
            return stiffness.vmult(x, z, batch);
          if (!adjoint)
            {
              stiffness.vmult(x, buffer.data(), batch);
              mass_iteration(buffer.data(), z);
            }
          else
            {
              mass_iteration(x, buffer.data());
              stiffness.vmult(buffer.data(), z, batch);
            }
        }

      private:
        /** z = q_m(B) y: m steps of the Chebyshev iteration for B z = y from z = 0 (as SpectrumOperator). */
        void
        mass_iteration(const Number *y, Number *z)
        {
          const double theta = 0.5 * (1. + lower), delta = 0.5 * (1. - lower), sigma1 = theta / delta;
          double       rho = 1. / sigma1;
          for (std::int64_t i = 0; i < size; ++i)
            z[i] = y[i] / Number(theta);
          if (mass_iterations == 1)
            return;
          std::copy(y, y + size, residual.begin());
          std::copy(z, z + size, step.begin());
          for (unsigned int k = 1; k < mass_iterations; ++k)
            {
              mass->vmult(step.data(), product.data(), batch);
              const double rho_next = 1. / (2. * sigma1 - rho);
              const Number keep = Number(rho_next * rho), take = Number(2. * rho_next / delta);
              for (std::int64_t i = 0; i < size; ++i)
                {
                  residual[i] -= product[i];
                  step[i] = keep * step[i] + take * residual[i];
                  z[i] += step[i];
                }
              rho = rho_next;
            }
        }

        const CompressedRows &stiffness;
        const CompressedRows *mass;
        const unsigned int    mass_iterations;
        const double          lower;
        const bool            adjoint;
        const std::int64_t    size, batch;
        std::vector<Number>   buffer, residual, step, product;
      };


      /** sum_j c_bj T_j(2 A / bound - I) on column b of @p x `[n, batch]` (contiguous). */
      template <typename Number>
      torch::Tensor
      series(FusedOperator<Number> &op, const torch::Tensor &x, const torch::Tensor &coefficients, const double bound)
      {
        const std::int64_t  n_columns = x.size(1), size = x.numel(), J = coefficients.size(1) - 1;
        const torch::Tensor c         = coefficients.to(torch::kFloat64).t().contiguous(); // [J+1, B]
        const double       *c_j       = c.data_ptr<double>();
        torch::Tensor       result    = torch::empty_like(x);
        const Number       *in        = x.data_ptr<Number>();
        Number             *out       = result.data_ptr<Number>();
        // out += c_j t, column b scaled by c_jb.
        const auto accumulate = [&](const Number *t, const std::int64_t j, const bool first) {
          const double *c_row = c_j + j * n_columns;
          for (std::int64_t i = 0; i < size; i += n_columns)
            for (std::int64_t b = 0; b < n_columns; ++b)
              out[i + b] = (first ? Number(0) : out[i + b]) + Number(c_row[b]) * t[i + b];
        };
        accumulate(in, 0, true);
        if (J == 0)
          return result;
        std::vector<Number> previous(in, in + size), current(size), next(size), image(size);
        const Number        scale = Number(2. / bound);
        op.apply(in, image.data());
        for (std::int64_t i = 0; i < size; ++i)
          current[i] = scale * image[i] - in[i];
        accumulate(current.data(), 1, false);
        for (std::int64_t j = 2; j <= J; ++j)
          {
            op.apply(current.data(), image.data());
            for (std::int64_t i = 0; i < size; ++i)
              next[i] = Number(2) * (scale * image[i] - current[i]) - previous[i];
            accumulate(next.data(), j, false);
            std::swap(previous, current);
            std::swap(current, next);
          }
        return result;
      }


      /** The series with the operator given by its matrices; @p adjoint: of the transposed ones. */
      torch::Tensor
      fused_series(const CompressedRows &stiffness,
                   const CompressedRows *mass,
                   const unsigned int    mass_iterations,
                   const double          mass_lower_bound,
                   const bool            adjoint,
                   const torch::Tensor  &x_in,
                   const torch::Tensor  &coefficients,
                   const double          bound)
      {
        const torch::Tensor x = x_in.contiguous();
        if (x.scalar_type() == torch::kFloat64)
          {
            FusedOperator<double> op(stiffness, mass, mass_iterations, mass_lower_bound, adjoint, x.size(1));
            return series(op, x, coefficients, bound);
          }
        AssertThrow(x.scalar_type() == torch::kFloat32,
                    dealii::ExcMessage("whole_spectrum: the series is for float32 and float64 tensors."));
        FusedOperator<float> op(stiffness, mass, mass_iterations, mass_lower_bound, adjoint, x.size(1));
        return series(op, x, coefficients, bound);
      }


      /** The series as an autograd function: its backward is the same series of the adjoint operator. */
      struct WienerSeries : public torch::autograd::Function<WienerSeries>
      {
        static torch::Tensor
        forward(torch::autograd::AutogradContext *context,
                const torch::Tensor              &rest,
                const torch::Tensor              &coefficients,
                const torch::Tensor              &stiffness_rows,
                const torch::Tensor              &stiffness_columns,
                const torch::Tensor              &stiffness_values,
                const torch::Tensor              &mass_rows,
                const torch::Tensor              &mass_columns,
                const torch::Tensor              &mass_values,
                const double                      mass_lower_bound,
                const std::int64_t                mass_iterations,
                const double                      bound)
        {
          const CompressedRows stiffness{stiffness_rows, stiffness_columns, stiffness_values};
          const CompressedRows mass{mass_rows, mass_columns, mass_values};
          // The transposes are made in backward(): sampling never needs them.
          context->save_for_backward({coefficients, stiffness_rows, stiffness_columns, stiffness_values, mass_rows,
                                      mass_columns, mass_values});
          context->saved_data["lower"]      = mass_lower_bound;
          context->saved_data["iterations"] = mass_iterations;
          context->saved_data["bound"]      = bound;
          return fused_series(stiffness, &mass, mass_iterations, mass_lower_bound, false, rest, coefficients, bound);
        }

        static torch::autograd::variable_list
        backward(torch::autograd::AutogradContext *context, torch::autograd::variable_list gradients)
        {
          const auto           saved = context->get_saved_variables();
          const CompressedRows stiffness_t = CompressedRows{saved[1], saved[2], saved[3]}.transposed();
          const CompressedRows mass_t =
            context->saved_data["iterations"].toInt() > 0 ? CompressedRows{saved[4], saved[5], saved[6]}.transposed() :
                                                             stiffness_t;
          torch::Tensor        gradient =
            fused_series(stiffness_t, &mass_t, context->saved_data["iterations"].toInt(),
                         context->saved_data["lower"].toDouble(), true, gradients[0], saved[0],
                         context->saved_data["bound"].toDouble());
          torch::autograd::variable_list result(11);
          result[0] = gradient;
          return result;
        }
      };
    } // namespace


    torch::Tensor
    chebyshev_series(const NetworkGeometry &geometry,
                     const unsigned int     mass_iterations,
                     const torch::Tensor   &rest,
                     const torch::Tensor   &coefficients,
                     const double           bound)
    {
      const SpectrumOperator torch_form(geometry, mass_iterations); // (checks the same preconditions)
      AssertThrow(rest.dim() == 2 && coefficients.dim() == 2 && coefficients.size(0) == rest.size(1) &&
                    rest.size(0) == geometry.lumped_operator.size(0),
                  dealii::ExcMessage("whole_spectrum::chebyshev_series: rest must be [N, B] on the geometry's "
                                     "rows and the coefficients [B, J+1]."));
      // The loops are for host memory; elsewhere torch's operators do it.
      if (!rest.device().is_cpu())
        return chebyshev_series_through_torch(torch_form, rest, coefficients, bound);
      const CompressedRows stiffness = CompressedRows::from_sparse(geometry.lumped_operator);
      // (Without mass iterations the mass matrix is not used; the stiffness stands in.)
      const CompressedRows mass =
        mass_iterations > 0 ? CompressedRows::from_sparse(geometry.lumped_mass_operator) : stiffness;
      return WienerSeries::apply(rest, coefficients.detach(), stiffness.row_start, stiffness.columns,
                                 stiffness.values, mass.row_start, mass.columns, mass.values,
                                 geometry.mass_eigenvalue_lower_bound, std::int64_t(mass_iterations), bound);
    }
  } // namespace whole_spectrum
} // namespace ddo
