// mmtouch FILE|DIR...: how much of each file is in the page cache (mmapxx::page_cache_stats:
// cachestat, or mincore over windows; memory bounded for any file size), and optionally bring it
// in (--touch), drop it (--evict) or pin it (--lock, in the background with -d) first. The crawl
// options are vmtouch's: -p, -m, -f, -F, -h, -i, -I, -b, -0, -q.
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <utility>

#include "file_handle.hpp"
#include "mmapxx/page.hpp"
#include "page_cache.hpp"
#include "progress.hpp"
#include "residency_report.hpp"
#include "size_arg.hpp"
#include "tool_main.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t progress_threshold = std::uint64_t{64} << 20;

struct Settings {
  bool touch = false, evict = false, lock = false, recursive = false, verbose = false, json = false;
  bool follow = false, one_filesystem = false, count_links_twice = false, quiet = false;
  bool daemon = false, nul = false;
  std::uint64_t range_begin = 0, range_end = UINT64_MAX;  // -p
  std::uint64_t max_size = UINT64_MAX;                    // -m
  std::vector<std::string> ignore, include;               // -i, -I
  std::string batch, pidfile;
};

// vmtouch's -p: "A-B", "A-", "-B", "-", or "B" (the first B bytes).
bool parse_range(const std::string& text, std::uint64_t& begin, std::uint64_t& end) {
  const auto dash = text.find('-');
  const std::string first = dash == std::string::npos ? "" : text.substr(0, dash);
  const std::string second = dash == std::string::npos ? text : text.substr(dash + 1);
  begin = 0;
  end = UINT64_MAX;
  if (!first.empty()) {
    const auto v = mmtools::parse_size(first);
    if (!v) return false;
    begin = *v;
  }
  if (!second.empty()) {
    const auto v = mmtools::parse_size(second);
    if (!v) return false;
    end = *v;
  }
  return begin <= end;
}

bool matches(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return ::fnmatch(p.c_str(), name.c_str(), 0) == 0;
  });
}

void warn(const Settings& s, const std::string& message, bool& failed) {
  failed = true;
  if (!s.quiet) std::fprintf(stderr, "mmtouch: %s\n", message.c_str());
}

// The regular files to look at, in order: those named, and with -R those under the directories
// named. Symbolic links are followed only with -f (named ones always, as open() does); with -F
// the crawl stays on each named directory's filesystem; -i prunes files and directories, -I keeps
// only files that match; without -h a file reached through several hard links counts once.
class Crawl {
 public:
  Crawl(const Settings& s, bool& failed) : s_(s), failed_(failed) {}

  void add(const std::string& arg) {
    struct stat st {};
    if (::stat(arg.c_str(), &st) != 0) return file(arg);  // reported when opened
    if (!S_ISDIR(st.st_mode)) return file(arg);
    if (!s_.recursive) return warn(s_, arg + ": is a directory (use -R)", failed_);
    walk(arg, st.st_dev);
  }
  std::vector<std::string>& files() { return files_; }

 private:
  void file(const std::string& path) {
    const std::string base = fs::path(path).filename();
    if (matches(s_.ignore, base)) return;
    if (!s_.include.empty() && !matches(s_.include, base)) return;
    struct stat st {};
    if (!s_.count_links_twice && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        !seen_.emplace(st.st_dev, st.st_ino).second)
      return;
    files_.push_back(path);
  }

  void walk(const std::string& root, dev_t dev) {
    auto options = fs::directory_options::skip_permission_denied;
    if (s_.follow) options |= fs::directory_options::follow_directory_symlink;
    std::error_code ec;
    std::vector<std::string> found;
    std::set<std::pair<dev_t, ino_t>> dirs;  // -f: a link back up would loop for ever
    for (fs::recursive_directory_iterator it(root, options, ec), end; !ec && it != end;
         it.increment(ec)) {
      const std::string path = it->path();
      const std::string base = it->path().filename();
      struct stat st {};
      const bool is_link = it->symlink_status(ec).type() == fs::file_type::symlink;
      if (ec || (is_link && !s_.follow) || ::stat(path.c_str(), &st) != 0) {
        ec.clear();
        if (is_link && !s_.follow) continue;
        it.disable_recursion_pending();
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        if (matches(s_.ignore, base) || (s_.one_filesystem && st.st_dev != dev) ||
            !dirs.emplace(st.st_dev, st.st_ino).second)
          it.disable_recursion_pending();
        continue;
      }
      if (S_ISREG(st.st_mode)) found.push_back(path);
    }
    if (ec) warn(s_, root + ": " + ec.message(), failed_);
    std::sort(found.begin(), found.end());
    for (const auto& f : found) file(f);
  }

