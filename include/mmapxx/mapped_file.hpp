/// @file
/// MappedFile<Access>: a file, or any byte range of it, mapped into memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

#include "mmapxx/flags.hpp"
#include "mmapxx/mapping.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

/// Maps bytes [offset, offset + length) of a file. Offsets need no alignment: the view starts at
/// exactly the byte asked for. A zero-length file or range gives an empty view without calling
/// mmap. A range that reaches past end of file is an error, never a later SIGBUS.
///
/// Opening (open(2) with O_CLOEXEC|O_NONBLOCK|O_NOCTTY, then fstat) never blocks: a FIFO or a
/// socket is refused at once with ENODEV ("not a regular file"); a character or block device needs
/// an explicit length. Creating or truncating happens only as MapOptions::creation says, and a call
/// that fails removes a file it created (if the path still names that file) and closes what it
/// opened: nothing it created is left behind.
///
/// Checks made before any syscall, each an error naming the value: a path that is empty, null or
/// holds a NUL byte (invalid_argument); an offset, length, offset + length or size past 2^63 - 1,
/// the largest file offset, or a view larger than PTRDIFF_MAX (value_too_large, EOVERFLOW);
/// creation options that do not apply (invalid_argument).
///
/// A MappedFile opened by path keeps its descriptor (O_CLOEXEC) for resize(), closed by the
/// destructor. A descriptor passed in by the caller is never closed: Access::Write keeps its own
/// duplicate (F_DUPFD_CLOEXEC), so the caller may close theirs at any time; Read and CopyOnWrite
/// keep none (no syscall beyond fstat and mmap), so such a view can shrink but not grow.
///
/// The view and page-level calls come from detail::Mapping and detail::MappingCore
/// (mmapxx/mapping.hpp, documented there): data(), size(), empty(), bytes(), begin()/end(),
/// operator[], as<T>(), advise(), advise_unchecked(), lock(), unlock(), residency(), protect(),
/// set_protection(), protection(), protection_at().
template <Access A>
class MappedFile final : public detail::Mapping<A != Access::Read> {
 public:
  static constexpr Access access = A;  ///< the access mode, as given in the type
  /// Whether the view may be written through (Write and CopyOnWrite).
  static constexpr bool writable = A != Access::Read;

  MappedFile() noexcept = default;
  /// Opens `path` (as options.creation says) and maps it: open, fstat, posix_fallocate for a file
  /// it creates with initial_size, mmap (none for an empty view), plus the madvise/mlock options
  /// ask for. Throws Error; on failure nothing it created or opened is left.
  [[gnu::flatten]] explicit MappedFile(const char* path, const MapOptions& options);
  /// Same, for a std::string path.
  [[gnu::flatten]] explicit MappedFile(const std::string& path, const MapOptions& options);
  /// Same, for a std::filesystem::path.
  explicit MappedFile(const std::filesystem::path& path, const MapOptions& options);
  /// Same with the default MapOptions: the whole existing file. (Its own constructor, so that the
  /// common case builds no options and tests none of them.)
  [[gnu::flatten]] explicit MappedFile(const char* path);
  /// Same, for a std::string path.
  [[gnu::flatten]] explicit MappedFile(const std::string& path);
  /// Same, for a std::filesystem::path.
  explicit MappedFile(const std::filesystem::path& path);
  /// Maps from a descriptor the caller keeps (it must be open for reading, and for writing with
  /// Access::Write): fstat, mmap, and fcntl(F_DUPFD_CLOEXEC) for Access::Write only. `name` is used
  /// in error messages. options.creation must be OpenExisting and initial_size 0 (invalid_argument
  /// otherwise).
  [[gnu::flatten]] MappedFile(int fd, const MapOptions& options, std::string name = {});

  /// The same without exceptions: on failure, an empty MappedFile and ec set (ENOMEM,
  /// errc::not_enough_memory, when even copying the path fails).
  [[gnu::flatten]] static MappedFile open(const char* path, const MapOptions& options,
                                          std::error_code& ec) noexcept;
  /// Same, for a std::string path.
  [[gnu::flatten]] static MappedFile open(const std::string& path, const MapOptions& options,
                                          std::error_code& ec) noexcept;
  /// Same, for a std::filesystem::path.
  static MappedFile open(const std::filesystem::path& path, const MapOptions& options,
                         std::error_code& ec) noexcept;
  /// The same with the default MapOptions (as MappedFile(path)): the whole existing file.
  [[gnu::flatten]] static MappedFile open(const char* path, std::error_code& ec) noexcept;
  /// Same, for a std::string path.
  [[gnu::flatten]] static MappedFile open(const std::string& path, std::error_code& ec) noexcept;
  /// Same, for a std::filesystem::path.
  static MappedFile open(const std::filesystem::path& path, std::error_code& ec) noexcept;
  /// Same as MappedFile(fd, options, name); errors go to ec.
  static MappedFile open(int fd, const MapOptions& options, std::error_code& ec,
                         std::string name = {}) noexcept;

  /// Takes over the view and the descriptor; `other` is left empty. No syscall.
  MappedFile(MappedFile&& other) noexcept;
  /// Unmaps and closes what this object held (as the destructor), then takes over `other`'s.
  /// Never flushes.
  MappedFile& operator=(MappedFile&& other) noexcept;
  /// munmap of the view and close of the owned descriptor; never msync (no implicit flush), never
  /// throws.
  ~MappedFile();

