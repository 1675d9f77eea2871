// mmcp SRC DST, mmcp SRC... DIR: copies regular files atomically (mmapxx::ReplacementFile: an
// unnamed O_TMPFILE linked into place when complete, or a temporary beside DST renamed over it),
// keeping the holes of sparse files; -n, -p and --reflink as cp has them. How each data extent is
// copied: copy_methods.hpp.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "copy_methods.hpp"
#include "extents.hpp"
#include "file_handle.hpp"
#include "mmapxx/durability.hpp"
#include "progress.hpp"
#include "signal_cleanup.hpp"
#include "tool_main.hpp"

namespace {

constexpr std::uint64_t progress_threshold = std::uint64_t{64} << 20;

// Read once, before any worker thread starts (umask(0) for a moment would change the mode of a
// file another thread creates): umask(2) cannot read without writing, and a tree of small files
// would pay it twice a file.
mode_t current_umask() {
  static const mode_t mask = [] {
    const mode_t m = ::umask(0);
    ::umask(m);
    return m;
  }();
  return mask;
}

// Whether the destination name is taken. Unknown: not asked yet (a small file copied into a
// directory: the commit's linkat says so, which saves a stat a file).
enum class Presence { Absent, Present, Unknown };

struct Target {
  std::string path;       // for messages
  std::string directory;  // its parent directory, opened once for every file going there
  mode_t mode = 0;
  Presence presence = Presence::Unknown;
};

enum class Reflink { Auto, Always, Never };

struct Options {
  bool progress = false, quiet = false, durable = false, no_clobber = false, preserve = false;
  bool terminal = false;  // stderr is a terminal (asked once, not per file)
  Reflink reflink = Reflink::Auto;
  mmtools::CopyMethod method = mmtools::default_method;
  bool preallocate = mmtools::default_preallocate;
};

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

// open_regular's checks with cp's message for a missing source, and one stat instead of two.
mmtools::UniqueFd open_source(const std::string& src, struct stat& st) {
  if (::stat(src.c_str(), &st) != 0) mmtools::fail_errno("cannot stat " + in_quotes(src), errno);
  const auto refuse = [&] {
    throw mmtools::Failure(src + ": not a regular file (" + mmtools::file_kind(st.st_mode) + ")");
  };
  // Checked before the open: a FIFO cannot block us, a device is never touched.
  if (!S_ISREG(st.st_mode)) refuse();
  mmtools::UniqueFd fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) mmtools::fail_errno(src, errno);
  // The path may have been replaced between stat and open.
  if (::fstat(fd.get(), &st) != 0) mmtools::fail_errno(src, errno);
  if (!S_ISREG(st.st_mode)) refuse();
  return fd;
}

// One descriptor per destination directory, reused for every file copied into it (openat and
// linkat relative to it), instead of an open and a close a file.
class DirectoryFd {
 public:
  int get(const std::string& path) {
    if (fd_.get() < 0 || path != path_) {
      mmtools::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (fd.get() < 0) mmtools::fail_errno(path, errno);
      fd_ = std::move(fd);
      path_ = path;
    }
    return fd_.get();
  }

 private:
  std::string path_;
  mmtools::UniqueFd fd_;
};

// An existing destination, following cp: never SRC itself, only a regular file, and it keeps its
// mode.
void check_existing(const std::string& src, const struct stat& src_st, Target& target,
                    const struct stat& st) {
  if (st.st_dev == src_st.st_dev && st.st_ino == src_st.st_ino)
    throw mmtools::Failure("'" + src + "' and '" + target.path + "' are the same file");
  if (!S_ISREG(st.st_mode))
    throw mmtools::Failure(target.path + ": will not replace a " + mmtools::file_kind(st.st_mode));
  target.mode = st.st_mode & 07777;
  target.presence = Presence::Present;
}

// Where the copy goes and with which permissions, following cp: into DST/basename(SRC) when DST
// is a directory; an existing file keeps its mode, a new one gets SRC's mode less the umask.
// ask_first: stat the name now; otherwise (into_directory only) it is left Unknown.
Target resolve_target(const std::string& src, const struct stat& src_st, const std::string& dst,
                      bool into_directory, bool ask_first) {
  Target target{dst, {}, static_cast<mode_t>(src_st.st_mode & 0777 & ~current_umask())};
  struct stat st {};
  // into_directory: main() has already seen that DST is a directory.
  bool exists = !into_directory && ::stat(dst.c_str(), &st) == 0;
  if (!into_directory && !exists && errno != ENOENT) mmtools::fail_errno(dst, errno);
  if (into_directory || (exists && S_ISDIR(st.st_mode))) {
    target.directory = dst;
    target.path = (std::filesystem::path(dst) / std::filesystem::path(src).filename()).string();
    if (!ask_first) return target;
    exists = ::stat(target.path.c_str(), &st) == 0;
    if (!exists && errno != ENOENT) mmtools::fail_errno(target.path, errno);
  } else {
    const std::filesystem::path parent = std::filesystem::path(dst).parent_path();
    target.directory = parent.empty() ? "." : parent.string();
  }
  if (exists)
    check_existing(src, src_st, target, st);
  else
    target.presence = Presence::Absent;
  return target;
}

