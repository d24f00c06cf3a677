// Standard normal numbers for the exact FE white noise, side by side: the
// generator of ddo::WhiteNoise (Boost.Random's normal_distribution, a
// ziggurat) against std::normal_distribution, all driven by the same
// counter-based engine, in short streams (one per cell, as the white noise
// draws them). Rounds alternate between the generators; the medians are
// printed with their ratios.
//
//   ./benchmarks/normal_numbers_benchmark [numbers per stream = 6] [streams = 2000000] [rounds = 7]

#include <deal.II/lac/vector.h>

#include <ddo/base/random.h>
#include <ddo/covariance/white_noise.h>

#include <boost/random/normal_distribution.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

namespace
{
  /** Seconds for @p draw over all streams; @p sink keeps the numbers alive. */
  double
  time_streams(const unsigned int n_streams, const std::function<void(std::uint64_t)> &draw)
  {
    const auto start = std::chrono::steady_clock::now();
    for (unsigned int s = 0; s < n_streams; ++s)
      draw(ddo::hashing::mix(s));
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }


  double
  median(std::vector<double> values)
  {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  }
} // namespace


int
main(int argc, char **argv)
{
  const unsigned int per_stream = argc > 1 ? std::atoi(argv[1]) : 6;
  const unsigned int n_streams  = argc > 2 ? std::atoi(argv[2]) : 2000000;
  const unsigned int n_rounds   = argc > 3 ? std::atoi(argv[3]) : 7;
  dealii::Vector<double> z(per_stream);
  double                 sink = 0;

  const std::vector<std::pair<const char *, std::function<void(std::uint64_t)>>> generators = {
    {"ddo::WhiteNoise::standard_normal",
     [&](const std::uint64_t key) {
       ddo::WhiteNoise<2>::standard_normal(key, z);
       sink += z[0];
     }},
    {"boost::random::normal_distribution",
     [&](const std::uint64_t key) {
       ddo::CounterEngine                         engine(key);
       boost::random::normal_distribution<double> normal;
       for (unsigned int i = 0; i < per_stream; ++i)
         z[i] = normal(engine);
       sink += z[0];
     }},
    {"std::normal_distribution",
     [&](const std::uint64_t key) {
       ddo::CounterEngine               engine(key);
       std::normal_distribution<double> normal;
       for (unsigned int i = 0; i < per_stream; ++i)
         z[i] = normal(engine);
       sink += z[0];
     }}};

  std::vector<std::vector<double>> seconds(generators.size());
  for (unsigned int round = 0; round < n_rounds; ++round)
    for (std::size_t g = 0; g < generators.size(); ++g)
      seconds[g].push_back(time_streams(n_streams, generators[g].second));

  const double numbers = double(n_streams) * per_stream;
  const double first   = median(seconds[0]);
  std::printf("| generator | ns per number (median of %u rounds) | ratio |\n|---|---|---|\n", n_rounds);
  for (std::size_t g = 0; g < generators.size(); ++g)
    std::printf("| %s | %.2f | %.2f |\n", generators[g].first, median(seconds[g]) / numbers * 1e9,
                median(seconds[g]) / first);
  std::printf("(%u streams of %u numbers; checksum %g)\n", n_streams, per_stream, sink);
  return 0;
}
