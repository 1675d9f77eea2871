// mmtouch FILE|DIR...: how much of each file is in the page cache (mmapxx::page_cache_stats:
// cachestat, or mincore over windows; memory bounded for any file size), and optionally bring it
// in (--touch), drop it (--evict) or pin it (--lock) first.
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

// With --lock the mapping is kept (and locked) until the end; nothing else stays mapped.
void process(const std::string& path, const Settings& settings,
             std::vector<mmtools::FileResidency>& results, std::vector<mmtools::ReadMap>& held) {
  struct stat st {};
  const mmtools::UniqueFd fd = mmtools::open_regular(path, st);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (settings.evict) mmtools::evict(fd.get(), path);
  if (settings.touch) mmtools::touch(fd.get(), path, size);
  if (settings.lock && size > 0) held.push_back(mmtools::lock(fd.get(), path));
  results.push_back(mmtools::measure(fd.get(), path, size, settings.verbose));
}

void hold_until_signalled(const std::vector<mmtools::FileResidency>& results) {
  std::uint64_t pages = 0;
  for (const auto& r : results) pages += r.resident;
  std::fflush(stdout);
  std::fprintf(stderr, "mmtouch: %llu pages locked; holding them until SIGINT or SIGTERM\n",
               static_cast<unsigned long long>(pages));
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
      "Report how much of each file is in the page cache (resident pages, counted with "
      "cachestat(2), or mincore(2) over mapped windows before Linux 6.5); optionally touch, "
      "evict or lock the pages first. Chart (-v): 'o' all pages resident, '.' none, '1'-'9' "
      "tenths. Without cachestat, mincore sees the whole page cache only for files you could "
      "write; for others, only pages mapped by this process (fincore has the same limit).",
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
