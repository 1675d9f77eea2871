// MappedFile<Access>: opening, creating, mapping and resizing a file's view
// (mmapxx/mapped_file.hpp).
#include "mmapxx/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <new>
#include <utility>

#include "base/alloc.hpp"
#include "base/fd.hpp"
#include "base/memory_budget.hpp"
#include "base/syscall.hpp"
#include "mapping/path_buffer.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {

using detail::Failure;
using detail::max_file_offset;

// The largest view: pointer differences over it must fit std::ptrdiff_t, and aligning it to pages
// cannot wrap.
constexpr std::size_t max_view_size = static_cast<std::size_t>(PTRDIFF_MAX);

constexpr Protection protection_of(Access access) noexcept {
  return access == Access::Read ? Protection::Read : Protection::Read | Protection::Write;
}

constexpr int open_flags(Access access) noexcept {
  return access == Access::Write ? O_RDWR : O_RDONLY;
}

constexpr int share_flags(Access access) noexcept {
  return access == Access::CopyOnWrite ? MAP_PRIVATE : MAP_SHARED;
}

int to_msync(SyncPolicy policy) noexcept {
  switch (policy) {
    case SyncPolicy::Sync:
      return MS_SYNC;
    case SyncPolicy::Async:
      return MS_ASYNC;
    case SyncPolicy::Invalidate:
      return MS_SYNC | MS_INVALIDATE;
  }
  return -1;
}

std::string fd_name(int fd) {
  return "fd " + std::to_string(fd);
}

// Copies a path or name inside a noexcept open(): std::bad_alloc becomes ENOMEM.
template <class Assign>
Failure copy_or_fail(Assign assign) noexcept {
  return detail::without_bad_alloc("open", assign);
}

// For the noexcept open()s: reports a failure to ec and returns true; on success it returns false
// and leaves ec alone (the caller clears it once, inline, instead of a report() call per step).
inline bool failed(const Failure& failure, std::error_code& ec) noexcept {
  if (!failure) [[likely]]
    return false;
  detail::report(failure, ec);
  return true;
}

// Offsets and lengths that no file or view can have, refused before any syscall.
[[gnu::noinline]] Failure check_range_of(const MapOptions& options) noexcept {
  if (options.offset > max_file_offset)
    return detail::make_failure("mmap", EOVERFLOW,
                                "offset %" PRIu64 " is past 2^63-1, the largest file offset",
                                options.offset);
  if (options.length) {
    const std::size_t length = *options.length;
    if (length > max_view_size)
      return detail::make_failure("mmap", EOVERFLOW,
                                  "length %zu is larger than a view can be (PTRDIFF_MAX)", length);
    if (length > max_file_offset - options.offset)
      return detail::make_failure("mmap", EOVERFLOW,
                                  "offset %" PRIu64
                                  " + length %zu is past 2^63-1, the largest "
                                  "file offset",
                                  options.offset, length);
  }
  return {};
}

// check_range_of, inline for the common options (no length, a valid offset): no call.
inline Failure check_range(const MapOptions& options) noexcept {
  if (options.offset <= max_file_offset && !options.length) [[likely]]
    return {};
  return check_range_of(options);
}