  const Settings& s_;
  bool& failed_;
  std::vector<std::string> files_;
  std::set<std::pair<dev_t, ino_t>> seen_;
};

// -b FILE (or -): one path a line, or NUL-separated with -0.
std::vector<std::string> read_list(const std::string& name, bool nul) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (name != "-") {
    file.open(name);
    if (!file) mmtools::fail_errno("cannot read list " + name, errno);
    in = &file;
  }
  std::vector<std::string> paths;
  for (std::string line; std::getline(*in, line, nul ? '\0' : '\n');)
    if (!line.empty()) paths.push_back(line);
  return paths;
}

struct Job {
  std::vector<mmtools::FileResidency> results;
  std::vector<mmtools::ReadMap> held;  // with --lock: kept (and locked) until the end
};

void process(const std::string& path, const Settings& s, Job& job,
             const std::function<void(std::uint64_t)>& progress) {
  struct stat st {};
  const mmtools::UniqueFd fd = mmtools::open_regular(path, st);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > s.max_size) {
    if (!s.quiet)
      std::fprintf(stderr, "mmtouch: %s: skipped, larger than -m (%llu bytes)\n", path.c_str(),
                   static_cast<unsigned long long>(size));
    return;
  }
  const std::uint64_t page = mmapxx::page_size();
  const std::uint64_t end = std::min(size, s.range_end);
  const std::uint64_t begin = std::min(s.range_begin / page * page, end);
  if (s.evict) mmtools::evict(fd.get(), path, begin, end);
  if (s.touch) mmtools::touch(fd.get(), path, begin, end, progress);
  if (s.lock && end > begin) job.held.push_back(mmtools::lock(fd.get(), path, begin, end));
  job.results.push_back(mmtools::measure(fd.get(), path, begin, end, s.verbose));
}

// -d: the parent returns once the child has locked everything (or failed), with its status.
// The child carries on in a new session with stdin/stdout/stderr on /dev/null.
int daemonize(int& ready_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) mmtools::fail_errno("pipe", errno);
  const pid_t pid = ::fork();
  if (pid < 0) mmtools::fail_errno("fork", errno);
  if (pid > 0) {
    ::close(p[1]);
    char status = 1;
    while (::read(p[0], &status, 1) < 0 && errno == EINTR) {
    }
    return status;  // 0: locked and detached; else the child's failure (already reported)
  }
  ::close(p[0]);
  ::setsid();
  ready_fd = p[1];
  return -1;
}

void detach(int ready_fd, int status) {
  if (ready_fd < 0) return;
  std::fflush(stdout);
  std::fflush(stderr);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::close(null);
  }
  const char byte = static_cast<char>(status);
  static_cast<void>(::write(ready_fd, &byte, 1));
  ::close(ready_fd);
}

