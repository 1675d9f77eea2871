// Timing: clock_gettime around one run of a method, methods interleaved (ABC CBA ABC ...) so
// that drift (thermal, page-cache, neighbours on the host) hits all of them alike; every repeat
// is kept, so that a row can report the spread (min, median, max) and not only a median.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "content.hpp"

namespace mmbench {

struct Method {
  std::string name;
  std::function<void(Sink&)> run;  // one complete operation (or a fixed batch of them)
  // A goal for this method's ratio against the group's baseline: at least `goal` for speedups,
  // at most `goal` for costs. Met only if every paired repeat meets it (see Result::verdict).
  std::optional<double> goal{};
};

// Thrown between samples once SIGINT or SIGTERM arrived.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};
void install_stop_handlers();
void check_stop();  // throws Interrupted if a stop signal arrived

double now_seconds() noexcept;  // CLOCK_MONOTONIC

struct Timing {
  bool warmup = true;               // one untimed run of each method first
  std::function<void()> prepare{};  // untimed, before every run (e.g. evict the page cache)
};

// Seconds of every timed run: samples[method][round], methods in the order given. Round r of
// every method ran in the same pass over the methods, so ratios can be paired by round.
std::vector<std::vector<double>> measure(const std::vector<Method>& methods, int repeats,
                                         const Timing& timing = {});

// Verify mode: runs each method once with a checksum sink; returns the digest of each.
std::vector<std::uint64_t> checksums(const std::vector<Method>& methods, const Timing& timing = {});

double median(std::vector<double> values);

// Smallest, median and largest of a set of repeats.
struct Spread {
  double min = 0, median = 0, max = 0;
};
Spread spread_of(std::vector<double> values);

}  // namespace mmbench
