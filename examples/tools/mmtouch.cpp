// mmtouch FILE|DIR...: how much of each file is in the page cache (mincore over a mapping), and
// optionally bring it in (--touch), drop it (--evict) or pin it (--lock) first.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "file_handle.hpp"
#include "page_cache.hpp"
#include "residency_report.hpp"
#include "tool_main.hpp"

namespace {

namespace fs = std::filesystem;

struct Settings {
  bool touch = false, evict = false, lock = false, recursive = false, verbose = false, json = false;
};

// The regular files named on the command line, and with -R those under the directories named
// (symbolic links inside are not followed).
std::vector<std::string> collect(const std::vector<std::string>& args, bool recursive,
                                 bool& failed) {
  std::vector<std::string> files;
  for (const auto& arg : args) {
    std::error_code ec;
    if (!fs::is_directory(arg, ec)) {
      files.push_back(arg);
      continue;
    }
    if (!recursive) {
      std::fprintf(stderr, "mmtouch: %s: is a directory (use -R)\n", arg.c_str());
      failed = true;
      continue;
    }
    std::vector<std::string> found;
    for (fs::recursive_directory_iterator
             it(arg, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec))
      if (it->symlink_status().type() == fs::file_type::regular) found.push_back(it->path());
    if (ec) {
      std::fprintf(stderr, "mmtouch: %s: %s\n", arg.c_str(), ec.message().c_str());
      failed = true;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

// With --lock the mapping is kept (and locked) until the end; otherwise it goes right away.
void process(const std::string& path, const Settings& settings,
             std::vector<mmtools::FileResidency>& results, std::vector<mmtools::ReadMap>& held) {
  struct stat st {};
  const mmtools::UniqueFd fd = mmtools::open_regular(path, st);
  if (settings.evict) mmtools::evict(fd.get(), path);
  mmtools::ReadMap map(fd.get(), {}, path);
  mmtools::pause_for_test();
  if (settings.touch) mmtools::touch(map, path);
  if (settings.lock && !map.empty()) map.lock();
  results.push_back(mmtools::measure(map, path, static_cast<std::uint64_t>(st.st_size)));
  if (settings.lock) held.push_back(std::move(map));
}

void hold_until_signalled(const std::vector<mmtools::FileResidency>& results) {
  std::size_t pages = 0;
  for (const auto& r : results) pages += r.resident;
  std::fflush(stdout);
  std::fprintf(stderr, "mmtouch: %zu pages locked; holding them until SIGINT or SIGTERM\n", pages);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  ::sigwait(&set, &sig);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Report how much of each file is in the page cache (resident pages, as mincore "
      "sees them through a read-only mapping); optionally touch, evict or lock the "
      "pages first. Chart (-v): 'o' all pages resident, '.' none, '1'-'9' tenths. Since Linux "
      "5.2 mincore sees the whole page cache only for files you could write; for others, "
      "only pages mapped by this process (fincore has the same limit).",
      "mmtouch");
  std::vector<std::string> args;
  Settings s;
  app.add_option("FILE", args, "Files, or directories with -R")->required();
  app.add_flag("-t,--touch", s.touch, "Bring every page into memory first");
  app.add_flag("-e,--evict", s.evict,
               "Drop the pages from the page cache first (fdatasync, then "
               "POSIX_FADV_DONTNEED; pages mapped elsewhere stay)");
  app.add_flag("-l,--lock", s.lock, "mlock the pages and hold them until SIGINT or SIGTERM");
  app.add_flag("-R,--recursive", s.recursive, "Descend into directories");
  app.add_flag("-v,--verbose", s.verbose, "Draw a residency chart per file");
  app.add_flag("--json", s.json, "Machine-readable output");
  return mmtools::run(app, argc, argv, [&] {
    if (s.touch && s.evict) throw mmtools::UsageError("--touch and --evict contradict each other");
    if (s.lock) {
      // Blocked before anything is locked, so sigwait() receives them instead of them killing us.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      ::sigprocmask(SIG_BLOCK, &set, nullptr);
    }
    bool failed = false;
    std::vector<mmtools::FileResidency> results;
    std::vector<mmtools::ReadMap> held;
    for (const auto& path : collect(args, s.recursive, failed)) {
      try {
        process(path, s, results, held);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "mmtouch: %s\n", e.what());
        failed = true;
      }
    }
    if (s.json)
      mmtools::print_json(results);
    else
      mmtools::print_table(results, s.verbose);
    if (s.lock && !failed) hold_until_signalled(results);
    return failed ? 1 : 0;
  });
}
