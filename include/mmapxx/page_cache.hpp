/// @file
/// How much of a file is in the page cache, counted in bounded memory: cachestat(2) where the
/// kernel has it, mincore(2) over fixed-size mapped windows elsewhere. Unlike
/// Mapping::residency(), which returns one byte per page (256 MiB for a 1 TiB file), these calls
/// return counts and allocate at most 256 KiB whatever the file's size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>

namespace mmapxx {

/// Where a PageCacheStats came from.
enum class PageCacheSource {
  Cachestat,  ///< cachestat(2): cached, dirty, writeback, evicted and recently_evicted are filled
  Mincore,    ///< mincore(2) over mapped windows: only cached is known (the others stay 0)
};

/// Page-cache state of a byte range of a file, in pages of page_size() bytes.
struct PageCacheStats {
  std::uint64_t pages = 0;             ///< pages covering the range (clipped at end of file)
  std::uint64_t cached = 0;            ///< of those, in the page cache
  std::uint64_t dirty = 0;             ///< cached and modified, not yet written back
  std::uint64_t writeback = 0;         ///< being written back now
  std::uint64_t evicted = 0;           ///< evicted from the cache (the kernel keeps a shadow entry)
  std::uint64_t recently_evicted = 0;  ///< evicted and would still fit if brought back
  PageCacheSource source = PageCacheSource::Cachestat;  ///< which syscall filled the counts
};

/// "To end of file" for page_cache_stats' length.
inline constexpr std::uint64_t to_end_of_file = std::numeric_limits<std::uint64_t>::max();

/// Counts the pages of bytes [offset, offset + length) of the regular file open on fd (readable)
/// that are in the page cache; the range is clipped at end of file and rounded out to whole pages.
/// `label` names the file in error messages.
/// Syscalls: fstat(2); then one cachestat(2) (Linux 6.5+, syscall 451) over the range. Where it
///   is missing (ENOSYS) or refused (EPERM, EOPNOTSUPP), mincore(2) over windows of at most 1 GiB,
///   each mapped read-only and shared (mmap/munmap), one at a time.
/// Errors: invalid_argument if offset + length overflows (other than to_end_of_file) or fd is not
///   a regular file (before cachestat); EBADF; EACCES if the mincore fallback cannot map the file
///   (opened write-only); ENOMEM from mmap. Nothing is left mapped or allocated.
/// Cost: cachestat walks the page cache's index of the range (fast for holes: a 1 TiB sparse file
///   takes microseconds); mincore costs one map, a page-table walk and an unmap per GiB, and at
///   most a 256 KiB vector. Since Linux 5.2, mincore counts the whole page cache only for files
///   the caller could open for writing; for others, only pages mapped by this process (util-linux
///   fincore has the same limit). cachestat has no such limit.
PageCacheStats page_cache_stats(int fd, std::uint64_t offset = 0,
                                std::uint64_t length = to_end_of_file,
                                const std::string& label = {});
/// Same; errors go to ec (stats are zero then).
PageCacheStats page_cache_stats(int fd, std::uint64_t offset, std::uint64_t length,
                                std::error_code& ec) noexcept;
/// Same for a path, opened read-only (O_RDONLY | O_CLOEXEC | O_NONBLOCK, so a FIFO cannot block)
/// and closed before returning. Adds the errors of open(2) (ENOENT, EACCES, ...).
PageCacheStats page_cache_stats(const std::filesystem::path& path, std::uint64_t offset = 0,
                                std::uint64_t length = to_end_of_file);
/// Same; errors go to ec.
PageCacheStats page_cache_stats(const std::filesystem::path& path, std::uint64_t offset,
                                std::uint64_t length, std::error_code& ec) noexcept;
/// Same for a NUL-terminated path (a null pointer or "" is invalid_argument before any
/// syscall); the error_code form builds no string, so a literal argument keeps it noexcept.
PageCacheStats page_cache_stats(const char* path, std::uint64_t offset = 0,
                                std::uint64_t length = to_end_of_file);
/// Same; errors go to ec.
PageCacheStats page_cache_stats(const char* path, std::uint64_t offset, std::uint64_t length,
                                std::error_code& ec) noexcept;

}  // namespace mmapxx
