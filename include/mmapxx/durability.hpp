/// @file
/// Durability: making file contents and names survive a crash, and replacing a file atomically.
///
/// What a mapping promises, and what it does not:
/// - Pages written through a shared file mapping may reach the disk at any time, before flush() or
/// without it (the kernel writes dirty pages back when it likes). Nothing orders them either.
/// - flush() (msync MS_SYNC) waits until the mapping's dirty pages in the range are written: about
/// a ranged fdatasync of those pages. It does nothing for private (copy-on-write) mappings, whose
/// changes never reach the file, and nothing for the file's name: a file created since the last
/// sync also needs its directory synced (sync_directory) to be found after a crash.
/// - A writeback error is reported once per open file description: after EIO, a retried sync can
/// succeed without the data being on disk. Treat a failed sync as lost data.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "mmapxx/error.hpp"

namespace mmapxx {

/// Waits until the file's data (and the metadata needed to read it back, such as its size) is on
/// stable storage: what a copy or a log needs before it reports success.
/// Syscalls: one fdatasync(2). `label` names the file in error messages.
/// Errors: EBADF (fd not open), EINVAL/EROFS (the file cannot be synced: a pipe, a socket, some
///   special files), EIO (a writeback error: data written earlier is lost), ENOSPC/EDQUOT (delayed
///   allocation failed). Nothing is left to undo.
/// Cost: waits for the disk; from microseconds (nothing dirty) to seconds.
void sync_data(int fd, const std::string& label = {});
/// Same; errors go to ec.
void sync_data(int fd, std::error_code& ec) noexcept;

/// Makes the directory's entries durable, so that a file created, renamed or unlinked in it is
/// found (or gone) after a crash. Call it after a rename or a create whose name must survive.
/// Syscalls: open(2) with O_RDONLY | O_DIRECTORY | O_CLOEXEC, fsync(2), close(2).
/// Errors: invalid_argument for an empty path or one with a NUL byte (before any syscall); ENOENT,
///   ENOTDIR, EACCES from open; EIO from fsync. No descriptor is left open.
/// Cost: one journal commit on most filesystems (ext4: a few milliseconds on a disk).
void sync_directory(const std::filesystem::path& directory);
/// Same; errors go to ec.
void sync_directory(const std::filesystem::path& directory, std::error_code& ec) noexcept;

/// What ReplacementFile::commit does when the target already exists.
enum class Existing {
  Replace,  ///< atomically replace it (rename(2) over it): readers see the old or the new file
  Keep,     ///< fail with EEXIST and leave it untouched (linkat(2), or renameat2 RENAME_NOREPLACE)
};

/// How a ReplacementFile is committed.
struct CommitOptions {
  mode_t mode = 0600;  ///< permission bits of the file (applied with fchmod, no umask)
  Existing existing = Existing::Replace;  ///< what to do when the target exists (see Existing)
  bool durable = false;  ///< fdatasync the file before it is named and fsync the directory after
  /// Skip the fchmod: the file keeps the mode it was created with (`mode` is then ignored). For a
  /// file created with the mode it should end with (the directory-descriptor constructor), it saves
  /// a syscall per file. A named temporary always starts as 0600.
  bool keep_mode = false;
};

/// A new file that takes the name `target` only when commit() says it is complete: an atomic
/// create or replace. Until then, nobody sees a half-written target; a ReplacementFile destroyed
/// without commit() leaves nothing behind.
///
/// Where the filesystem supports O_TMPFILE (ext4, xfs, btrfs, tmpfs; Linux 3.11+) the file has no
/// name at all until commit(): a process killed at any instant (SIGKILL included) before commit()
/// leaves nothing, because the kernel frees an unnamed file when its last descriptor closes.
/// Elsewhere it is a named temporary `.NAME.tmp-XXXXXX` beside the target (mkostemp), removed by
/// the destructor but left behind if the process is killed before it runs.
///
/// The file is created with mode 0600 (or, unnamed and through the directory-descriptor
/// constructor, the mode given less the umask) in the target's directory (so commit() is a rename
/// within one filesystem) and is readable and writable through fd(): write it, map it
/// (MappedFile(fd(), ...)), then commit().
class ReplacementFile {
 public:
  ReplacementFile() noexcept = default;
  /// Creates the file that will become `target`.
  /// Syscalls: open(2) of the parent directory (O_PATH is not used: fsync needs it readable),
  ///   open(2) with O_TMPFILE | O_RDWR | O_CLOEXEC in it; if the filesystem refuses (EOPNOTSUPP,
  ///   EISDIR, EINVAL), mkostemp(3) with O_CLOEXEC.
  /// Errors: invalid_argument for an empty target, one that names a directory ("/", "dir/"), or one
  ///   with a NUL byte (before any syscall); ENOENT/ENOTDIR/EACCES for the directory; ENOSPC,
  ///   EDQUOT, EROFS from the create. A failure leaves no file and no descriptor.
  /// Cost: two or three syscalls; allocates the paths.
  explicit ReplacementFile(const std::filesystem::path& target);
  /// Same; errors go to ec (errc::not_enough_memory if the paths cannot be allocated).
  static ReplacementFile create(const std::filesystem::path& target, std::error_code& ec) noexcept;

