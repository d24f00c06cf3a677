#ifndef ddo_hashing_h
#define ddo_hashing_h

/**
 * @file
 * Small, platform-independent hashing helpers (no std::hash: its values are
 * not specified and may change between standard libraries). Used for mesh
 * fingerprints and for per-cell random seeds that must not depend on the
 * MPI partition. Note that a CellId is not such a key: p4est numbers coarse
 * cells in its own tree order, so the same cell has different CellIds in a
 * serial and a parallel::distributed mesh; hash geometry (level, center)
 * instead, as WhiteNoise does.
 *
 * @ingroup base
 */

#include <deal.II/base/point.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace ddo
{
  namespace hashing
  {
    /** One round of the splitmix64 mixer: a bijection with good avalanche. */
    inline std::uint64_t
    mix(std::uint64_t x)
    {
      x += 0x9e3779b97f4a7c15ULL;
      x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
      x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
      return x ^ (x >> 31);
    }

    /** Order-dependent combination of a running hash with a value. */
    inline std::uint64_t
    combine(const std::uint64_t seed, const std::uint64_t value)
    {
      return mix(seed ^ (mix(value) + 0x9e3779b97f4a7c15ULL + (seed << 6) +
                         (seed >> 2)));
    }

    /** Hash of a string (FNV-1a, then mixed). */
    inline std::uint64_t
    of_string(const std::string &text)
    {
      std::uint64_t h = 1469598103934665603ULL;
      for (const unsigned char c : text)
        h = (h ^ c) * 1099511628211ULL;
      return mix(h);
    }

    /**
     * Hash of a point after rounding each coordinate to a multiple of
     * @p resolution, so that points equal up to round-off hash alike.
     */
    template <int dim>
    std::uint64_t
    of_point(const dealii::Point<dim> &p, const double resolution)
    {
      std::uint64_t h = mix(dim);
      for (unsigned int d = 0; d < dim; ++d)
        h = combine(h,
                    static_cast<std::uint64_t>(
                      std::llround(p[d] / resolution)));
      return h;
    }

    /** Maps a 64-bit hash to a double uniformly distributed in [0, 1). */
    inline double
    to_unit_interval(const std::uint64_t h)
    {
      return static_cast<double>(h >> 11) * 0x1.0p-53;
    }
  } // namespace hashing
} // namespace ddo

#endif
