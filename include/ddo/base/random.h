#ifndef ddo_random_h
#define ddo_random_h

/**
 * @file
 * The random numbers of ddo: counter-based streams, so that a number depends
 * only on its stream's key (seed, sample index, cell hash, ...), never on
 * the order of computation or on the MPI partition.
 *
 * @ingroup base
 */

#include <ddo/base/hashing.h>

#include <cstdint>

namespace ddo
{
  /**
   * The splitmix64 counter stream mix(key), mix(key + g), mix(key + 2g), ...
   * (g the golden-ratio constant) as a C++ UniformRandomBitGenerator: it
   * drives the distributions of Boost.Random and the standard library.
   * Constructing one costs nothing, so every cell or sample can have its own.
   */
  class CounterEngine
  {
  public:
    using result_type = std::uint64_t;

    explicit CounterEngine(const std::uint64_t key)
      : state(key)
    {}

    static constexpr result_type
    min()
    {
      return 0;
    }

    static constexpr result_type
    max()
    {
      return ~result_type(0);
    }

    result_type
    operator()()
    {
      const std::uint64_t word = hashing::mix(state);
      state += 0x9e3779b97f4a7c15ULL;
      return word;
    }

  private:
    std::uint64_t state;
  };
} // namespace ddo

#endif