// The creation options, refused before any syscall where they cannot apply.
[[gnu::noinline]] Failure check_creation_of(Access access, const MapOptions& options,
                                            bool by_path) noexcept {
  const bool creates = options.creation != Creation::OpenExisting;
  if (!by_path && (creates || options.initial_size != 0))
    return detail::invalid_argument(
        "mmap", "creation and initial_size need a path: a descriptor names an open file");
  switch (options.creation) {
    case Creation::OpenExisting:
    case Creation::CreateNew:
    case Creation::OpenOrCreate:
    case Creation::CreateOrTruncate:
      break;
    default:
      return detail::invalid_argument("open", "creation %d is not a Creation value",
                                      static_cast<int>(options.creation));
  }
  if (creates && access != Access::Write)
    return detail::invalid_argument("open", "creating or truncating a file needs Access::Write");
  if (!creates && options.initial_size != 0)
    return detail::invalid_argument(
        "open", "initial_size applies only to a file the call creates: set creation");
  if (options.mode > 07777)
    return detail::invalid_argument("open", "mode %#o has bits outside 07777", options.mode);
  if (options.initial_size > max_file_offset)
    return detail::make_failure("open", EOVERFLOW,
                                "initial_size %" PRIu64 " is past 2^63-1, the largest file size",
                                options.initial_size);
  // These two modes always end with a file of initial_size bytes: check the range against it
  // now, so that a range that cannot fit creates nothing.
  if (options.creation == Creation::CreateNew || options.creation == Creation::CreateOrTruncate) {
    if (options.offset > options.initial_size)
      return detail::invalid_argument(
          "open", "offset %" PRIu64 " is past the end of the new file (initial_size %" PRIu64 ")",
          options.offset, options.initial_size);
    if (options.length && *options.length > options.initial_size - options.offset)
      return detail::invalid_argument("open",
                                      "length %zu at offset %" PRIu64
                                      " runs past the end of the new file (initial_size %" PRIu64
                                      ")",
                                      *options.length, options.offset, options.initial_size);
  }
  return {};
}

// check_creation_of, inline for the common options (open an existing file, no initial_size, a
// valid mode), which pass every check whatever the access and however the file is named.
inline Failure check_creation(Access access, const MapOptions& options, bool by_path) noexcept {
  if (options.creation == Creation::OpenExisting && options.initial_size == 0 &&
      options.mode <= 07777) [[likely]]
    return {};
  return check_creation_of(access, options, by_path);
}

// The map primitive with every option MapOptions can ask for (populate, advice, lock, huge pages,
// placement): kept out of map(), whose common case is detail::map_plain.
[[gnu::noinline]] Failure map_with_options(const MapOptions& options, std::size_t length,
                                           std::uint64_t offset, int prot, int flags, int fd,
                                           const std::string& label, detail::View& view) noexcept {
  detail::MapRequest request;
  request.length = length;
  request.offset = offset;
  request.prot = prot;
  request.flags = flags;
  request.fd = fd;
  request.populate = options.populate;
  request.advice = options.advice;
  request.locked = options.locked;
  request.huge_pages = options.huge_pages;
  request.no_reserve = options.no_reserve;
  request.placement = options.placement;
  request.label = label.c_str();
  request.label_length = label.size();
  return detail::map_view(request, view);
}

// open(2) that cannot block on a FIFO: the descriptor, or -errno. The path was checked by
// map_path.
[[gnu::always_inline]] inline int open_raw(const char* path, int flags, unsigned mode) noexcept {
  long fd;
  do {
    fd = detail::sys::open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
  } while (fd == -EINTR);
  return static_cast<int>(fd);
}

// The failure of open_raw (its -errno negated): a socket's ENXIO becomes the clearer "not a regular
// file".
[[gnu::cold]] Failure open_failure(const char* path, int code) noexcept {
  struct stat st {};
  if (code == ENXIO && ::stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
    return detail::make_failure("open", ENODEV, "not a regular file: a socket cannot be mapped");
  return detail::make_failure("open", code);
}

Failure open_nonblocking(const char* path, int flags, unsigned mode, int& fd) noexcept {
  fd = open_raw(path, flags, mode);
  if (fd >= 0) return {};
  const int code = -fd;
  fd = -1;
  return open_failure(path, code);
}

// A failure after map_path opened `fd`: leaves nothing the call created (but never removes a file
// that replaced ours meanwhile), closes `fd`, and returns `failure`.
[[gnu::noinline, gnu::cold]] Failure undo_open(const std::string& path, int fd, bool& created,
                                               const Failure& failure) noexcept {
  struct stat ours {};
  struct stat named {};
  if (created && ::fstat(fd, &ours) == 0 && ::stat(path.c_str(), &named) == 0 &&
      ours.st_dev == named.st_dev && ours.st_ino == named.st_ino)
    ::unlink(path.c_str());
  created = false;
  detail::close_fd(fd);
  return failure;
}

}  // namespace

