// for_each_chunk: one sequential pass over a file, by mapping or by read(2), whichever the
// file's size and page-cache state make faster (what mmbench measured, docs/benchmarks.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "mmapxx/error.hpp"

namespace mmapxx {

// How for_each_chunk gets the bytes.
//   Auto: decide per file (see for_each_chunk).
//   Map:  map the file read-only and hand out 4 MiB windows of the mapping (no copy).
//   Read: read(2) into a 128 KiB buffer and hand out the buffer.
enum class ScanMethod { Auto, Map, Read };

// Options of for_each_chunk. Both fields have the measured defaults; they exist for tests,
// benchmarks and callers who know better than the probe.
struct ScanOptions {
  // How the bytes are got: Auto (the default) decides per file; Map or Read force one way.
  ScanMethod method = ScanMethod::Auto;
  // Auto maps only files at least this big: below it a map+unmap pair and the page faults cost
  // more than the copy that read(2) makes (mmbench: 0.4x at 1 MiB, 0.9x at 64 MiB).
  std::uint64_t map_threshold = std::uint64_t{256} << 20;
};

// What for_each_chunk did.
struct ScanResult {
  // Read when every byte came through read(2); Map when the chunks after the first came from the
  // mapping (with Auto the first 128 KiB always come through read(2), see for_each_chunk).
  ScanMethod method = ScanMethod::Read;
  std::uint64_t bytes = 0;  // bytes handed to fn
  bool stopped = false;     // fn returned false
};

namespace detail {
// The type-erased callback: returns false to stop the scan.
using ChunkCallback = bool (*)(void* context, std::span<const std::byte> chunk);
// The scan itself (lib/scan/scan.cpp). Exceptions thrown by the callback pass through, with the
// file closed and unmapped; every other failure is returned (never thrown).
// `path` must be followed by a NUL (it is a std::string's view), and may hold one inside (refused).
Failure scan_file(std::string_view path, const ScanOptions& options, ChunkCallback callback,
                  void* context, ScanResult& result);

template <class F>
bool call_chunk(void* context, std::span<const std::byte> chunk) {
  auto& fn = *static_cast<std::remove_reference_t<F>*>(context);
  if constexpr (std::is_same_v<std::invoke_result_t<F&, std::span<const std::byte>>, bool>) {
    return std::invoke(fn, chunk);
  } else {
    std::invoke(fn, chunk);
    return true;
  }
}
// A C string as a view; null becomes "" (refused as an empty path).
inline std::string_view c_path(const char* path) noexcept {
  return path ? std::string_view(path) : std::string_view("");
}

template <class F>
ScanResult scan_or_throw(std::string_view path, F& fn, const ScanOptions& options) {
  ScanResult result;
  if (Failure failure =
          scan_file(path, options, &call_chunk<F&>, static_cast<void*>(std::addressof(fn)), result))
    raise(failure, path);
  return result;
}

template <class F>
ScanResult scan_or_report(
    std::string_view path, F& fn, const ScanOptions& options,
    std::error_code& ec) noexcept(std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  ScanResult result;
  report(scan_file(path, options, &call_chunk<F&>, static_cast<void*>(std::addressof(fn)), result),
         ec);
  return result;
}
}  // namespace detail

// Calls fn(std::span<const std::byte>) on consecutive chunks that together are the file's bytes
// from offset 0 to its end, in order. fn may return bool: false stops the scan (result.stopped).
// A chunk is valid only during the call that receives it.
//
// Auto (the default) and Read start as a bare read(2) loop does: read(2) into a 128 KiB buffer
// until it is full or read(2) returns 0. A file that ends within that buffer (under 128 KiB) is
// done: fn gets its bytes as one chunk and the scan made open, read, read (0), close, the
// syscalls of a bare 128 KiB read loop, no fstat. Only a file that fills the buffer is fstat'ed;
// fn gets the 128 KiB, and the size fstat reported is where the scan ends. Then, with Auto,
// from what mmbench measured:
//   - files smaller than map_threshold (256 MiB): read(2), 128 KiB at a time;
//   - bigger files: the file is mapped and mincore(2) looks at a 4 MiB window in the middle of
//     the rest (on a 2 MiB boundary: the first megabytes of a readahead-filled file sit in small
//     folios while readahead ramps up); if any of it is not in the page cache the mapping is
//     dropped and the file is read (from disk a read(2) loop with POSIX_FADV_SEQUENTIAL wins).
//     Else that window is touched one page at a time while getrusage(RUSAGE_THREAD) counts minor
//     faults: more than 12 per MiB means the cache holds 4 KiB folios (written by small writes),
//     where mapping loses, so the mapping is dropped and the rest is read(2). Otherwise (large
//     folios, from readahead) every later chunk is a 4 MiB window of the mapping, no copy.
// Map maps the file from offset 0 (open, fstat first) and hands out 4 MiB windows. Read never
// maps.
//
// Syscalls: open (O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK, so a FIFO cannot block); Auto/Read:
// read(2) as above; fstat when the first buffer filled, when nothing could be read (an empty file)
// and when the first reads failed; posix_fadvise(SEQUENTIAL) when 1 MiB or more is left to read;
// close. Mapping: mmap, mincore and getrusage x2 (Auto only), fstat before every window after the
// first mapped one (a file that shrank is reported before fn sees a window past its end), munmap.
//
// Size and truncation. A file under 128 KiB is whatever read(2) returned up to end of file: a
// truncation while those reads run cannot be told from a shorter file and is not an error (there
// is no size to compare with). From 128 KiB on, the end is the size fstat reported after the
// first 128 KiB: a file that shrinks below it ends the scan with an Error, errno EFAULT, whose
// message says the file shrank, by either method, never SIGBUS; a file that grows is scanned to
// that size. Mapped chunks are handed to fn inside guarded() (fault.hpp): if the file shrinks
// while fn is reading a mapped chunk, fn is abandoned as guarded() abandons its body (destructors
// of what fn created are not run), so fn should hold nothing it must release while it reads the
// chunk. A regular file whose fstat size is 0 but which reads bytes (procfs, sysfs) is read to
// end of file by Auto and Read; Map sees size 0 and never calls fn.
//
// Errors (Error, naming the path): a path that is empty or holds a NUL byte (invalid_argument,
// before any syscall); an unknown ScanMethod (invalid_argument); ENOMEM when the 128 KiB buffer
// cannot be allocated (before open); open/fstat/read/mmap errnos; a path that is not a regular
// file (ENODEV): a directory, a FIFO that reads empty or would block, a device that reads empty
// or fills the first buffer. The exception, as a read loop without fstat cannot tell: a FIFO or
// device that gives under 128 KiB and then end of file (a FIFO whose writer wrote and closed it)
// is scanned as a short file. EFAULT on truncation; Error when the fault handler cannot be set up
// (map method). Exceptions from fn pass through. Every way out closes the file and unmaps the
// view.
//
// Cost: for a file under 128 KiB, the syscalls of a bare 128 KiB read(2) loop (measured at
// 0.97-0.98x of one for 1-4 KiB files, the difference the library's path check and call layers,
// docs/benchmarks.md); from 128 KiB, that loop's plus one fstat and (1 MiB and up) one
// posix_fadvise. The map path adds a map+unmap pair, one sigsetjmp and one fstat per 4 MiB
// window and, with Auto, mincore and two getrusage calls on the probed window (whose faults fn
// would have taken anyway; where the probe says read, touching it was the waste: 4 MiB of a file
// of at least map_threshold).
// Kernel floor: Linux 2.6.26 (RUSAGE_THREAD); nothing newer.
template <class F>
ScanResult for_each_chunk(const std::filesystem::path& path, F&& fn,
                          const ScanOptions& options = {}) {
  return detail::scan_or_throw(path.native(), fn, options);
}

// As above; the library's own failures set ec (cleared on success) instead of throwing, and
// the result then tells how far the scan came. Exceptions thrown by fn still pass through, so
// this overload is noexcept exactly when fn is.
template <class F>
ScanResult for_each_chunk(
    const std::filesystem::path& path, F&& fn, const ScanOptions& options,
    std::error_code& ec) noexcept(std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(path.native(), fn, options, ec);
}

// As above with the default options.
template <class F>
ScanResult for_each_chunk(const std::filesystem::path& path, F&& fn, std::error_code& ec) noexcept(
    std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(path.native(), fn, ScanOptions{}, ec);
}

// The same three for a path given as a std::string or a C string, which spares building a
// std::filesystem::path (its parse allocates: ~0.3 us, a tenth of the cost of scanning a 4 KiB
// file). A null C string is invalid_argument.
template <class F>
ScanResult for_each_chunk(const std::string& path, F&& fn, const ScanOptions& options = {}) {
  return detail::scan_or_throw(path, fn, options);
}
// Same, for a std::string path; errors go to ec.
template <class F>
ScanResult for_each_chunk(
    const std::string& path, F&& fn, const ScanOptions& options,
    std::error_code& ec) noexcept(std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(path, fn, options, ec);
}
// Same, for a std::string path, with the default options; errors go to ec.
template <class F>
ScanResult for_each_chunk(const std::string& path, F&& fn, std::error_code& ec) noexcept(
    std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(path, fn, ScanOptions{}, ec);
}
// Same, for a C string path (null: invalid_argument).
template <class F>
ScanResult for_each_chunk(const char* path, F&& fn, const ScanOptions& options = {}) {
  return detail::scan_or_throw(detail::c_path(path), fn, options);
}
// Same, for a C string path; errors go to ec.
template <class F>
ScanResult for_each_chunk(
    const char* path, F&& fn, const ScanOptions& options,
    std::error_code& ec) noexcept(std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(detail::c_path(path), fn, options, ec);
}
// Same, for a C string path, with the default options; errors go to ec.
template <class F>
ScanResult for_each_chunk(const char* path, F&& fn, std::error_code& ec) noexcept(
    std::is_nothrow_invocable_v<F&, std::span<const std::byte>>) {
  return detail::scan_or_report(detail::c_path(path), fn, ScanOptions{}, ec);
}

}  // namespace mmapxx
