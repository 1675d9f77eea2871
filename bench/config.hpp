// What one mmbench run was asked to do; every scenario reads its sizes and repeat counts here.
#pragma once

#include <cstddef>
#include <string>

namespace mmbench {

inline constexpr std::size_t KiB = std::size_t{1} << 10;
inline constexpr std::size_t MiB = std::size_t{1} << 20;
inline constexpr std::size_t GiB = std::size_t{1} << 30;

struct Config {
  bool quick = false;
  bool verify = false;         // run each method once with a checksum consumer instead of timing
  std::string dir;             // parent of the temporary work directory
  std::string scenario;        // empty: all
  std::string mmcp;            // path of the mmcp tool, or empty to look next to mmbench
  std::string self;            // path of the mmbench binary (argv[0] resolved)
  bool set_readahead = false;  // matrix: set read_ahead_kb under --dir (restored at exit)

  // Sizes follow the mode: verify must be fast, quick must finish in under a minute.
  std::size_t big() const { return verify ? 8 * MiB : quick ? 128 * MiB : GiB; }
  int repeats(int full) const { return verify ? 1 : quick ? (full > 3 ? 3 : full) : full; }
};

}  // namespace mmbench