template <Access A>
MappedFile<A>::MappedFile(const char* path, const MapOptions& options)
    : path_(detail::recycled_path(path)) {
  if (path == nullptr)
    detail::raise(detail::invalid_argument("open", "path is a null pointer"), "");
  if (Failure failure = map_path(options, /*may_hold_nul=*/false)) detail::raise(failure, path_);
}

// The one-argument constructors' options: a constant, so that the flattened map_path folds every
// test of them away.
constexpr MapOptions default_options{};

// flatten (in the header): the delegation is inlined, and with it the constant options.
template <Access A>
MappedFile<A>::MappedFile(const char* path) : MappedFile(path, default_options) {}

template <Access A>
MappedFile<A>::MappedFile(const std::string& path) : MappedFile(path, default_options) {}

template <Access A>
MappedFile<A>::MappedFile(const std::filesystem::path& path) : MappedFile(path, default_options) {}

template <Access A>
MappedFile<A>::MappedFile(const std::string& path, const MapOptions& options)
    : path_(detail::recycled_path(path.data(), path.size())) {
  if (Failure failure = map_path(options)) detail::raise(failure, path_);
}

template <Access A>
MappedFile<A>::MappedFile(const std::filesystem::path& path, const MapOptions& options)
    : path_(detail::recycled_path(path.c_str(), path.native().size())) {
  if (Failure failure = map_path(options)) detail::raise(failure, path_);
}

template <Access A>
MappedFile<A>::MappedFile(int fd, const MapOptions& options, std::string name)
    : path_(name.empty() ? fd_name(fd) : std::move(name)) {
  if (Failure failure = map(fd, options, /*adopt=*/false)) detail::raise(failure, path_);
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const char* path, const MapOptions& options,
                                  std::error_code& ec) noexcept {
  if (path == nullptr) {
    detail::report(detail::invalid_argument("open", "path is a null pointer"), ec);
    return {};
  }
  // One object returned on every path (NRVO): no move of the result.
  MappedFile file;
  if (failed(copy_or_fail([&] { file.path_ = detail::recycled_path(path, std::strlen(path)); }),
             ec) ||
      failed(file.map_path(options, /*may_hold_nul=*/false), ec))
    file = MappedFile();  // failed: an empty MappedFile (nothing is mapped or open)
  else
    ec.clear();
  return file;
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const std::string& path, const MapOptions& options,
                                  std::error_code& ec) noexcept {
  MappedFile file;
  if (failed(copy_or_fail([&] { file.path_ = detail::recycled_path(path.data(), path.size()); }),
             ec) ||
      failed(file.map_path(options), ec))
    file = MappedFile();
  else
    ec.clear();
  return file;
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const std::filesystem::path& path, const MapOptions& options,
                                  std::error_code& ec) noexcept {
  MappedFile file;
  if (failed(copy_or_fail(
                 [&] { file.path_ = detail::recycled_path(path.c_str(), path.native().size()); }),
             ec) ||
      failed(file.map_path(options), ec))
    file = MappedFile();
  else
    ec.clear();
  return file;
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const char* path, std::error_code& ec) noexcept {
  return open(path, default_options, ec);
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const std::string& path, std::error_code& ec) noexcept {
  return open(path, default_options, ec);
}

template <Access A>
MappedFile<A> MappedFile<A>::open(const std::filesystem::path& path, std::error_code& ec) noexcept {
  return open(path, default_options, ec);
}

template <Access A>
MappedFile<A> MappedFile<A>::open(int fd, const MapOptions& options, std::error_code& ec,
                                  std::string name) noexcept {
  MappedFile file;
  if (failed(copy_or_fail([&] { file.path_ = name.empty() ? fd_name(fd) : std::move(name); }),
             ec) ||
      failed(file.map(fd, options, /*adopt=*/false), ec))
    file = MappedFile();
  else
    ec.clear();
  return file;
}

