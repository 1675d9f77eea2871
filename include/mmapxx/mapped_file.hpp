// MappedFile<Access>: a file, or any byte range of it, mapped into memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "mmapxx/flags.hpp"
#include "mmapxx/mapping.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

// Maps bytes [offset, offset + length) of a file. Offsets need no alignment: the view starts at
// exactly the byte asked for. A zero-length file or range gives an empty view without calling mmap.
// A range that reaches past end of file is an error, never a later SIGBUS.
//
// The file descriptor is opened O_CLOEXEC. Read and CopyOnWrite close it right after mapping;
// Write keeps it for resize(). A descriptor passed in by the caller is never closed: Write keeps
// its own duplicate (F_DUPFD_CLOEXEC) instead, so the caller may close theirs at any time.
template <Access A>
class MappedFile final : public detail::Mapping<A != Access::Read> {
 public:
  static constexpr Access access = A;
  static constexpr bool writable = A != Access::Read;

  MappedFile() noexcept = default;
  explicit MappedFile(const std::string& path, const MapOptions& options = {});
  // Maps from a descriptor the caller keeps (it must be open for reading, and for writing with
  // Access::Write). `name` is used in error messages.
  MappedFile(int fd, const MapOptions& options, std::string name = {});

  static MappedFile open(const std::string& path, const MapOptions& options,
                         std::error_code& ec) noexcept;
  static MappedFile open(int fd, const MapOptions& options, std::error_code& ec,
                         std::string name = {}) noexcept;

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  const std::string& path() const noexcept { return path_; }
  std::uint64_t offset() const noexcept { return offset_; }  // file offset of data()[0]
  const char* label() const noexcept override { return path_.c_str(); }

  // msync the whole view or a byte range of it (aligned inside).
  void flush(SyncPolicy policy = SyncPolicy::Sync, std::size_t offset = 0,
             std::size_t length = whole) const requires(A == Access::Write);
  void flush(SyncPolicy policy, std::size_t offset, std::size_t length,
             std::error_code& ec) const noexcept requires(A == Access::Write);

  // Makes the view `new_size` bytes long and the file offset() + new_size bytes long: grows with
  // posix_fallocate (ENOSPC now, not SIGBUS later), shrinks with ftruncate, then mremap. The
  // mapping may move: every pointer, span and reference into it is invalid afterwards.
  void resize(std::size_t new_size) requires(A == Access::Write);
  void resize(std::size_t new_size, std::error_code& ec) noexcept requires(A == Access::Write);

  // The descriptor this mapping owns for resize (Access::Write), or -1.
  int fd() const noexcept { return fd_; }

 private:
  // adopt: `fd` is ours (opened by map_path); otherwise it is the caller's and never closed.
  detail::Failure map(int fd, const MapOptions& options, bool adopt) noexcept;
  detail::Failure map_path(const MapOptions& options) noexcept;
  detail::Failure resize_to(std::size_t new_size) noexcept;
  void close_fd() noexcept;

  std::string path_;
  std::uint64_t offset_ = 0;
  int fd_ = -1;  // owned; only Access::Write keeps one
};

extern template class MappedFile<Access::Read>;
extern template class MappedFile<Access::Write>;
extern template class MappedFile<Access::CopyOnWrite>;

}  // namespace mmapxx
