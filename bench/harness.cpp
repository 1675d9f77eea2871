#include "harness.hpp"

#include <time.h>

#include <algorithm>
#include <csignal>

namespace mmbench {

namespace {

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int signal_number) {
  stop_requested = signal_number;
  // A second Ctrl-C kills at once, as users expect.
  std::signal(signal_number, SIG_DFL);
}

// Where the CRC32C consumer's result goes, so the compiler cannot drop the work.
volatile std::uint32_t crc_result = 0;

void run_checked(const Method& method, Sink& sink) {
  method.run(sink);
  crc_result = sink.crc;
  if (!sink.checksum && sink.value != 0)
    throw std::runtime_error(method.name + ": found a byte the files never contain");
}

}  // namespace

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

void check_stop() {
  if (stop_requested != 0) throw Interrupted();
}

double now_seconds() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Spread spread_of(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return {values.front(), median(values), values.back()};
}

std::vector<std::vector<double>> measure(const std::vector<Method>& methods, int repeats,
                                         const Timing& timing) {
  std::vector<std::vector<double>> samples(methods.size());
  if (timing.warmup) {
    for (const Method& method : methods) {
      check_stop();
      if (timing.prepare) timing.prepare();
      Sink sink;
      run_checked(method, sink);
    }
  }
  for (int round = 0; round < repeats; ++round) {
    for (std::size_t k = 0; k < methods.size(); ++k) {
      // Alternate the order each round so no method always runs right after the same one.
      const std::size_t i = round % 2 == 0 ? k : methods.size() - 1 - k;
      check_stop();
      if (timing.prepare) timing.prepare();
      Sink sink;
      const double start = now_seconds();
      run_checked(methods[i], sink);
      samples[i].push_back(now_seconds() - start);
    }
  }
  return samples;
}

std::vector<std::uint64_t> checksums(const std::vector<Method>& methods, const Timing& timing) {
  std::vector<std::uint64_t> out;
  for (const Method& method : methods) {
    check_stop();
    if (timing.prepare) timing.prepare();
    Sink sink{.checksum = true};
    method.run(sink);
    out.push_back(sink.value);
  }
  return out;
}

}  // namespace mmbench