template <Access A>
MappedFile<A>::MappedFile(MappedFile&& other) noexcept
    : detail::Mapping<writable>(std::move(other)),
      path_(std::move(other.path_)),
      offset_(other.offset_),
      fd_(std::exchange(other.fd_, -1)),
      created_(std::exchange(other.created_, false)) {}

template <Access A>
MappedFile<A>& MappedFile<A>::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    this->reset();  // unmap before close, as in the destructor
    close_fd();
    detail::Mapping<writable>::operator=(std::move(other));
    path_ = std::move(other.path_);
    offset_ = other.offset_;
    fd_ = std::exchange(other.fd_, -1);
    created_ = std::exchange(other.created_, false);
  }
  return *this;
}

template <Access A>
MappedFile<A>::~MappedFile() {
  // Unmap first, close last, as Boost.Interprocess does: when munmap(2) drops a closed file's
  // last reference, the kernel releases the file on the way back to user space (task_work);
  // close(2) of the last reference releases it in the call (6.x kernels). mmbench's map+unmap
  // by path measured the close-first order a few hundred ns slower (docs/benchmarks.md).
  // The unmap is reset()'s, without its call and its stores for a later use; the protection
  // record, which most mappings never have, is left to reset().
  if (this->data_ != nullptr) {
    detail::unmap_view(this->data_, this->size_, this->mapped_);
    this->data_ = nullptr;
  }
  if (this->state_.load(std::memory_order_acquire) != nullptr) [[unlikely]]
    this->reset();
  close_fd();
  detail::recycle_path(path_);
}

template <Access A>
void MappedFile<A>::close_fd() noexcept {
  detail::close_fd(fd_);
}

template <Access A>
Failure MappedFile<A>::open_path(const MapOptions& options, int& fd) noexcept {
  const char* path = path_.c_str();
  const int flags = open_flags(A);
  const unsigned mode = options.mode;
  Failure failure;
  // OpenOrCreate and CreateOrTruncate alternate between "exists" and "missing" when another
  // process creates or removes the file in between; a few rounds settle it.
  for (int round = 0; round < 16; ++round) {
    switch (options.creation) {
      case Creation::OpenExisting:
        return open_nonblocking(path, flags, 0, fd);
      case Creation::CreateNew:
        failure = open_nonblocking(path, flags | O_CREAT | O_EXCL, mode, fd);
        created_ = !failure;
        return failure;
      case Creation::OpenOrCreate:
        failure = open_nonblocking(path, flags, 0, fd);
        if (failure.code != ENOENT) return failure;
        failure = open_nonblocking(path, flags | O_CREAT | O_EXCL, mode, fd);
        if (failure.code != EEXIST) {
          created_ = !failure;
          return failure;
        }
        break;
      case Creation::CreateOrTruncate:
        failure = open_nonblocking(path, flags | O_CREAT | O_EXCL, mode, fd);
        if (failure.code != EEXIST) {
          created_ = !failure;
          return failure;
        }
        failure = open_nonblocking(path, flags | O_TRUNC, 0, fd);
        if (failure.code != ENOENT) return failure;
        break;
    }
  }
  return failure;
}

