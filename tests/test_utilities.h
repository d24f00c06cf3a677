#ifndef ddo_tests_test_utilities_h
#define ddo_tests_test_utilities_h

// Helpers shared by the GoogleTest files: build meshes and function spaces
// from the same parameter text a user would write.

#include <deal.II/base/function_parser.h>
#include <deal.II/base/parameter_handler.h>
#include <deal.II/lac/vector.h>
#include <deal.II/numerics/vector_tools.h>

#include <ddo/function_space/function_space.h>
#include <ddo/covariance/matern_spde.h>
#include <ddo/mesh/mesh_builder.h>

#include <cctype>
#include <cmath>
#include <memory>
#include <vector>
#include <string>

namespace ddo
{
  namespace test_support
  {
    /** A MeshBuilder configured by @p mesh_prm (the body of subsection Mesh). */
    template <int dim>
    MeshBuilder<dim>
    make_mesh_builder(const std::string &mesh_prm)
    {
      ParameterHandler prm;
      MeshBuilder<dim>::declare_parameters(prm);
      prm.parse_input_from_string("subsection Mesh\n" + mesh_prm + "\nend\n");
      MeshBuilder<dim> builder;
      builder.parse_parameters(prm);
      return builder;
    }

    /** The nodal interpolant of the expression @p expression of x, y on the serial 2D @p space. */
    inline Vector<double>
    interpolate_expression(const FunctionSpace<2> &space, const std::string &expression)
    {
      FunctionParser<2> function(expression);
      Vector<double>    v(space.n_dofs());
      VectorTools::interpolate(space.get_mapping(), space.get_dof_handler(), function, v);
      return v;
    }

    /** A function space of degree @p degree on the mesh of @p mesh_prm. */
    template <int dim>
    std::unique_ptr<FunctionSpace<dim>>
    make_space(const std::string &mesh_prm,
               const unsigned int degree = 1,
               const MPI_Comm     comm   = MPI_COMM_WORLD)
    {
      const MeshBuilder<dim> builder = make_mesh_builder<dim>(mesh_prm);
      return std::make_unique<FunctionSpace<dim>>(builder.create(comm), degree,
                                                  builder.periodic_boundaries());
    }

    /**
     * @p n samples (stream @p seed, from index 0) of the Matern field with
     * @p parameters on the serial 2D @p space, as row-major coefficients.
     */
    inline std::vector<double>
    matern_sample_rows(const FunctionSpace<2> &               space,
                       const MaternSPDE<2>::Parameters &      parameters,
                       const unsigned int                     n,
                       const unsigned int                     seed)
    {
      MaternSPDE<2> field(parameters);
      field.initialize(space);
      std::vector<VectorType> samples(n, space.create_vector());
      field.sample(samples, seed, 0);
      std::vector<double> values;
      for (const auto &s : samples)
        values.insert(values.end(), s.begin(), s.end());
      return values;
    }


    /**
     * The threshold t for the largest of @p n_tests standardized deviations
     * (each approximately standard normal) that is exceeded with probability
     * at most @p p (Bonferroni): 2 n Phi(-t) = p.
     */
    inline double
    bonferroni_threshold(const unsigned int n_tests, const double p = 1e-4)
    {
      double low = 0, high = 40;
      for (unsigned int k = 0; k < 200; ++k)
        {
          const double t = (low + high) / 2;
          (n_tests * std::erfc(t / std::sqrt(2.)) > p ? low : high) = t;
        }
      return high;
    }


    /**
     * The value that a chi-square statistic with @p degrees of freedom
     * exceeds with probability 1e-4: the Wilson-Hilferty approximation of
     * its quantile, (X/k)^(1/3) ~ N(1 - 2/(9k), 2/(9k)) with z = 3.72
     * (a few percent accurate for k >= 4).
     */
    inline double
    chi_square_bound(const unsigned int degrees)
    {
      const double k = degrees, a = 2. / (9. * k);
      return k * std::pow(1. - a + 3.72 * std::sqrt(a), 3);
    }


    /**
     * @p message with every run of white space replaced by one blank:
     * deal.II wraps the text of an ExcMessage, and a search in it must not
     * depend on where the lines break.
     */
    inline std::string
    one_line(const std::string &message)
    {
      std::string result;
      for (const char c : message)
        if (!std::isspace(static_cast<unsigned char>(c)))
          result += c;
        else if (!result.empty() && result.back() != ' ')
          result += ' ';
      return result;
    }
  } // namespace test_support
} // namespace ddo

#endif
