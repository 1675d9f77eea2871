// Timing: clock_gettime around one run of a method, methods interleaved (ABC CBA ABC ...) so
// that drift (thermal, page-cache, neighbours on the host) hits all of them alike, and the
// median of the repeats kept.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "content.hpp"

namespace mmbench {

struct Method {
  std::string name;
  std::function<void(Sink&)> run;  // one complete operation (or a fixed batch of them)
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

// Median seconds of one run of each method, in the order given.
std::vector<double> measure(const std::vector<Method>& methods, int repeats,
                            const Timing& timing = {});

// Verify mode: runs each method once with a checksum sink; returns the digest of each.
std::vector<std::uint64_t> checksums(const std::vector<Method>& methods, const Timing& timing = {});

double median(std::vector<double> values);

}  // namespace mmbench
