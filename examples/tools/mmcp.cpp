// mmcp SRC DST: copies a regular file through read-only mapped windows, atomically (a temporary
// beside DST renamed into place when complete), keeping the holes of sparse files.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <filesystem>

#include "extents.hpp"
#include "file_handle.hpp"
#include "mapped_reader.hpp"
#include "progress.hpp"
#include "temp_file.hpp"
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

void pwrite_all(int fd, std::span<const std::byte> chunk, std::uint64_t offset,
                const std::string& name) {
  while (!chunk.empty()) {
    const ssize_t n = ::pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) mmtools::fail_errno(name, errno);
    chunk = chunk.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
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
  return mmtools::run(app, argc, argv, [&] {
    struct stat src_st {};
    const mmtools::UniqueFd in = mmtools::open_regular(src, src_st);
    const Target target = resolve_target(src, src_st, dst);
    const auto size = static_cast<std::uint64_t>(src_st.st_size);

    mmtools::TempFile out(target.path);
    const bool show =
        !quiet && (progress_flag || (::isatty(STDERR_FILENO) && size >= progress_threshold));
    mmtools::Progress progress(show, "mmcp", size);
    mmtools::for_each_data_extent(
        in.get(), src, 0, size, [&](std::uint64_t offset, std::uint64_t length) {
          mmtools::stream_range(in.get(), src, offset, length,
                                [&](std::span<const std::byte> chunk, std::uint64_t at) {
                                  pwrite_all(out.fd(), chunk, at, target.path);
                                  progress.update(at + chunk.size());
                                });
        });
    // A file that shrank behind our back must not be passed off as a complete copy.
    struct stat after {};
    if (::fstat(in.get(), &after) != 0) mmtools::fail_errno(src, errno);
    if (static_cast<std::uint64_t>(after.st_size) < size)
      mmtools::fail_truncated(src, static_cast<std::uint64_t>(after.st_size), "end of file moved");
    if (::ftruncate(out.fd(), static_cast<off_t>(size)) != 0)
      mmtools::fail_errno(target.path, errno);
    progress.finish();
    out.commit(target.mode, durable);
    return 0;
  });
}