// Inline in its few callers: map_path's common case then runs open, fstat and mmap in one
// function, and `adopt` is a constant in each.
template <Access A>
inline Failure MappedFile<A>::map(int fd, const MapOptions& options, bool adopt) noexcept {
  // map_path checked the options of a descriptor it opened (adopt).
  if (!adopt) {
    if (fd < 0) return detail::make_failure("mmap", EBADF, "fd=%d", fd);
    if (Failure failure = check_creation(A, options, /*by_path=*/false)) return failure;
    if (Failure failure = check_range(options)) return failure;
  }
  // A failure after map_path opened the descriptor (adopt) undoes the opening; the returns of the
  // common case stay copy-free (a Failure is returned in place).
  const auto fail = [&](const Failure& failure) -> Failure {
    if (adopt) return undo_open(path_, fd, created_, failure);
    return failure;
  };
  struct stat st;  // fstat fills it
  if (const long result = detail::sys::fstat(fd, &st); detail::sys::failed(result))
    return fail(detail::make_failure("fstat", detail::sys::error_of(result)));
  if (S_ISDIR(st.st_mode)) return fail(detail::make_failure("mmap", EISDIR));
  const struct {
    std::uint64_t size;
    bool regular, character_device, block_device;
  } info{static_cast<std::uint64_t>(st.st_size), S_ISREG(st.st_mode), S_ISCHR(st.st_mode),
         S_ISBLK(st.st_mode)};

  const std::uint64_t offset = options.offset;
  std::size_t length = 0;
  if (info.regular) {
    if (offset > info.size)
      return fail(detail::invalid_argument(
          "mmap", "offset %" PRIu64 " is past end of file (size %" PRIu64 ")", offset, info.size));
    const std::uint64_t available = info.size - offset;
    if (!options.length && available > max_view_size)
      return fail(
          detail::make_failure("mmap", EOVERFLOW,
                               "the %" PRIu64 " bytes from offset %" PRIu64
                               " to end of file are more than a view can hold: give a length",
                               available, offset));
    length = options.length.value_or(static_cast<std::size_t>(available));
    if (length > available)
      return fail(detail::invalid_argument(
          "mmap", "length %zu at offset %" PRIu64 " runs past end of file (size %" PRIu64 ")",
          length, offset, info.size));
  } else if (!info.character_device && !info.block_device) {
    return fail(detail::make_failure("mmap", ENODEV,
                                     "not a regular file: a FIFO or socket cannot be mapped"));
  } else if (options.length) {
    length = *options.length;
  } else {
    return fail(detail::make_failure("mmap", ENODEV, "not a regular file: give a length"));
  }

  // An empty view has no pages, so it has no address to put anywhere: refuse the placement
  // rather than map the view somewhere else when it first grows.
  if (length == 0 && (options.placement.reservation || options.placement.address))
    return fail(detail::invalid_argument(
        "mmap", "an empty view cannot be placed: give the file or range at least one byte"));
  offset_ = offset;
  this->protection_ = protection_of(A);
  // The mapping keeps its own descriptor for resize(). Write duplicates a caller's, so closing
  // theirs (or the SharedMemoryObject that lent it) cannot leave us resizing whatever reuses that
  // number. Read and CopyOnWrite keep none of a caller's: mapping from a descriptor then costs
  // what the raw fstat + mmap cost, and such a view can shrink but not grow.
  int kept = fd;
  if (!adopt) {
    kept = A == Access::Write ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (A == Access::Write && kept < 0)
      return fail(detail::make_failure("fcntl", errno, "F_DUPFD_CLOEXEC"));
  }
  // Our own descriptor to a device was opened O_NONBLOCK only so that open could not block; the
  // device's reads and writes through fd() should block as usual. (A duplicate shares the
  // caller's flags, which are theirs to keep.)
  if (adopt && !info.regular) {
    const int status = ::fcntl(kept, F_GETFL);
    if (status >= 0) ::fcntl(kept, F_SETFL, status & ~O_NONBLOCK);
  }
  const bool plain = !options.populate && !options.advice && !options.locked &&
                     options.huge_pages == HugePages::None && !options.no_reserve &&
                     !options.placement.reservation && !options.placement.address;
  if (length != 0) {
    // A string is never SIZE_MAX long (map_plain's "not known"): no branch on it.
    const std::size_t label_length = path_.size();
    if (label_length == SIZE_MAX) __builtin_unreachable();
    detail::View view;
    Failure failure =
        plain ? detail::map_plain(length, offset, detail::to_prot(this->protection_),
                                  share_flags(A), fd, path_.c_str(), label_length, view)
              : map_with_options(options, length, offset, detail::to_prot(this->protection_),
                                 share_flags(A), fd, path_, view);
    if (failure) [[unlikely]] {
      if (!adopt && kept >= 0) ::close(kept);
      return fail(failure);
    }
    this->data_ = view.data;
    this->size_ = view.size;
  }
  fd_ = kept;
  return {};
}

