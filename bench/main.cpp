// mmbench: when does mapping a file beat read/write? Every ratio is against a baseline measured
// in the same run, as the median of interleaved repeats.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>

#include "machine.hpp"
#include "plot.hpp"
#include "report.hpp"
#include "scenarios.hpp"

namespace {

std::string self_path(const char* argv0) {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : p.string();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mmbench;
  CLI::App app{"mmbench: when mapping beats read/write, measured"};
  Config config;
  config.dir = "/var/tmp";
  std::string csv, json, plot;
  bool list = false;
  app.add_flag("--quick", config.quick, "small files, few repeats: under a minute");
  app.add_flag("--verify", config.verify,
               "check that every method reads the same bytes (checksums), no timing");
  app.add_option("--dir", config.dir,
                 "where the temporary work directory is made (a real disk for the cold scenario)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--scenario", config.scenario, "run only this scenario (see --list)");
  app.add_option("--csv", csv, "write the results as CSV");
  app.add_option("--json", json, "write machine, files and results as JSON");
  app.add_option("--plot", plot, "write one PNG chart per scenario into this directory");
  app.add_option("--mmcp", config.mmcp, "path of mmcp (default: next to mmbench's build dir)");
  std::string consumer = "memchr";
  app.add_option("--consumer", consumer,
                 "what the timed runs do with the bytes: memchr (memory speed, an upper bound) "
                 "or crc32c (SSE4.2 where present)")
      ->check(CLI::IsMember({"memchr", "crc32c"}));
  app.add_flag("--set-readahead", config.set_readahead,
               "matrix scenario: set read_ahead_kb of the disk under --dir to 128, 2048 and 8192 "
               "(root; restored at exit and on SIGINT/SIGTERM)");
  app.add_flag("--list", list, "list the scenarios");
  CLI11_PARSE(app, argc, argv);
  config.self = self_path(argv[0]);
  timed_consumer() = consumer == "crc32c" ? Consumer::Crc32c : Consumer::Memchr;

  if (list) {
    for (const Scenario& s : all_scenarios()) std::printf("%-9s %s\n", s.name, s.what);
    return 0;
  }
  std::vector<const Scenario*> chosen;
  for (const Scenario& s : all_scenarios())
    if (config.scenario.empty() || config.scenario == s.name) chosen.push_back(&s);
  if (chosen.empty()) {
    std::fprintf(stderr, "mmbench: no scenario named '%s' (see --list)\n", config.scenario.c_str());
    return 2;
  }

  install_stop_handlers();
  int status = 0;
  try {
    Workspace files(config.dir);  // removed on every way out of this block
    const MachineInfo machine = machine_info(config.dir);
    print_machine(machine);
    std::printf("  %-15s %s\n", "mode", config.verify ? "verify" : config.quick ? "quick" : "full");
    std::printf("  %-15s %s%s\n\n", "consumer", consumer_name(timed_consumer()),
                timed_consumer() == Consumer::Crc32c
                    ? (crc32c_is_hardware() ? " (SSE4.2 crc32 instruction)" : " (table)")
                    : "");
    Context ctx{config, files, {}, {}, {}};
    if (config.verify) check_crc32c(ctx);
    for (const Scenario* s : chosen) {
      std::printf("== %s: %s\n", s->name, s->what);
      std::fflush(stdout);
      const double start = now_seconds();
      s->run(ctx);
      std::printf("   (%s took %.1f s)\n", s->name, now_seconds() - start);
    }
    print_files(files.notes());
    std::printf("\nload average at the end: %s\n", load_average().c_str());
    if (config.verify) {
      print_checks(ctx);
      for (const Check& c : ctx.checks) status |= !c.ok;
    } else {
      print_table(ctx);
    }
    if (!csv.empty()) write_csv(csv, ctx);
    if (!json.empty()) write_json(json, ctx, machine, files.notes());
    if (!plot.empty())
      std::printf("%d charts written to %s\n", write_plots(plot, ctx), plot.c_str());
  } catch (const Interrupted&) {
    std::fprintf(stderr, "mmbench: interrupted; temporary files removed\n");
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mmbench: %s\n", e.what());
    return 1;
  }
  return status;
}