  /// Creates the file that will become `target`, in the directory open as `directory_fd`, which
  /// must be target's parent directory (open O_RDONLY | O_DIRECTORY: fsync needs it readable).
  /// The descriptor is borrowed, never closed: one directory descriptor serves every file copied
  /// into it, and target is only used for its file name and in messages. The unnamed file is
  /// created with `mode` less the process's umask, as open(2) does (so commit() can keep it with
  /// CommitOptions::keep_mode); a named temporary is still created 0600.
  /// Syscalls: openat(2) with O_TMPFILE | O_RDWR | O_CLOEXEC relative to directory_fd; if the
  ///   filesystem refuses (EOPNOTSUPP, EISDIR, EINVAL), openat with O_CREAT | O_EXCL of a fresh
  ///   `.NAME.tmp-XXXXXX`.
  /// Errors: invalid_argument for a negative directory_fd, or a target as the path constructor
  ///   refuses (before any syscall); EBADF/ENOTDIR for the descriptor; ENOSPC, EDQUOT, EROFS,
  ///   EACCES from the create. A failure leaves no file and closes nothing of the caller's.
  /// Cost: one syscall; allocates the paths.
  ReplacementFile(int directory_fd, const std::filesystem::path& target, mode_t mode = 0600);
  /// Same; errors go to ec.
  static ReplacementFile create(int directory_fd, const std::filesystem::path& target, mode_t mode,
                                std::error_code& ec) noexcept;

  /// Takes over the file; `other` is left empty. No syscall.
  ReplacementFile(ReplacementFile&& other) noexcept;
  /// discard()s this object's uncommitted file, then takes over `other`'s.
  ReplacementFile& operator=(ReplacementFile&& other) noexcept;
  ReplacementFile(const ReplacementFile&) = delete;
  ReplacementFile& operator=(const ReplacementFile&) = delete;
  /// discard()s an uncommitted file. Never throws.
  ~ReplacementFile();

  /// The descriptor to write to (O_RDWR | O_CLOEXEC); -1 when empty or after commit()/discard().
  int fd() const noexcept { return fd_; }
  /// Whether there is a file to write (fd() >= 0): false when empty, after commit() or discard().
  bool is_open() const noexcept { return fd_ >= 0; }
  /// The path the file becomes at commit(), as given.
  const std::filesystem::path& target() const noexcept { return target_; }
  /// True when the file is an unnamed O_TMPFILE (nothing on disk can be left behind by a kill).
  bool unnamed() const noexcept { return temporary_.empty() && fd_ >= 0; }
  /// The named temporary's path (empty for an unnamed file): what a signal handler must unlink.
  const std::filesystem::path& temporary_path() const noexcept { return temporary_; }

  /// Gives the file options.mode and the name target(), then closes it.
  /// Syscalls: fchmod(2) (none with keep_mode); with durable, fdatasync(2) first and fsync(2) of
  /// the directory last.
  ///   Unnamed file, target absent: linkat(2) with AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH before
  ///   Linux 6.10), or through /proc/self/fd/N with AT_SYMLINK_FOLLOW when that is refused. Unnamed
  ///   file, target present and Existing::Replace: linkat to a fresh `.NAME.tmp-XXXXXX`, then
  ///   rename(2) over the target (a kill between those two calls leaves that name: the only
  ///   window). Named file: rename(2), or renameat2(2) RENAME_NOREPLACE for Existing::Keep.
  /// Errors: EEXIST with Existing::Keep when the target exists; EISDIR when it is a directory;
  ///   EIO/ENOSPC from fdatasync; ENOENT if /proc is not mounted and AT_EMPTY_PATH is refused;
  ///   EXDEV/EACCES/EROFS from link or rename. On failure before the rename the target is untouched
  ///   and the file stays uncommitted (the destructor removes it); a failed directory fsync comes
  ///   after the rename: the target is replaced but maybe not yet durable.
  /// Cost: a few syscalls; durable waits for the disk twice.
  void commit(const CommitOptions& options = {});
  /// Same; errors go to ec.
  void commit(const CommitOptions& options, std::error_code& ec) noexcept;

  /// Closes the file and removes the named temporary (an unnamed one simply vanishes). The target
  /// is untouched. Idempotent. Syscalls: close(2), unlink(2) for a named temporary.
  void discard() noexcept;

 private:
  static detail::Failure open_into(const std::filesystem::path& target,
                                   ReplacementFile& file) noexcept;
  static detail::Failure open_at(int directory_fd, const std::filesystem::path& target, mode_t mode,
                                 ReplacementFile& file) noexcept;
  detail::Failure create_in(const std::filesystem::path& directory, mode_t mode);
  void close_directory() noexcept;
  detail::Failure commit_failure(const CommitOptions& options) noexcept;

  std::filesystem::path target_;
  std::filesystem::path temporary_;  // empty for an O_TMPFILE file
  std::string name_;                 // target's file name, within directory_fd_
  int directory_fd_ = -1;
  int fd_ = -1;
  bool owns_directory_ = true;  // false when the caller lent directory_fd_
};

}  // namespace mmapxx
