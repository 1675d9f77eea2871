// How mmcp moves one data extent from the source to the destination. Several ways, kept side by
// side so that mmbench's copy group can time each against cp (mmcp --method NAME); mmcp uses
// default_method. Every method reports a source truncated under it as a Failure ("file was
// truncated while reading"), never a SIGBUS, and leaves holes alone (only extents are given).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mmtools {

enum class CopyMethod {
  Buffer,     // mapped 64 MiB windows, memcpy (copy_from) into a 128 KiB buffer, pwrite
  Write,      // mapped windows populated first (MADV_POPULATE_READ), pwrite straight from them
  CopyRange,  // copy_file_range(2): the kernel copies (two streams on extents >= 192 MiB);
              // mapped Write where it refuses
};
// Measured fastest on warm, cold and sparse sources (docs/benchmarks.md), with each extent
// preallocated (fallocate) so that ext4 allocates it once.
inline constexpr CopyMethod default_method = CopyMethod::CopyRange;
inline constexpr bool default_preallocate = true;

// "buffer", "write", "copy_file_range"; nullopt-like false for anything else.
bool parse_copy_method(std::string_view name, CopyMethod& out) noexcept;

struct CopyTarget {
  int fd;
  std::string name;  // for messages
  bool preallocate;  // fallocate each extent before writing it
};

// Copies bytes [offset, offset + length) of the source (fd `in`, named `src`) to the same offsets
// of the destination. progress(done_up_to) is called now and then.
void copy_extent(CopyMethod method, int in, const std::string& src, const CopyTarget& out,
                 std::uint64_t offset, std::uint64_t length,
                 const std::function<void(std::uint64_t)>& progress);

// Below this size a file is copied whole by copy_small(): no extent probing, no cloning, no
// preallocation, which cannot pay for themselves on a file this small (a tree of small files
// would pay them once a file).
inline constexpr std::uint64_t small_file_limit = std::uint64_t{1} << 20;

// Copies bytes [0, size) of a small, dense source: copy_file_range(2) (one call for almost every
// file) when allow_copy_range, else, or where the kernel refuses, pread/pwrite through a buffer.
// A source shorter than size is a Failure ("file was truncated while reading").
void copy_small(int in, const std::string& src, const CopyTarget& out, std::uint64_t size,
                bool allow_copy_range);

// Shares the source's extents with the destination (ioctl FICLONE: btrfs, xfs; instant, holes
// included). False when the filesystem cannot (ext4, tmpfs, or two filesystems).
bool clone_file(int in, const CopyTarget& out);

// "write DST: No space left on device (pwrite)": the operation, the path, and the syscall.
[[noreturn]] void fail_write(const std::string& name, int error, const char* syscall);

}  // namespace mmtools