// A file map_path created or emptied: sized to initial_size, then mapped.
template <Access A>
Failure MappedFile<A>::size_fresh(int fd, const MapOptions& options) noexcept {
  // Size only a regular file: anything else is refused by map() with the clearer message.
  detail::FileInfo info;
  if (Failure failure = detail::stat_fd(fd, info)) return undo_open(path_, fd, created_, failure);
  if (info.regular) {
    if (Failure failure = detail::check_backing("open", fd, options.initial_size))
      return undo_open(path_, fd, created_, failure);
    if (Failure failure = detail::allocate_fd(fd, options.initial_size))
      return undo_open(path_, fd, created_, failure);
  }
  return map(fd, options, /*adopt=*/true);
}

template <Access A>
Failure MappedFile<A>::map_path(const MapOptions& options, bool may_hold_nul) noexcept {
  // Every check is made here, once: open_path, map and the map primitive trust what passed.
  if (path_.empty()) return detail::invalid_argument("open", "path is empty");
  // A NUL byte inside: strlen stops short of size() (one scan; the index only on failure).
  if (may_hold_nul && std::strlen(path_.c_str()) != path_.size()) [[unlikely]]
    return detail::check_path("open", path_);
  if (Failure failure = check_creation(A, options, /*by_path=*/true)) return failure;
  if (Failure failure = check_range(options)) return failure;
  int fd = -1;
  created_ = false;
  if (options.creation == Creation::OpenExisting) [[likely]] {  // without open_path's loop
    fd = open_raw(path_.c_str(), open_flags(A), 0);
    if (fd < 0) return open_failure(path_.c_str(), -fd);
    return map(fd, options, /*adopt=*/true);  // on failure, it closes fd
  }
  if (Failure failure = open_path(options, fd)) return failure;
  // A file this call created or emptied starts at initial_size. On failure both undo the opening.
  if (created_ || options.creation == Creation::CreateOrTruncate) return size_fresh(fd, options);
  return map(fd, options, /*adopt=*/true);
}

template <Access A>
Failure MappedFile<A>::flush_to(SyncPolicy policy, std::size_t offset,
                                std::size_t length) const noexcept {
  const int flags = to_msync(policy);
  if (flags < 0)
    return detail::invalid_argument("msync", "policy %d is not a SyncPolicy value",
                                    static_cast<int>(policy));
  // Resolve "to the end" here, so that a message shows the real range.
  if (length == whole && offset <= this->size_) length = this->size_ - offset;
  return this->flush_range(flags, offset, length);
}

template <Access A>
void MappedFile<A>::flush(SyncPolicy policy, std::size_t offset, std::size_t length) const
    requires(A == Access::Write) {
  if (Failure failure = flush_to(policy, offset, length)) detail::raise(failure, path_);
}

template <Access A>
void MappedFile<A>::flush(SyncPolicy policy, std::size_t offset, std::size_t length,
                          std::error_code& ec) const noexcept requires(A == Access::Write) {
  detail::report(flush_to(policy, offset, length), ec);
}

template <Access A>
Failure MappedFile<A>::set_view_size(std::size_t new_size) noexcept {
  if (new_size == this->size_) return {};
  if (new_size == 0) {
    this->reset();
    return {};
  }
  detail::View view{this->data_, this->size_};
  if (view.data == nullptr) {
    detail::MapRequest request;
    request.length = new_size;
    request.offset = offset_;
    request.prot = detail::to_prot(this->protection_);
    request.flags = share_flags(A);
    request.fd = fd_;
    request.label = path_.c_str();
    request.label_length = path_.size();
    if (Failure failure = detail::map_view(request, view)) return failure;
  } else if (Failure failure = detail::remap_view(view, new_size, path_.c_str(), offset_)) {
    return failure;
  }
  const std::size_t old_size = this->size_;
  this->data_ = view.data;
  this->size_ = view.size;
  this->resized(old_size);  // the protection record follows the view (guards restore there)
  return {};
}