  /// The path it was opened by, or the name given with a descriptor (empty if none).
  const std::string& path() const noexcept { return path_; }
  /// The file offset of data()[0]: MapOptions::offset, exactly (no alignment).
  std::uint64_t offset() const noexcept { return offset_; }
  /// True when this object's opening call created the file (Creation::CreateNew, or OpenOrCreate /
  /// CreateOrTruncate when the file did not exist); false when it opened an existing one.
  bool created() const noexcept { return created_; }
  /// What errors and FaultError name: path().
  const char* label() const noexcept override { return path_.c_str(); }

  /// Writes the view's dirty pages in bytes [offset, offset + length) back to the file, as
  /// `policy` asks; an empty range does nothing. Only Access::Write has it (private and read
  /// mappings have nothing to write back).
  /// Syscalls: one msync(2) over the range aligned outward to pages.
  /// Errors: invalid_argument (operation "msync") for a policy outside SyncPolicy or a range
  ///   outside the view, before any syscall; EIO (a writeback error: treat the data as lost),
  ///   ENOMEM, EBUSY (Invalidate over locked pages).
  /// Cost: Sync waits for the disk; Async returns at once. See also sync_data() for the whole file.
  void flush(SyncPolicy policy = SyncPolicy::Sync, std::size_t offset = 0,
             std::size_t length = whole) const requires(A == Access::Write);
  /// Same; errors go to ec.
  void flush(SyncPolicy policy, std::size_t offset, std::size_t length,
             std::error_code& ec) const noexcept requires(A == Access::Write);

  /// Makes the view [offset(), offset() + new_size) of the file; the file's data is never shrunk
  /// or truncated by it. Access::Write grows the file to offset() + new_size when it is shorter
  /// (posix_fallocate: a full disk is ENOSPC now, not SIGBUS later) and never shrinks it: see
  /// truncate_file(). Read and CopyOnWrite change only the view: growing past end of file is
  /// invalid_argument (fstat first; a reader following a growing file resizes to its new end), and
  /// a Read/CopyOnWrite view made from a caller's descriptor keeps none to fstat: it can shrink,
  /// and growing it is EBADF (map it again).
  /// Then mremap (mmap from an empty view, munmap to 0): one fstat and one mremap in the common
  /// case, plus posix_fallocate when the file grows. The mapping may move: every pointer, span
  /// and reference into it is invalid afterwards. An offset() + new_size past 2^63 - 1 is
  /// EOVERFLOW before any syscall. On failure the view is unchanged and a growth of the file is
  /// undone.
  void resize(std::size_t new_size);
  /// Same; errors go to ec.
  void resize(std::size_t new_size, std::error_code& ec) noexcept;

  /// Sets the file's size to exactly `file_size` bytes (ftruncate): the explicit way to shrink a
  /// file (growing this way leaves a hole, unlike resize()). When the view reaches past the new end
  /// it is first cut to end there (to empty when the file ends before offset()), so no mapped page
  /// lies past end of file; pointers past the cut are invalid. A size past 2^63 - 1 is EOVERFLOW
  /// before any syscall. If ftruncate fails, the view is restored to its old size (it may have
  /// moved) and the file is unchanged.
  void truncate_file(std::uint64_t file_size) requires(A == Access::Write);
  /// Same; errors go to ec.
  void truncate_file(std::uint64_t file_size, std::error_code& ec) noexcept
      requires(A == Access::Write);

  /// The descriptor this mapping owns (for resize): the one it opened by path, or Access::Write's
  /// duplicate of a caller's; -1 for Read/CopyOnWrite made from a caller's descriptor and for an
  /// empty MappedFile().
  int fd() const noexcept { return fd_; }

 private:
  // adopt: `fd` is ours (opened by map_path); otherwise it is the caller's and never closed.
  // Defined in the library and inlined into its few callers there (never called from a header).
  [[gnu::always_inline]] inline detail::Failure map(int fd, const MapOptions& options,
                                                    bool adopt) noexcept;
  // may_hold_nul: path_ came from a std::string or std::filesystem::path, which can hold a NUL
  // byte (refused); a C string cannot.
  // flatten: the common case (open, fstat, mmap) runs in one function, with no call layer.
  [[gnu::flatten]] detail::Failure map_path(const MapOptions& options,
                                            bool may_hold_nul = true) noexcept;
  detail::Failure size_fresh(int fd, const MapOptions& options) noexcept;
  detail::Failure open_path(const MapOptions& options, int& fd) noexcept;
  detail::Failure flush_to(SyncPolicy policy, std::size_t offset,
                           std::size_t length) const noexcept;
  detail::Failure set_view_size(std::size_t new_size) noexcept;
  detail::Failure resize_to(std::size_t new_size) noexcept;
  detail::Failure truncate_to(std::uint64_t file_size) noexcept;
  void close_fd() noexcept;

  std::string path_;
  std::uint64_t offset_ = 0;
  int fd_ = -1;  // owned
  bool created_ = false;
};

extern template class MappedFile<Access::Read>;
extern template class MappedFile<Access::Write>;
extern template class MappedFile<Access::CopyOnWrite>;

}  // namespace mmapxx
