// ReplacementFile: an unnamed O_TMPFILE (or a named temporary) that becomes its target only on
// commit (include/mmapxx/durability.hpp).
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <new>
#include <utility>

#include "durability/durability_internal.hpp"
#include "mmapxx/durability.hpp"

namespace mmapxx {

namespace {

using detail::Failure;
using detail::make_failure;

// ".NAME.tmp-XXXXXX" with six random letters; NAME is cut so the result fits NAME_MAX.
std::string temporary_name(const std::string& name) {
  static constexpr char letters[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char random[6] = {};
  if (::getrandom(random, sizeof random, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof random)) {
    // No entropy yet (early boot): the O_EXCL retry loop still makes the name unique.
    static std::atomic<unsigned> counter{0};  // mmcp -j names files from several threads
    const auto seed = static_cast<unsigned>(::getpid()) * 2654435761u + ++counter;
    for (std::size_t i = 0; i < sizeof random; ++i)
      random[i] = static_cast<unsigned char>(seed >> (i * 5));
  }
  std::string out = "." + name.substr(0, NAME_MAX - 12) + ".tmp-";
  for (const unsigned char r : random) out += letters[r % (sizeof letters - 1)];
  return out;
}

// Tries new temporary names until one is free: `attempt(name)` returns 0, or an errno.
template <class Attempt>
Failure with_fresh_name(const char* operation, const std::string& base, std::string& chosen,
                        Attempt attempt) {
  for (int tries = 0; tries < 100; ++tries) {
    chosen = temporary_name(base);
    const int error = attempt(chosen);
    if (error == 0) return {};
    if (error != EEXIST) return make_failure(operation, error);
  }
  return make_failure(operation, EEXIST, "no free temporary name after 100 tries");
}

int unnamed_link(int fd, int directory_fd, const std::string& name) noexcept {
  if (::linkat(fd, "", directory_fd, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
  // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (ENOENT without it); /proc/self/fd/N does not.
  if (errno != ENOENT && errno != EPERM) return errno;
  char proc[40];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (::linkat(AT_FDCWD, proc, directory_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  return errno;
}

}  // namespace

ReplacementFile::ReplacementFile(const std::filesystem::path& target) {
  if (const Failure f = open_into(target, *this)) {
    discard();
    detail::raise(f, target.string());
  }
}

ReplacementFile ReplacementFile::create(const std::filesystem::path& target,
                                        std::error_code& ec) noexcept {
  ReplacementFile file;
  if (detail::report(open_into(target, file), ec)) return {};  // file's destructor cleans up
  return file;
}

Failure ReplacementFile::open_into(const std::filesystem::path& target,
                                   ReplacementFile& file) noexcept {
  try {
    const std::string path = target.string();
    if (Failure f = detail::check_path("ReplacementFile", path)) return f;
    const std::string name = target.filename().string();
    if (name.empty() || name == "." || name == "..")
      return detail::invalid_argument("ReplacementFile", "the target must name a file");
    const std::filesystem::path directory =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
    file.target_ = target;
    file.name_ = name;
    if (Failure f = detail::open_directory(directory.string(), file.directory_fd_)) return f;
    return file.create_in(directory, 0600);
  } catch (const std::bad_alloc&) {
    return make_failure("ReplacementFile", ENOMEM);
  }
}

Failure ReplacementFile::open_at(int directory_fd, const std::filesystem::path& target, mode_t mode,
                                 ReplacementFile& file) noexcept {
  try {
    if (directory_fd < 0)
      return detail::invalid_argument("ReplacementFile", "no directory descriptor");
    const std::string path = target.string();
    if (Failure f = detail::check_path("ReplacementFile", path)) return f;
    const std::string name = target.filename().string();
    if (name.empty() || name == "." || name == "..")
      return detail::invalid_argument("ReplacementFile", "the target must name a file");
    file.target_ = target;
    file.name_ = name;
    file.directory_fd_ = directory_fd;
    file.owns_directory_ = false;
    return file.create_in(target.has_parent_path() ? target.parent_path() : ".", mode);
  } catch (const std::bad_alloc&) {
    return make_failure("ReplacementFile", ENOMEM);
  }
}

Failure ReplacementFile::create_in(const std::filesystem::path& directory, mode_t mode) {
  fd_ = ::openat(directory_fd_, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
  if (fd_ >= 0) return {};
  // O_TMPFILE unsupported here (EOPNOTSUPP), or by an old kernel (EISDIR, EINVAL).
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return make_failure("open", errno, "O_TMPFILE");
  std::string chosen;
  if (Failure f = with_fresh_name("open", name_, chosen, [&](const std::string& candidate) {
        fd_ = ::openat(directory_fd_, candidate.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        return fd_ >= 0 ? 0 : errno;
      }))
    return f;
  temporary_ = directory / chosen;
  return {};
}

ReplacementFile::ReplacementFile(int directory_fd, const std::filesystem::path& target,
                                 mode_t mode) {
  if (const Failure f = open_at(directory_fd, target, mode, *this)) {
    discard();
    detail::raise(f, target.string());
  }
}

ReplacementFile ReplacementFile::create(int directory_fd, const std::filesystem::path& target,
                                        mode_t mode, std::error_code& ec) noexcept {
  ReplacementFile file;
  if (detail::report(open_at(directory_fd, target, mode, file), ec)) return {};
  return file;
}

ReplacementFile::ReplacementFile(ReplacementFile&& other) noexcept
    : target_(std::move(other.target_)),
      temporary_(std::move(other.temporary_)),
      name_(std::move(other.name_)),
      directory_fd_(std::exchange(other.directory_fd_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      owns_directory_(std::exchange(other.owns_directory_, true)) {
  other.temporary_.clear();
}

ReplacementFile& ReplacementFile::operator=(ReplacementFile&& other) noexcept {
  if (this != &other) {
    discard();
    target_ = std::move(other.target_);
    temporary_ = std::move(other.temporary_);
    other.temporary_.clear();
    name_ = std::move(other.name_);
    directory_fd_ = std::exchange(other.directory_fd_, -1);
    fd_ = std::exchange(other.fd_, -1);
    owns_directory_ = std::exchange(other.owns_directory_, true);
  }
  return *this;
}

ReplacementFile::~ReplacementFile() {
  discard();
}

void ReplacementFile::discard() noexcept {
  if (fd_ >= 0) {
    if (!temporary_.empty()) ::unlinkat(directory_fd_, temporary_.filename().c_str(), 0);
    ::close(fd_);
    fd_ = -1;
  }
  temporary_.clear();
  close_directory();
}

void ReplacementFile::close_directory() noexcept {
  if (directory_fd_ >= 0 && owns_directory_) ::close(directory_fd_);
  directory_fd_ = -1;
  owns_directory_ = true;
}

void ReplacementFile::commit(const CommitOptions& options) {
  const std::string target = target_.string();
  if (const Failure f = commit_failure(options)) detail::raise(f, target);
}

void ReplacementFile::commit(const CommitOptions& options, std::error_code& ec) noexcept {
  detail::report(commit_failure(options), ec);
}

Failure ReplacementFile::commit_failure(const CommitOptions& options) noexcept {
  Failure f;
  try {
    f = [&]() -> Failure {
      if (fd_ < 0) return detail::invalid_argument("commit", "nothing to commit");
      if (!options.keep_mode && ::fchmod(fd_, options.mode & 07777) != 0)
        return make_failure("fchmod", errno);
      if (options.durable)
        if (Failure s = detail::sync_data_fd(fd_)) return s;
      if (temporary_.empty()) {
        const int error = unnamed_link(fd_, directory_fd_, name_);
        if (error == 0) return {};
        if (error != EEXIST) return make_failure("linkat", error);
        if (options.existing == Existing::Keep) return make_failure("linkat", EEXIST);
        std::string chosen;
        if (Failure l = with_fresh_name("linkat", name_, chosen, [&](const std::string& c) {
              return unnamed_link(fd_, directory_fd_, c);
            }))
          return l;
        if (::renameat(directory_fd_, chosen.c_str(), directory_fd_, name_.c_str()) == 0) return {};
        const int error2 = errno;
        ::unlinkat(directory_fd_, chosen.c_str(), 0);
        return make_failure("rename", error2);
      }
      const std::string from = temporary_.filename().string();
      if (options.existing == Existing::Replace) {
        if (::renameat(directory_fd_, from.c_str(), directory_fd_, name_.c_str()) != 0)
          return make_failure("rename", errno);
        return {};
      }
      if (::renameat2(directory_fd_, from.c_str(), directory_fd_, name_.c_str(),
                      RENAME_NOREPLACE) == 0)
        return {};
      if (errno != EINVAL) return make_failure("renameat2", errno);
      // No RENAME_NOREPLACE on this filesystem: link(2) refuses an existing name too.
      if (::linkat(directory_fd_, from.c_str(), directory_fd_, name_.c_str(), 0) != 0)
        return make_failure("linkat", errno);
      ::unlinkat(directory_fd_, from.c_str(), 0);
      return {};
    }();
  } catch (const std::bad_alloc&) {
    f = make_failure("commit", ENOMEM);
  }
  if (f) return f;
  // Named now: nothing left for discard() to remove.
  temporary_.clear();
  ::close(fd_);
  fd_ = -1;
  if (options.durable) f = detail::sync_directory_fd(directory_fd_);
  close_directory();
  return f;
}

}  // namespace mmapxx
