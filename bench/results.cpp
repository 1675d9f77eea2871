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
  const std::vector<std::vector<double>> samples = measure(methods, group.repeats, group.timing);
  const std::vector<double>& base = samples.at(group.baseline);
  auto value_of = [&](double seconds) {
    return group.unit == Unit::GBps ? group.work / seconds / 1e9 : seconds / group.work * 1e9;
  };
  for (std::size_t i = 0; i < methods.size(); ++i) {
    // Ratios pair the runs of one round: they ran next to each other, so drift cancels.
    std::vector<double> values, ratios;
    for (std::size_t k = 0; k < samples[i].size(); ++k) {
      const double t = samples[i][k];
      values.push_back(value_of(t));
      ratios.push_back(group.kind == RatioKind::Speedup ? base[k] / t : t / base[k]);
    }
    const Spread v = spread_of(values);
    const Spread q = spread_of(ratios);
    Result r;
    r.scenario = group.scenario;
    r.case_name = group.case_name;
    r.method = methods[i].name;
    r.size = group.size;
    r.state = group.state;
    r.unit = group.unit;
    r.value = v.median;
    r.value_min = v.min;
    r.value_max = v.max;
    r.kind = group.kind;
    r.ratio = q.median;
    r.ratio_min = q.min;
    r.ratio_max = q.max;
    r.repeats = static_cast<int>(samples[i].size());
    r.baseline = methods[group.baseline].name;
    r.goal = methods[i].goal;
    std::printf("  %-10s %-22s %-34s %8s  %10.3f %-5s  %5.2fx [%.2f-%.2f] %s%s\n",
                r.scenario.c_str(), r.case_name.c_str(), r.method.c_str(),
                size_label(r.size).c_str(), r.value, r.unit == Unit::GBps ? "GB/s" : "ns/op",
                r.ratio, r.ratio_min, r.ratio_max, r.kind == RatioKind::Cost ? "cost " : "",
                r.goal ? ("goal " + r.verdict()).c_str() : "");
    std::fflush(stdout);
    results.push_back(std::move(r));
  }
}

void check_crc32c(Context& ctx) {
  const char* digits = "123456789";
  const auto* text = reinterpret_cast<const std::byte*>(digits);
  const std::uint32_t standard = 0xE3069283u;  // CRC-32C check value (RFC 3720)
  ctx.checks.push_back({"consumer", "crc32c check value", "crc32c", 9,
                        crc32c(0, text, 9) == standard, crc32c(0, text, 9), standard});
  ctx.checks.push_back({"consumer", "crc32c check value", "crc32c table", 9,
                        crc32c_software(0, text, 9) == standard, crc32c_software(0, text, 9),
                        standard});
  // Hardware and table agree on benchmark content, also when it arrives in odd-sized pieces.
  std::vector<std::byte> data(MiB + 8);
  fill_content(data.data(), data.size(), 0);
  const std::uint32_t whole = crc32c_software(0, data.data(), MiB + 5);
  const std::uint32_t pieces = crc32c(crc32c(crc32c(0, data.data(), 3), data.data() + 3, 128 * KiB),
                                      data.data() + 3 + 128 * KiB, MiB + 5 - 3 - 128 * KiB);
  ctx.checks.push_back({"consumer", "crc32c pieces", crc32c_is_hardware() ? "sse4.2" : "table",
                        MiB + 5, whole == pieces, pieces, whole});
}

std::string Result::verdict() const {
  if (!goal) return "";
  // The spread's worst end: the lowest speedup, the highest cost.
  const bool cost = kind == RatioKind::Cost;
  const auto meets = [&](double x) { return cost ? x <= *goal : x >= *goal; };
  if (meets(cost ? ratio_max : ratio_min)) return "met";
  return meets(ratio) ? "noise" : "no";
}

std::string Context::state_of(const std::string& path, CacheState state) const {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%s, %.0f%% resident", state_name(state),
                100 * resident_fraction(path));
  return buffer;
}

}  // namespace mmbench
