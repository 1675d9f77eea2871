// mmcp SRC DST: copies a regular file atomically (mmapxx::ReplacementFile: an unnamed O_TMPFILE
// linked into place when complete, or a temporary beside DST renamed over it), keeping the holes
// of sparse files. How each data extent is copied: copy_methods.hpp.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <filesystem>

#include "copy_methods.hpp"
#include "extents.hpp"
#include "file_handle.hpp"
#include "mmapxx/durability.hpp"
#include "progress.hpp"
#include "signal_cleanup.hpp"
#include "tool_main.hpp"

namespace {

constexpr std::uint64_t progress_threshold = std::uint64_t{64} << 20;

mode_t current_umask() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return mask;
}

struct Target {
  std::string path;
  mode_t mode = 0;
};

// Where the copy goes and with which permissions, following cp: into DST/basename(SRC) when DST
// is a directory; an existing file keeps its mode, a new one gets SRC's mode less the umask.
Target resolve_target(const std::string& src, const struct stat& src_st, const std::string& dst) {
  Target target{dst, static_cast<mode_t>(src_st.st_mode & 0777 & ~current_umask())};
  struct stat st {};
  bool exists = ::stat(dst.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    target.path = (std::filesystem::path(dst) / std::filesystem::path(src).filename()).string();
    exists = ::stat(target.path.c_str(), &st) == 0;
  }
  if (!exists) {
    if (errno != ENOENT) mmtools::fail_errno(target.path, errno);
    return target;
  }
  if (st.st_dev == src_st.st_dev && st.st_ino == src_st.st_ino)
    throw mmtools::Failure("'" + src + "' and '" + target.path + "' are the same file");
  if (!S_ISREG(st.st_mode))
    throw mmtools::Failure(target.path + ": will not replace a " + mmtools::file_kind(st.st_mode));
  target.mode = st.st_mode & 07777;
  return target;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Copy SRC to DST (or into DST/ when DST is a directory) through a memory mapping. "
      "DST appears complete or not at all; holes of sparse files are kept.",
      "mmcp");
  std::string src, dst;
  bool progress_flag = false, quiet = false, durable = false;
  app.add_option("SRC", src, "Regular file to copy")->required();
  app.add_option("DST", dst, "Destination file or directory")->required();
  app.add_flag("--progress", progress_flag, "Show a progress bar even for small files or no tty");
  app.add_flag("-q,--quiet", quiet, "Never show a progress bar");
  app.add_flag("--fsync", durable, "fsync the copy and its directory before returning");
  std::string method_name;
  bool preallocate = false;
  // For mmbench's copy group: the alternatives mmcp was measured against.
  app.add_option("--method", method_name, "buffer, write or copy_file_range")->group("");
  app.add_flag("--preallocate", preallocate, "fallocate each extent before copying it")->group("");
  return mmtools::run(app, argc, argv, [&] {
    mmtools::CopyMethod method = mmtools::default_method;
    if (method_name.empty())
      preallocate = mmtools::default_preallocate;
    else if (!mmtools::parse_copy_method(method_name, method))
      throw mmtools::UsageError("unknown --method '" + method_name + "'");
    struct stat src_st {};
    const mmtools::UniqueFd in = mmtools::open_regular(src, src_st);
    const Target target = resolve_target(src, src_st, dst);
    const auto size = static_cast<std::uint64_t>(src_st.st_size);

    mmtools::install_signal_cleanup();
    mmapxx::ReplacementFile out(target.path);
    mmtools::set_signal_cleanup(out.temporary_path().string());
    const bool show =
        !quiet && (progress_flag || (::isatty(STDERR_FILENO) && size >= progress_threshold));
    mmtools::Progress progress(show, "mmcp", size);
    const mmtools::CopyTarget to{out.fd(), target.path, preallocate};
    // Where the filesystem can share extents, the copy is instant and keeps the holes.
    const bool cloned =
        method == mmtools::CopyMethod::CopyRange && size > 0 && mmtools::clone_file(in.get(), to);
    if (!cloned)
      mmtools::for_each_data_extent(
          in.get(), src, 0, size, [&](std::uint64_t offset, std::uint64_t length) {
            mmtools::copy_extent(method, in.get(), src, to, offset, length,
                                 [&](std::uint64_t done) { progress.update(done); });
          });
    // A file that shrank behind our back must not be passed off as a complete copy.
    struct stat after {};
    if (::fstat(in.get(), &after) != 0) mmtools::fail_errno(src, errno);
    if (static_cast<std::uint64_t>(after.st_size) < size)
      mmtools::fail_truncated(src, static_cast<std::uint64_t>(after.st_size), "end of file moved");
    // Trailing hole: the size without blocks.
    if (::ftruncate(out.fd(), static_cast<off_t>(size)) != 0)
      mmtools::fail_write(target.path, errno, "ftruncate");
    progress.finish();
    const mmtools::SignalsHeld held;
    out.commit({.mode = target.mode, .existing = mmapxx::Existing::Replace, .durable = durable});
    mmtools::set_signal_cleanup({});
    return 0;
  });
}
