#ifndef ddo_tests_network_test_utilities_h
#define ddo_tests_network_test_utilities_h

// Helpers for the score network tests: small float64 networks with fixed
// random weights, and spaces with their eigenbases.

#include <ddo/torch/network/network_geometry.h>
#include <ddo/torch/network/spectral_neural_operator.h>

#include "test_utilities.h"

namespace ddo
{
  namespace test_support
  {
    /** A small float64 spectral operator with weights from @p seed. */
    template <int dim>
    std::unique_ptr<ScoreNetwork<dim>>
    make_network(const unsigned int seed = 3, const bool gaussian_skip = false,
                 const bool blended_mass_eigenvalues = false, const unsigned int skip_table_size = 32)
    {
      auto network = ScoreNetworkRegistry<dim>::instance().create("spectral_operator");
      typename SpectralNeuralOperator<dim>::Settings settings;
      settings.width                    = 8;
      settings.blocks                   = 2;
      settings.seed                     = seed;
      settings.gaussian_skip            = gaussian_skip;
      settings.blended_mass_eigenvalues = blended_mass_eigenvalues;
      settings.skip_table_size          = skip_table_size;
      dynamic_cast<SpectralNeuralOperator<dim> &>(*network).set_settings(settings);
      network->build(torch::kFloat64);
      return network;
    }

    /** A space, its first @p n_modes eigenpairs and their network geometry. */
    template <int dim>
    struct BoundSpace
    {
      std::unique_ptr<FunctionSpace<dim>>  space;
      std::unique_ptr<SpectralBasis<dim>>  basis;
      std::shared_ptr<NetworkGeometry>     geometry;

      BoundSpace(const std::string &mesh_prm, const unsigned int n_modes,
                 const MPI_Comm comm = MPI_COMM_WORLD, const bool with_lumped_operators = false)
        : space(make_space<dim>(mesh_prm, 1, comm))
        , basis(std::make_unique<SpectralBasis<dim>>(*space, n_modes))
        , geometry(make_network_geometry(*space, *basis, torch::kFloat64, with_lumped_operators))
      {}
    };
  } // namespace test_support
} // namespace ddo

#endif
