// One row of results, and the Context that scenarios time their methods through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "files.hpp"
#include "harness.hpp"

namespace mmbench {

enum class Unit { GBps, NsPerOp };
// Speedup: baseline time / method time (higher is better). Cost: method time / baseline time
// (the wrapper-overhead scenario, where 1.00 is the goal).
enum class RatioKind { Speedup, Cost };

struct Result {
  std::string scenario;
  std::string case_name;  // e.g. "uniform", "map+unmap by path"; may be empty
  std::string method;
  std::size_t size = 0;
  std::string state;                    // page-cache state of the file, measured
  double value = 0;                     // in `unit`: the median of the repeats
  double value_min = 0, value_max = 0;  // smallest and largest value over the repeats
  Unit unit = Unit::GBps;
  double ratio = 1;                     // median of the per-round ratios
  double ratio_min = 1, ratio_max = 1;  // their smallest and largest
  int repeats = 0;
  RatioKind kind = RatioKind::Speedup;
  std::string baseline;  // the baseline method's name
  std::optional<double> goal{};
  // Throughput over time (beyond): ns/op of each slice, in order; empty elsewhere.
  std::vector<double> over_time{};
  // "met" (holds for every repeat), "noise" (the median meets it, the spread does not), "no",
  // or empty without a goal.
  std::string verdict() const;
};

struct Check {
  std::string scenario, case_name, method;
  std::size_t size = 0;
  bool ok = false;
  std::uint64_t got = 0, expected = 0;
};

// A set of methods measured against each other; the first-listed baseline index is the base.
struct Group {
  std::string scenario;
  std::string case_name;
  std::size_t size = 0;
  std::string state;
  Unit unit = Unit::GBps;
  double work = 1;  // bytes per run (GB/s) or operations per run (ns/op)
  RatioKind kind = RatioKind::Speedup;
  int repeats = 5;
  std::size_t baseline = 0;
  std::optional<std::uint64_t> expected{};  // verify: the digest every method must produce
  Timing timing{};
};

struct Context {
  Config config;
  Workspace& files;
  std::vector<Result> results;
  std::vector<Check> checks;
  std::vector<std::string> notes;  // skipped parts and why

  // Times the methods (or, with --verify, checks their checksums) and records one row each.
  void run(const Group& group, const std::vector<Method>& methods);
  // "large folios, 100% resident"
  std::string state_of(const std::string& path, CacheState state) const;
};

// Verify mode: the CRC32C consumer gives the standard check value and the same result by
// hardware and by table (recorded as checks).
void check_crc32c(Context& ctx);

}  // namespace mmbench
