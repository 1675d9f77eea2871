#include "plot.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace mmbench {

namespace {

std::string cluster_of(const Result& r) {
  std::string label = r.case_name.empty() ? "" : r.case_name + " ";
  label += size_label(r.size);
  const std::string state = r.state.substr(0, r.state.find(','));
  if (!state.empty() && state != "-") label += " " + state.substr(0, state.find(' '));
  return label;
}

template <class T>
void add_unique(std::vector<T>& list, const T& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Distinct colours for up to 12 methods (gnuplot's defaults repeat after 8).
std::string colors() {
  static const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
  std::string out;
  for (int i = 0; i < 12; ++i)
    out += "set linetype " + std::to_string(i + 1) + " lc rgb '" + palette[i] + "'\n";
  return out;
}

}  // namespace

int write_plots(const std::string& dir, const Context& ctx) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> scenarios;
  for (const Result& r : ctx.results) add_unique(scenarios, r.scenario);
  int made = 0;
  for (const std::string& scenario : scenarios) {
    std::vector<std::string> clusters, methods;
    std::map<std::pair<std::string, std::string>, double> value;
    Unit unit = Unit::GBps;
    bool cost = false;
    for (const Result& r : ctx.results) {
      if (r.scenario != scenario) continue;
      add_unique(clusters, cluster_of(r));
      add_unique(methods, r.method);
      cost = r.kind == RatioKind::Cost;
      unit = r.unit;
      // Overhead rows span 1 µs to 10 ms: the ratio is what matters and what fits one chart.
      value[{cluster_of(r), r.method}] = cost ? r.ratio : r.value;
    }
    const std::string base = dir + "/" + scenario;
    {
      std::ofstream dat(base + ".dat");
      dat << "cluster";
      for (const auto& m : methods) dat << '\t' << m;
      dat << '\n';
      for (const auto& c : clusters) {
        dat << c;
        for (const auto& m : methods) {
          auto it = value.find({c, m});
          if (it == value.end())
            dat << "\t-";
          else
            dat << '\t' << it->second;
        }
        dat << '\n';
      }
    }
    {
      const bool ns = unit == Unit::NsPerOp && !cost;
      std::ofstream gp(base + ".gp");
      gp << "set terminal pngcairo size 1200,560 font 'sans,9'\n"
         << "set output " << quoted(base + ".png") << "\n"
         << "set title " << quoted("mmbench " + scenario) << "\n"
         << "set termoption noenhanced\n"
         << colors() << "set datafile separator '\\t'\nset datafile missing '-'\n"
         << "set style data histogram\nset style histogram clustered gap 1\n"
         << "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
         << "set key outside right top vertical font ',8'\nset grid ytics\n"
         << "set xtics rotate by -25 font ',8'\n"
         << "set ylabel "
         << quoted(cost ? "time / raw syscalls (1.00 = no overhead)"
                   : ns ? "ns per operation (lower is better, log scale)"
                        : "GB/s (higher is better)")
         << "\n";
      if (ns)
        gp << "set logscale y\n";
      else
        gp << "set yrange [0:*]\n";
      gp << "plot for [i=2:" << methods.size() + 1 << "] " << quoted(base + ".dat")
         << " using i:xtic(1) title columnhead(i)\n";
    }
    const std::string command = "gnuplot " + quoted(base + ".gp");
    if (std::system(command.c_str()) == 0)
      ++made;
    else
      std::fprintf(stderr, "mmbench: gnuplot failed for %s\n", scenario.c_str());
  }
  return made;
}

}  // namespace mmbench
