#include "plot.hpp"

#include <algorithm>
#include <cctype>
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

// The beyond scenario's throughput over time: one chart per case (and thread count), one line
// per method, x = slice (each the same number of reads, in order), y = reads per second.
int write_over_time_plots(const std::string& dir, const Context& ctx) {
  std::vector<std::string> charts;
  const auto chart_of = [](const Result& r) {
    const bool two = r.method.find(", 2 threads") != std::string::npos;
    return r.case_name + (two ? ", 2 threads" : ", 1 thread");
  };
  for (const Result& r : ctx.results)
    if (!r.over_time.empty()) add_unique(charts, chart_of(r));
  int made = 0;
  for (const std::string& chart : charts) {
    std::vector<const Result*> rows;
    std::size_t slices = 0;
    for (const Result& r : ctx.results)
      if (!r.over_time.empty() && chart_of(r) == chart) {
        rows.push_back(&r);
        slices = std::max(slices, r.over_time.size());
      }
    std::string name = chart;
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '-';
    const std::string base = dir + "/" + name;
    {
      std::ofstream dat(base + ".dat");
      dat << "slice";
      for (const Result* r : rows) dat << '\t' << r->method;
      dat << '\n';
      for (std::size_t k = 0; k < slices; ++k) {
        dat << k + 1;
        for (const Result* r : rows) {
          if (k < r->over_time.size() && r->over_time[k] > 0)
            dat << '\t' << 1e9 / r->over_time[k];
          else
            dat << "\t-";
        }
        dat << '\n';
      }
    }
    {
      std::ofstream gp(base + ".gp");
      gp << "set terminal pngcairo size 1200,560 font 'sans,9'\n"
         << "set output " << quoted(base + ".png") << "\n"
         << "set title " << quoted("mmbench " + chart + ": throughput over time, from a cold start")
         << "\n"
         << "set termoption noenhanced\n"
         << colors() << "set datafile separator '\\t'\nset datafile missing '-'\n"
         << "set key outside right top vertical font ',8'\nset grid\n"
         << "set xlabel 'slice (each the same number of random 4 KiB reads, in order)'\n"
         << "set ylabel 'reads per second (log scale)'\nset logscale y\n"
         << "set xrange [1:" << std::max<std::size_t>(slices, 2) << "]\n"
         << "plot for [i=2:" << rows.size() + 1 << "] " << quoted(base + ".dat")
         << " using 1:i with linespoints title columnhead(i)\n";
    }
    const std::string command = "gnuplot " + quoted(base + ".gp");
    if (std::system(command.c_str()) == 0)
      ++made;
    else
      std::fprintf(stderr, "mmbench: gnuplot failed for %s\n", chart.c_str());
  }
  return made;
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
  return made + write_over_time_plots(dir, ctx);
}

}  // namespace mmbench