// -p: owner (where permitted: as cp, an EPERM is not an error), then times, on the unnamed file
// before it is linked into place; the mode is applied by commit(). fchown comes first because it
// may clear set-user-ID bits that the mode then restores.
void preserve_attributes(int fd, const struct stat& src_st, const std::string& target) {
  if (::fchown(fd, src_st.st_uid, src_st.st_gid) != 0 && errno != EPERM && errno != EINVAL)
    mmtools::fail_errno("preserving ownership for " + in_quotes(target), errno);
  const struct timespec times[2] = {src_st.st_atim, src_st.st_mtim};
  if (::futimens(fd, times) != 0)
    mmtools::fail_errno("preserving times for " + in_quotes(target), errno);
}

// Copies one file. With -n an existing destination is skipped quietly, as cp does.
void copy_one(const std::string& src, const std::string& dst, bool into_directory, const Options& o,
              DirectoryFd& directories) {
  struct stat src_st {};
  const mmtools::UniqueFd in = open_source(src, src_st);
  const auto size = static_cast<std::uint64_t>(src_st.st_size);
  // A small file without holes (its blocks cover its size) is copied whole in one go: extent
  // probing, cloning and preallocation cost more syscalls than they can save on it.
  const bool whole = size < mmtools::small_file_limit && o.reflink != Reflink::Always &&
                     static_cast<std::uint64_t>(src_st.st_blocks) * 512 >= size;
  // Asking before copying spares a large copy that -n or a refused destination would throw away.
  Target target = resolve_target(src, src_st, dst, into_directory, !whole || o.no_clobber);
  if (o.no_clobber && target.presence == Presence::Present) return;  // cp -n: quietly, exit 0
  if (o.preserve) target.mode = src_st.st_mode & 07777;

  const int directory = directories.get(target.directory);
  // Created with its final mode (less the umask, which target.mode already lacks), so that
  // commit needs no fchmod for a new file.
  mmapxx::ReplacementFile out(directory, target.path, target.mode);
  if (!out.unnamed()) mmtools::set_signal_cleanup(out.temporary_path().string());
  const bool show = !o.quiet && (o.progress || (o.terminal && size >= progress_threshold));
  mmtools::Progress progress(show, "mmcp", size);
  const mmtools::CopyTarget to{out.fd(), target.path, o.preallocate};
  if (whole) {
    // --reflink=never: copy_file_range may share extents on btrfs and xfs.
    if (size > 0)
      mmtools::copy_small(
          in.get(), src, to, size,
          o.method == mmtools::CopyMethod::CopyRange && o.reflink != Reflink::Never);
  } else {
    // Where the filesystem can share extents, the copy is instant and keeps the holes.
    bool cloned = false;
    if (o.reflink == Reflink::Always) {
      if (::ioctl(out.fd(), FICLONE, in.get()) != 0)
        mmtools::fail_errno("failed to clone " + in_quotes(target.path) + " from " +
                                in_quotes(src) + " (ioctl FICLONE)",
                            errno);
      cloned = true;
    } else if (o.reflink == Reflink::Auto) {
      cloned = o.method == mmtools::CopyMethod::CopyRange && size > 0 &&
               mmtools::clone_file(in.get(), to);
    }
    // --reflink=never: copy_file_range may share extents on btrfs and xfs, so the data goes
    // through the mapping instead.
    const mmtools::CopyMethod method =
        o.reflink == Reflink::Never && o.method == mmtools::CopyMethod::CopyRange
            ? mmtools::CopyMethod::Write
            : o.method;
    std::uint64_t written_to = 0;  // end of the last extent copied
    if (!cloned)
      mmtools::for_each_data_extent(
          in.get(), src, 0, size, [&](std::uint64_t offset, std::uint64_t length) {
            written_to = offset + length;
            mmtools::copy_extent(method, in.get(), src, to, offset, length,
                                 [&](std::uint64_t done) { progress.update(done); });
          });
    // A file that shrank behind our back must not be passed off as a complete copy (the
    // extent walk stops quietly where the data ends).
    struct stat after {};
    if (::fstat(in.get(), &after) != 0) mmtools::fail_errno(src, errno);
    if (static_cast<std::uint64_t>(after.st_size) < size)
      mmtools::fail_truncated(src, static_cast<std::uint64_t>(after.st_size), "end of file moved");
    // Trailing hole: the size without blocks.
    if (!cloned && written_to < size && ::ftruncate(out.fd(), static_cast<off_t>(size)) != 0)
      mmtools::fail_write(target.path, errno, "ftruncate");
  }
  if (o.preserve) preserve_attributes(out.fd(), src_st, target.path);
  progress.finish();
  std::error_code ec;
  if (target.presence == Presence::Unknown) {
    // One linkat, which cannot be cut in two: it names the file or finds the name taken.
    out.commit({.mode = target.mode,
                .existing = mmapxx::Existing::Keep,
                .durable = o.durable,
                .keep_mode = out.unnamed() && !o.preserve},
               ec);
    if (ec != std::errc::file_exists) {
      mmtools::set_signal_cleanup({});
      if (ec) throw mmapxx::Error("commit", target.path, ec);
      return;
    }
    // Taken: the checks a stat would have made first, then a replacement like any other.
    struct stat st {};
    const std::string name = std::filesystem::path(target.path).filename().string();
    if (::fstatat(directory, name.c_str(), &st, 0) != 0) mmtools::fail_errno(target.path, errno);
    check_existing(src, src_st, target, st);
    if (o.preserve) target.mode = src_st.st_mode & 07777;
    ec.clear();
  }
  {
    // A replacement is a link and a rename, and a named temporary must not outlive a signal.
    std::optional<mmtools::SignalsHeld> held;
    if (!out.unnamed() || target.presence == Presence::Present) held.emplace();
    out.commit({.mode = target.mode,
                .existing = o.no_clobber ? mmapxx::Existing::Keep : mmapxx::Existing::Replace,
                .durable = o.durable,
                .keep_mode = out.unnamed() && !o.preserve && target.presence == Presence::Absent},
               ec);
    mmtools::set_signal_cleanup({});
  }
  // -n and a destination that appeared meanwhile: kept, as if it had been there from the start.
  if (ec == std::errc::file_exists && o.no_clobber) return;
  if (ec) throw mmapxx::Error("commit", target.path, ec);
}

