#include "report.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace mmbench {

namespace {

const char* unit_name(Unit unit) {
  return unit == Unit::GBps ? "GB/s" : "ns/op";
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::ofstream open_out(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  return out;
}

}  // namespace

void print_machine(const MachineInfo& machine) {
  std::printf("Machine\n");
  for (const auto& [key, value] : machine) std::printf("  %-15s %s\n", key.c_str(), value.c_str());
}

void print_files(const std::vector<FileNote>& notes) {
  if (notes.empty()) return;
  std::printf(
      "\nFiles (page-cache state when prepared; faults/MiB = minor faults to touch every\n"
      "page of a fresh mapping, 256 means one per 4 KiB page)\n");
  for (const FileNote& n : notes)
    std::printf("  %-22s %-13s %5.1f%% resident  %7.1f faults/MiB\n", n.name.c_str(),
                state_name(n.state), 100 * n.resident, n.faults_per_mib);
}

void print_table(const Context& ctx) {
  if (ctx.results.empty()) return;
  std::printf("\n%-9s %-22s %-31s %7s %-32s %10s %21s %-5s %7s %13s %s\n", "scenario", "case",
              "method", "size", "cache state", "median", "[min - max]", "unit", "ratio",
              "[min - max]", "goal");
  for (const Result& r : ctx.results) {
    char goal[48] = "";
    if (r.goal)
      std::snprintf(goal, sizeof goal, "%s%.2fx: %s",
                    r.kind == RatioKind::Cost ? "<=" : ">=", *r.goal, r.verdict().c_str());
    std::printf(
        "%-9s %-22s %-31s %7s %-32s %10.3f [%9.3f - %9.3f] %-5s %6.2fx [%4.2f - %4.2f]%s %s\n",
        r.scenario.c_str(), r.case_name.c_str(), r.method.c_str(), size_label(r.size).c_str(),
        r.state.c_str(), r.value, r.value_min, r.value_max, unit_name(r.unit), r.ratio, r.ratio_min,
        r.ratio_max, r.kind == RatioKind::Cost ? " cost" : "     ", goal);
  }
  std::printf(
      "\nratio: speed vs the group's baseline (the first method of each group; >1 is "
      "faster),\n       except 'cost' rows: time vs the group's baseline, the raw syscalls (1.00 = "
      "no "
      "overhead)\n       or, in 'vs Boost' groups, Boost.Interprocess.\n"
      "[min - max]: over the repeats; ratios are paired by round (each round runs every method\n"
      "       of a group back to back). goal: met = holds for every repeat; noise = the median\n"
      "       meets it but not the whole spread; no = the median misses it.\n");
  for (const std::string& note : ctx.notes) std::printf("note: %s\n", note.c_str());
}

void print_checks(const Context& ctx) {
  std::size_t failed = 0;
  for (const Check& c : ctx.checks) {
    std::printf("%-4s %-9s %-22s %-31s %7s  %016llx%s\n", c.ok ? "ok" : "FAIL", c.scenario.c_str(),
                c.case_name.c_str(), c.method.c_str(), size_label(c.size).c_str(),
                static_cast<unsigned long long>(c.got), c.ok ? "" : " (mismatch)");
    failed += !c.ok;
  }
  for (const std::string& note : ctx.notes) std::printf("note: %s\n", note.c_str());
  std::printf("%zu checks, %zu failed\n", ctx.checks.size(), failed);
}

void write_csv(const std::string& path, const Context& ctx) {
  std::ofstream out = open_out(path);
  out << "scenario,case,method,size_bytes,cache_state,value,value_min,value_max,unit,ratio,"
         "ratio_min,ratio_max,ratio_kind,baseline,repeats,goal,goal_verdict\n";
  for (const Result& r : ctx.results) {
    out << csv_field(r.scenario) << ',' << csv_field(r.case_name) << ',' << csv_field(r.method)
        << ',' << r.size << ',' << csv_field(r.state) << ',' << r.value << ',' << r.value_min << ','
        << r.value_max << ',' << unit_name(r.unit) << ',' << r.ratio << ',' << r.ratio_min << ','
        << r.ratio_max << ',' << (r.kind == RatioKind::Cost ? "cost" : "speedup") << ','
        << csv_field(r.baseline) << ',' << r.repeats << ',';
    if (r.goal) out << *r.goal;
    out << ',' << r.verdict() << '\n';
  }
}

void write_json(const std::string& path, const Context& ctx, const MachineInfo& machine,
                const std::vector<FileNote>& files) {
  std::ofstream out = open_out(path);
  out << "{\n  \"machine\": {";
  for (std::size_t i = 0; i < machine.size(); ++i)
    out << (i ? ", " : "") << json_string(machine[i].first) << ": "
        << json_string(machine[i].second);
  out << "},\n  \"files\": [";
  for (std::size_t i = 0; i < files.size(); ++i)
    out << (i ? ",\n    " : "\n    ") << "{\"name\": " << json_string(files[i].name)
        << ", \"size\": " << files[i].size
        << ", \"state\": " << json_string(state_name(files[i].state))
        << ", \"resident\": " << files[i].resident
        << ", \"faults_per_mib\": " << files[i].faults_per_mib << "}";
  out << "],\n  \"results\": [";
  for (std::size_t i = 0; i < ctx.results.size(); ++i) {
    const Result& r = ctx.results[i];
    out << (i ? ",\n    " : "\n    ") << "{\"scenario\": " << json_string(r.scenario)
        << ", \"case\": " << json_string(r.case_name) << ", \"method\": " << json_string(r.method)
        << ", \"size\": " << r.size << ", \"cache_state\": " << json_string(r.state)
        << ", \"value\": " << r.value << ", \"value_min\": " << r.value_min
        << ", \"value_max\": " << r.value_max << ", \"unit\": " << json_string(unit_name(r.unit))
        << ", \"ratio\": " << r.ratio << ", \"ratio_min\": " << r.ratio_min
        << ", \"ratio_max\": " << r.ratio_max << ", \"repeats\": " << r.repeats
        << ", \"ratio_kind\": " << json_string(r.kind == RatioKind::Cost ? "cost" : "speedup")
        << ", \"baseline\": " << json_string(r.baseline);
    if (r.goal)
      out << ", \"goal\": " << *r.goal << ", \"goal_verdict\": " << json_string(r.verdict());
    if (!r.over_time.empty()) {
      out << ", \"over_time_ns_per_op\": [";
      for (std::size_t k = 0; k < r.over_time.size(); ++k) out << (k ? ", " : "") << r.over_time[k];
      out << "]";
    }
    out << "}";
  }
  out << "],\n  \"notes\": [";
  for (std::size_t i = 0; i < ctx.notes.size(); ++i)
    out << (i ? ", " : "") << json_string(ctx.notes[i]);
  out << "]\n}\n";
}

}  // namespace mmbench
