#include "results.hpp"

#include <cstdio>

namespace mmbench {

void Context::run(const Group& group, const std::vector<Method>& methods) {
  if (config.verify) {
    const std::vector<std::uint64_t> sums = checksums(methods, group.timing);
    const std::uint64_t expected = group.expected.value_or(sums.at(group.baseline));
    for (std::size_t i = 0; i < methods.size(); ++i)
      checks.push_back({group.scenario, group.case_name, methods[i].name, group.size,
                        sums[i] == expected, sums[i], expected});
    return;
  }
  const std::vector<double> seconds = measure(methods, group.repeats, group.timing);
  const double base = seconds.at(group.baseline);
  for (std::size_t i = 0; i < methods.size(); ++i) {
    Result r;
    r.scenario = group.scenario;
    r.case_name = group.case_name;
    r.method = methods[i].name;
    r.size = group.size;
    r.state = group.state;
    r.unit = group.unit;
    r.value =
        group.unit == Unit::GBps ? group.work / seconds[i] / 1e9 : seconds[i] / group.work * 1e9;
    r.kind = group.kind;
    r.ratio = group.kind == RatioKind::Speedup ? base / seconds[i] : seconds[i] / base;
    r.baseline = methods[group.baseline].name;
    std::printf("  %-10s %-22s %-34s %8s  %10.3f %-5s  %5.2fx %s\n", r.scenario.c_str(),
                r.case_name.c_str(), r.method.c_str(), size_label(r.size).c_str(), r.value,
                r.unit == Unit::GBps ? "GB/s" : "ns/op", r.ratio,
                r.kind == RatioKind::Cost ? "cost" : "");
    std::fflush(stdout);
    results.push_back(std::move(r));
  }
}

std::string Context::state_of(const std::string& path, CacheState state) const {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%s, %.0f%% resident", state_name(state),
                100 * resident_fraction(path));
  return buffer;
}

}  // namespace mmbench