// copy_one's outcome: whether it failed, and its message (empty when even the message could not
// be allocated: report() then prints a fixed one).
struct Outcome {
  bool failed = false;
  std::string message;

  void report(const std::string& src) const noexcept {
    if (!failed) return;
    if (!message.empty())
      mmtools::print_message(message);
    else
      std::fprintf(stderr, "mmcp: %s: out of memory\n", src.c_str());
  }
};

Outcome copy_reporting(const std::string& src, const std::string& dst, bool into_directory,
                       const Options& o, DirectoryFd& directories) noexcept {
  Outcome outcome;
  try {
    copy_one(src, dst, into_directory, o, directories);
    return outcome;
  } catch (const std::exception& e) {
    outcome.failed = true;
    try {
      outcome.message = "mmcp: " + std::string(e.what());
    } catch (...) {
    }
  } catch (...) {
    outcome.failed = true;
  }
  return outcome;
}

// -j's default: the online CPUs, at most 4 (past that the filesystem's locks, not the CPUs,
// bound a tree of small files), and no thread at all for a single source.
std::size_t default_jobs(std::size_t sources) {
  if (sources < 2) return 1;
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  return static_cast<std::size_t>(std::clamp<long>(cpus, 1, 4));
}

// Copies every source with `workers` threads taking the next source in argument order; the
// calling thread prints each source's error as soon as every source before it is done, so the
// messages come in argument order whatever finishes first. True if every copy succeeded.
bool copy_all(const std::vector<std::string>& sources, const std::string& dst, bool into_directory,
              const Options& o, std::size_t workers) {
  std::vector<Outcome> outcomes(sources.size());
  std::vector<char> done(sources.size(), 0);
  std::mutex mutex;
  std::condition_variable finished;
  std::size_t next = 0;  // the next source to take; guarded by mutex
  const auto work = [&](std::size_t slot) {
    mmtools::use_signal_cleanup_slot(slot);
    DirectoryFd directories;
    for (;;) {
      std::size_t i = 0;
      {
        const std::lock_guard lock(mutex);
        if (next == sources.size()) return;
        i = next++;
      }
      Outcome outcome = copy_reporting(sources[i], dst, into_directory, o, directories);
      {
        const std::lock_guard lock(mutex);
        outcomes[i] = std::move(outcome);
        done[i] = 1;
      }
      finished.notify_all();
    }
  };
  std::vector<std::jthread> threads;
  if (workers > 1) {
    threads.reserve(workers);
    for (std::size_t t = 0; t < workers; ++t) {
      try {
        threads.emplace_back(work, t);
      } catch (const std::system_error&) {
        break;  // EAGAIN (RLIMIT_NPROC, threads-max): the threads we have do the work
      }
    }
  }
  bool ok = true;
  if (threads.empty()) {  // one at a time, each message as soon as its copy fails
    DirectoryFd directories;
    for (const auto& src : sources) {
      const Outcome outcome = copy_reporting(src, dst, into_directory, o, directories);
      outcome.report(src);
      ok = ok && !outcome.failed;
    }
    return ok;
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    std::unique_lock lock(mutex);
    finished.wait(lock, [&] { return done[i] != 0; });
    if (!outcomes[i].failed) continue;
    ok = false;
    lock.unlock();  // outcomes[i] is no longer written
    outcomes[i].report(sources[i]);
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Copy SRC to DST, or each SRC into DIRECTORY (DIRECTORY/basename(SRC)), through the kernel "
      "or a memory mapping. Each destination appears complete or not at all; holes of sparse "
      "files are kept. A failed file is reported and the others are still copied (exit 1).",
      "mmcp");
  std::vector<std::string> paths;
  Options o;
  std::string reflink = "auto";
  app.add_option("SRC... DST", paths,
                 "Regular files to copy, then the destination file or directory")
      ->required()
      ->expected(2, -1);
  app.add_flag("-n,--no-clobber", o.no_clobber, "Never replace an existing destination");
  app.add_flag("-p,--preserve", o.preserve,
               "Keep mode, owner (where permitted) and access/modification times");
  app.add_option("--reflink", reflink,
                 "auto: share extents (FICLONE) where the filesystem can, else copy; always: "
                 "fail where it cannot; never: always copy the data")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--progress", o.progress, "Show a progress bar even for small files or no tty");
  app.add_flag("-q,--quiet", o.quiet, "Never show a progress bar");
  app.add_flag("--fsync", o.durable, "fsync each copy and its directory before going on");
  int jobs = 0;  // 0: default_jobs
  app.add_option("-j,--jobs", jobs,
                 "Copy this many files at a time, 1 to 64 (default: the online CPUs, at most "
                 "4; 1 for a single source); messages still come in argument order")
      ->type_name("UINT")
      ->check(CLI::Range(1, static_cast<int>(mmtools::max_cleanup_threads)).description(""));
  std::string method_name;
  bool preallocate = false;
  // For mmbench's copy group: the alternatives mmcp was measured against.
  app.add_option("--method", method_name, "buffer, write or copy_file_range")->group("");
  app.add_flag("--preallocate", preallocate, "fallocate each extent before copying it")->group("");
  return mmtools::run(app, argc, argv, [&] {
    if (!method_name.empty()) {
      o.preallocate = preallocate;
      if (!mmtools::parse_copy_method(method_name, o.method))
        throw mmtools::UsageError("unknown --method '" + method_name + "'");
    }
    o.reflink = reflink == "always"  ? Reflink::Always
                : reflink == "never" ? Reflink::Never
                                     : Reflink::Auto;
    const std::string dst = paths.back();
    paths.pop_back();
    // Several sources, or "DST/": DST must be a directory (cp says the same).
    const bool into_directory = paths.size() > 1 || dst.ends_with('/');
    if (into_directory) {
      struct stat st {};
      if (::stat(dst.c_str(), &st) != 0) mmtools::fail_errno("target " + in_quotes(dst), errno);
      if (!S_ISDIR(st.st_mode))
        throw mmtools::Failure("target " + in_quotes(dst) + " is not a directory");
    }
    mmtools::install_signal_cleanup();
    o.terminal = ::isatty(STDERR_FILENO) != 0;
    current_umask();
    const std::size_t workers = std::min<std::size_t>(
        jobs > 0 ? static_cast<std::size_t>(jobs) : default_jobs(paths.size()), paths.size());
    return copy_all(paths, dst, into_directory, o, workers) ? 0 : 1;
  });
}