template <Access A>
Failure MappedFile<A>::resize_to(std::size_t new_size) noexcept {
  // Shrinking needs no look at the file.
  if (fd_ < 0 && this->data_ != nullptr && new_size <= this->size_) return set_view_size(new_size);
  if (fd_ < 0)
    return detail::make_failure("resize", EBADF,
                                "this view keeps no descriptor (empty, or Read/CopyOnWrite made "
                                "from a caller's descriptor): it cannot grow; map it again");
  if (new_size > max_view_size)
    return detail::make_failure("resize", EOVERFLOW,
                                "size %zu is larger than a view can be (PTRDIFF_MAX)", new_size);
  if (new_size > max_file_offset - offset_)
    return detail::make_failure("resize", EOVERFLOW,
                                "offset %" PRIu64
                                " + size %zu is past 2^63-1, the largest file "
                                "offset",
                                offset_, new_size);
  const std::uint64_t new_end = offset_ + new_size;
  detail::FileInfo info;
  if (Failure failure = detail::stat_fd(fd_, info)) return failure;
  bool grew = false;
  if (info.regular && new_end > info.size) {
    if (A != Access::Write)
      return detail::invalid_argument(
          "resize", "view [%" PRIu64 ", %" PRIu64 ") would run past end of file (size %" PRIu64 ")",
          offset_, new_end, info.size);
    // On tmpfs or a memfd posix_fallocate takes RAM at once: ENOMEM now, never the OOM killer.
    if (Failure failure = detail::check_backing("resize", fd_, new_end)) return failure;
    if (Failure failure = detail::allocate_fd(fd_, new_end)) return failure;
    grew = true;
  }
  Failure failure = set_view_size(new_size);
  if (failure && grew) {
    // Undo our growth, unless someone else has changed the size since.
    detail::FileInfo now;
    if (!detail::stat_fd(fd_, now) && now.size == new_end) detail::truncate_fd(fd_, info.size);
  }
  return failure;
}

template <Access A>
void MappedFile<A>::resize(std::size_t new_size) {
  if (Failure failure = resize_to(new_size)) detail::raise(failure, path_);
}

template <Access A>
void MappedFile<A>::resize(std::size_t new_size, std::error_code& ec) noexcept {
  detail::report(resize_to(new_size), ec);
}

template <Access A>
Failure MappedFile<A>::truncate_to(std::uint64_t file_size) noexcept {
  if (fd_ < 0) return detail::make_failure("ftruncate", EBADF, "nothing is mapped");
  if (file_size > max_file_offset)
    return detail::make_failure("ftruncate", EOVERFLOW,
                                "size %" PRIu64 " is past 2^63-1, the largest file size",
                                file_size);
  const std::size_t old_size = this->size_;
  const std::uint64_t view_end = offset_ + old_size;
  // Cut the view first, so that no mapped page ever lies past end of file.
  if (file_size < view_end) {
    const std::size_t cut = file_size > offset_ ? static_cast<std::size_t>(file_size - offset_) : 0;
    if (Failure failure = set_view_size(cut)) return failure;
  }
  if (Failure failure = detail::truncate_fd(fd_, file_size)) {
    set_view_size(old_size);  // the file still reaches that far
    return failure;
  }
  return {};
}

template <Access A>
void MappedFile<A>::truncate_file(std::uint64_t file_size) requires(A == Access::Write) {
  if (Failure failure = truncate_to(file_size)) detail::raise(failure, path_);
}

template <Access A>
void MappedFile<A>::truncate_file(std::uint64_t file_size, std::error_code& ec) noexcept
    requires(A == Access::Write) {
  detail::report(truncate_to(file_size), ec);
}

template class MappedFile<Access::Read>;
template class MappedFile<Access::Write>;
template class MappedFile<Access::CopyOnWrite>;

}  // namespace mmapxx
