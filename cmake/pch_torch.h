// Precompiled header of the translation units that talk to LibTorch.
#include <torch/torch.h>
#include <deal.II/lac/trilinos_vector.h>
#include <deal.II/lac/vector.h>
