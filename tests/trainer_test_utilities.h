#ifndef ddo_tests_trainer_test_utilities_h
#define ddo_tests_trainer_test_utilities_h

// A tiny training problem shared by the serial and MPI trainer tests: a
// small float64 network on a small mesh, Matérn noise, and data drawn from
// another Matérn field.

#include <ddo/covariance/matern_spde.h>
#include <ddo/torch/torch_bridge.h>
#include <ddo/torch/training/trainer.h>

#include "network_test_utilities.h"

namespace ddo
{
  namespace test_support
  {
    struct TinyTrainingProblem
    {
      std::unique_ptr<FunctionSpace<2>> space;
      std::unique_ptr<MaternSPDE<2>>    noise;
      std::unique_ptr<ScoreModel<2>>    model;
      torch::Tensor                     data;

      explicit TinyTrainingProblem(const unsigned int network_seed = 3)
      {
        space = make_space<2>("set Geometry = box\nsubsection box\nset Subdivisions = 6\nend\n"
                              "set Cell type = simplex\nset Distortion = 0.2\n",
                              1, MPI_COMM_SELF);
        typename MaternSPDE<2>::Parameters noise_parameters;
        noise_parameters.correlation_length = 0.3;
        noise = std::make_unique<MaternSPDE<2>>(noise_parameters);
        noise->initialize(*space);

        std::shared_ptr<ScoreNetwork<2>> network(make_network<2>(network_seed).release());
        model = std::make_unique<ScoreModel<2>>(network, *space, 12);

        // 10 data functions: a smoother field with another length scale.
        typename MaternSPDE<2>::Parameters data_parameters;
        data_parameters.correlation_length = 0.5;
        data_parameters.marginal_variance  = 0.5;
        MaternSPDE<2> data_field(data_parameters);
        data_field.initialize(*space);
        std::vector<VectorType> samples(10, space->create_vector());
        data_field.sample(samples, 99, 0);
        std::vector<const VectorType *> pointers;
        for (const auto &s : samples)
          pointers.push_back(&s);
        data = torch_bridge::to_tensor(pointers, torch::kFloat64);
      }

      static TrainingSettings
      settings(const std::string &directory)
      {
        TrainingSettings s;
        s.n_steps              = 6;
        s.batch_size           = 4;
        s.learning_rate        = 3e-3;
        s.warmup_steps         = 2;
        s.sigma_min            = 0.05;
        s.sigma_max            = 5;
        s.log_interval         = 100;
        s.checkpoint_interval  = 100;
        s.checkpoint_directory = directory;
        return s;
      }
    };
  } // namespace test_support
} // namespace ddo

#endif