void hold_until_signalled(const std::vector<mmtools::FileResidency>& results, bool quiet) {
  std::uint64_t pages = 0;
  for (const auto& r : results) pages += r.resident;
  std::fflush(stdout);
  if (!quiet)
    std::fprintf(stderr,
                 "mmtouch: %llu pages locked; holding them until SIGINT, SIGTERM or SIGQUIT\n",
                 static_cast<unsigned long long>(pages));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGQUIT);
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
  // -h is vmtouch's hard-link option; help stays --help.
  app.set_help_flag("--help", "Print this help message and exit");
  std::vector<std::string> args;
  Settings s;
  std::string range, max_size;
  app.add_option("FILE", args, "Files, or directories with -R");
  app.add_flag("-t,--touch", s.touch, "Bring every page into memory first");
  app.add_flag("-e,--evict", s.evict,
               "Drop the pages from the page cache first (fdatasync, then "
               "POSIX_FADV_DONTNEED; pages mapped elsewhere stay)");
  app.add_flag("-l,--lock", s.lock,
               "mlock the pages and hold them until SIGINT, SIGTERM or SIGQUIT");
  app.add_flag("-d,--daemon", s.daemon, "With -l: go to the background once everything is locked");
  app.add_option("-P,--pidfile", s.pidfile,
                 "With -l: write the process id to this file (removed on SIGINT/SIGTERM/SIGQUIT)");
  app.add_flag("-R,--recursive", s.recursive, "Descend into directories");
  app.add_option("-p,--range", range,
                 "Only bytes A-B of each file (A-, -B, or B for the first B bytes; K, M, G)");
  app.add_option("-m,--max-size", max_size, "Skip files larger than this (K, M, G)");
  app.add_flag("-f,--follow", s.follow, "Follow symbolic links inside directories");
  app.add_flag("-F,--one-file-system", s.one_filesystem,
               "Do not descend into directories on other filesystems");
  app.add_flag("-h,--hardlinks", s.count_links_twice,
               "Count a file once per hard link (by default once per inode)");
  app.add_option("-i,--ignore", s.ignore,
                 "Skip files and directories whose name matches this glob (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-I,--include", s.include, "Only files whose name matches this glob (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-b,--batch", s.batch, "Read the paths from this file, one a line ('-': stdin)");
  app.add_flag("-0,--null", s.nul, "With -b: the paths are separated by NUL bytes");
  app.add_flag("-q,--quiet", s.quiet, "Print nothing but fatal errors");
  app.add_flag("-v,--verbose", s.verbose, "Draw a residency chart per file");
  app.add_flag("--json", s.json, "Machine-readable output");
  return mmtools::run(app, argc, argv, [&] {
    if (s.touch && s.evict) throw mmtools::UsageError("--touch and --evict contradict each other");
    if ((s.daemon || !s.pidfile.empty()) && !s.lock) throw mmtools::UsageError("-d and -P need -l");
    if (!range.empty() && !parse_range(range, s.range_begin, s.range_end))
      throw mmtools::UsageError("-p '" + range + "' is not a range (A-B, A-, -B or B)");
    if (!max_size.empty()) {
      const auto v = mmtools::parse_size(max_size);
      if (!v) throw mmtools::UsageError("-m '" + max_size + "' is not a size");
      s.max_size = *v;
    }
    if (!s.batch.empty()) {
      const auto listed = read_list(s.batch, s.nul);
      args.insert(args.end(), listed.begin(), listed.end());
    }
    if (args.empty() && s.batch.empty()) throw mmtools::UsageError("FILE is required");
    if (s.lock) {
      // Blocked before anything is locked, so sigwait() receives them instead of them killing us.
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGQUIT);
      ::sigprocmask(SIG_BLOCK, &set, nullptr);
    }
    int ready_fd = -1;
    if (s.daemon)
      if (const int status = daemonize(ready_fd); status >= 0) return status;
    bool failed = false;
    Crawl crawl(s, failed);
    for (const auto& arg : args) crawl.add(arg);
    const auto& files = crawl.files();

    // A bar for touching or evicting a large tree, on a terminal only: bytes of all the files.
    std::uint64_t total = 0;
    const bool bar =
        (s.touch || s.evict || s.lock) && !s.quiet && !s.daemon && ::isatty(STDERR_FILENO);
    if (bar)
      for (const auto& f : files) {
        struct stat st {};
        if (::stat(f.c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_size);
      }
    mmtools::Progress progress(bar && total >= progress_threshold, "mmtouch", total);
    std::uint64_t done = 0;

    Job job;
    for (const auto& path : files) {
      try {
        process(path, s, job, [&](std::uint64_t in_file) { progress.update(done + in_file); });
      } catch (const std::exception& e) {
        warn(s, e.what(), failed);
      }
      struct stat st {};
      if (bar && ::stat(path.c_str(), &st) == 0) done += static_cast<std::uint64_t>(st.st_size);
      progress.update(done);
    }
    progress.finish();
    if (s.quiet) {
    } else if (s.json) {
      mmtools::print_json(job.results);
    } else {
      mmtools::print_table(job.results, s.verbose);
    }
    if (!s.lock || failed) {
      detach(ready_fd, failed ? 1 : 0);
      return failed ? 1 : 0;
    }
    if (!s.pidfile.empty()) {
      std::FILE* f = std::fopen(s.pidfile.c_str(), "we");
      if (f == nullptr) {
        warn(s, "cannot write pid file " + s.pidfile + ": " + std::strerror(errno), failed);
        detach(ready_fd, 1);
        return 1;
      }
      std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
      std::fclose(f);
    }
    detach(ready_fd, 0);
    hold_until_signalled(job.results, s.quiet || s.daemon);
    if (!s.pidfile.empty()) ::unlink(s.pidfile.c_str());
    return 0;
  });
}
