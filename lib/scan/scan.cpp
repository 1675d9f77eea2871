// for_each_chunk's scan: choosing map or read(2) per file, and both loops (mmapxx/scan.hpp).
#include "mmapxx/scan.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>

#include "base/fd.hpp"
#include "mapping/primitive.hpp"
#include "mmapxx/fault.hpp"
#include "mmapxx/page.hpp"

namespace mmapxx::detail {

namespace {

constexpr std::size_t read_chunk = std::size_t{128} << 10;  // the study's read(2) baseline
constexpr std::size_t map_window = std::size_t{4} << 20;
// Fault-around maps 16 pages per fault where the cache holds 4 KiB folios (16 faults/MiB); folios
// made by readahead give one fault per folio, at most 8/MiB with read_ahead_kb = 128.
constexpr double small_folio_faults_per_mib = 12;

Failure shrank(std::uint64_t at, std::uint64_t size) noexcept {
  return make_failure("read", EFAULT,
                      "the file shrank during the scan: it ended at byte %" PRIu64 " of %" PRIu64,
                      at, size);
}

// Closes the descriptor on every way out, exceptions from the callback included.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

struct ViewUnmapper {
  View view;
  ~ViewUnmapper() { unmap_view(view); }
};

using AlignedBuffer = std::unique_ptr<std::byte, void (*)(void*)>;

std::byte* aligned_buffer() noexcept {
  return static_cast<std::byte*>(std::aligned_alloc(4096, read_chunk));
}

// The thread's kept buffer. Plain data, constant-initialised: reaching it costs one TLS address
// lookup (a thread_local with a constructor or destructor goes through an init wrapper on every
// access, ~80 instructions per scan, measured with callgrind). Freed at thread exit by
// CachedFreer, which is touched only when the buffer is allocated.
struct CachedBuffer {
  std::byte* data;
  bool busy;
};
thread_local CachedBuffer cached_buffer{nullptr, false};
struct CachedFreer {
  ~CachedFreer() {
    std::free(cached_buffer.data);
    cached_buffer.data = nullptr;
  }
};

// The 128 KiB read(2) buffer. One per thread, kept: a fresh 128 KiB allocation is an mmap +
// munmap in glibc (its mmap threshold) plus faults, which cost a scan of a small file ~15%. A
// scan started inside fn while the thread's buffer is in use gets its own.
// Page-aligned: read(2) into a misaligned buffer measured ~15% slower on 1 MiB files.
class ReadBuffer {
 public:
  ReadBuffer() noexcept : cached_(&cached_buffer) {
    if (!cached_->busy) {
      if (cached_->data == nullptr) {
        thread_local CachedFreer freer;
        (void)freer;
        cached_->data = aligned_buffer();
      }
      if (cached_->data != nullptr) {
        cached_->busy = true;
        data_ = cached_->data;
        return;
      }
    }
    own_.reset(aligned_buffer());
    data_ = own_.get();
  }
  ~ReadBuffer() {
    if (data_ != nullptr && own_ == nullptr) cached_->busy = false;
  }
  ReadBuffer(const ReadBuffer&) = delete;
  ReadBuffer& operator=(const ReadBuffer&) = delete;
  std::byte* data() const noexcept { return data_; }

 private:
  CachedBuffer* cached_;
  AlignedBuffer own_{nullptr, &std::free};
  std::byte* data_ = nullptr;
};

// Hands one chunk to the callback; false when fn asked to stop.
bool hand(ChunkCallback callback, void* context, std::span<const std::byte> chunk,
          ScanResult& result) {
  result.bytes += chunk.size();
  if (callback(context, chunk)) return true;
  result.stopped = true;
  return false;
}

// read(2) from the descriptor's current offset `offset` to `size`, 128 KiB at a time.
Failure read_loop(int fd, std::byte* buffer, std::uint64_t offset, std::uint64_t size,
                  ChunkCallback callback, void* context, ScanResult& result) {
  if (size - offset >= (std::uint64_t{1} << 20))
    (void)::posix_fadvise(fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  while (offset < size) {
    const std::uint64_t left = size - offset;
    const std::size_t want = left < read_chunk ? static_cast<std::size_t>(left) : read_chunk;
    const ssize_t got = ::read(fd, buffer, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      return make_failure("read", errno, "at byte %" PRIu64, offset);
    }
    if (got == 0) return shrank(offset, size);
    offset += static_cast<std::uint64_t>(got);
    if (!hand(callback, context, {buffer, static_cast<std::size_t>(got)}, result)) return {};
  }
  return {};
}

// read(2) until end of file, for a file whose fstat size is 0 but which reads bytes (procfs,
// sysfs): its length is known only by reading it.
Failure read_to_end(int fd, std::byte* buffer, ChunkCallback callback, void* context,
                    ScanResult& result) {
  for (;;) {
    const ssize_t got = ::read(fd, buffer, read_chunk);
    if (got < 0) {
      if (errno == EINTR) continue;
      return make_failure("read", errno, "at byte %" PRIu64, result.bytes);
    }
    if (got == 0) return {};
    if (!hand(callback, context, {buffer, static_cast<std::size_t>(got)}, result)) return {};
  }
}

// Fills `buffer` with read(2) until it holds read_chunk bytes or read(2) returns 0 (end of file).
Failure fill(int fd, std::byte* buffer, std::size_t& got) noexcept {
  got = 0;
  while (got < read_chunk) {
    const ssize_t n = ::read(fd, buffer + got, read_chunk - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_failure("read", errno, "at byte %zu", got);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return {};
}

// One chunk of the mapping handed to the callback with fault translation armed.
struct Guarded {
  ChunkCallback callback;
  void* context;
  std::span<const std::byte> chunk;
  bool entered = false;
  bool keep_going = true;
};

Failure guarded_call(Guarded& call, std::uint64_t size) {
  FaultInfo fault;
  bool completed = false;
  try {
    completed = run_guarded(
        [](void* p) {
          auto& c = *static_cast<Guarded*>(p);
          c.entered = true;
          c.keep_going = c.callback(c.context, c.chunk);
        },
        &call, fault);
  } catch (const Error& e) {
    if (call.entered) throw;  // the callback's own exception
    // (The operation must outlive e: a Failure keeps a pointer to it.)
    return make_failure("guarded", e.code().value(), "cannot set up fault translation: %s",
                        e.what());
  }
  if (!completed)
    return make_failure("read", EFAULT,
                        "the file shrank during the scan (fault at file offset %" PRIu64
                        " of %" PRIu64 ")",
                        fault.file_offset, size);
  return {};
}

// Minor faults of this thread so far.
long minor_faults() noexcept {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// The first window's pages: all in the page cache? (`window` starts on a page boundary.)
bool resident(std::span<const std::byte> window) noexcept {
  const std::size_t page = page_size();
  const std::size_t pages = (window.size() + page - 1) / page;
  unsigned char bits[map_window / 4096];
  if (pages > sizeof bits) return false;
  if (::mincore(const_cast<std::byte*>(window.data()), window.size(), bits) != 0) return false;
  for (std::size_t i = 0; i < pages; ++i)
    if (!(bits[i] & 1)) return false;
  return true;
}

// Scans [start, size) of the open file through a mapping of the whole file. With `probe` (Auto)
// a 4 MiB window in the middle decides: not resident, or 4 KiB folios, read(2) instead.
// `buffer` is the read(2) buffer for those cases.
Failure map_scan(int fd, const char* path, std::uint64_t start, std::uint64_t size, bool probe,
                 std::byte* buffer, ChunkCallback callback, void* context, ScanResult& result) {
  MapRequest request;
  request.length = static_cast<std::size_t>(size);
  request.prot = PROT_READ;
  request.flags = MAP_SHARED;
  request.fd = fd;
  request.label = path;
  ViewUnmapper mapping;
  if (Failure failure = map_view(request, mapping.view)) return failure;
  const View& view = mapping.view;

  std::uint64_t offset = start;
  if (probe) {
    // The window probed lies in the middle of what is left, on a 2 MiB boundary: the first
    // megabytes of a file filled by readahead sit in small folios (readahead ramps its window up
    // from a few pages), which would read as "4 KiB folios" where the rest of the file is large.
    const std::uint64_t left = size - start;
    const std::size_t length = left < map_window ? static_cast<std::size_t>(left) : map_window;
    std::uint64_t at = align_down(start + (left - length) / 2, std::uint64_t{2} << 20);
    if (at < start) at = start;
    const std::span<const std::byte> window{view.data + at, length};
    if (!resident(window)) {
      unmap_view(std::exchange(mapping.view, View{}));
      return read_loop(fd, buffer, start, size, callback, context, result);
    }
    // Touch the window (which fn reads later anyway) and count the faults it took.
    const long before = minor_faults();
    Guarded touch{[](void*, std::span<const std::byte> chunk) {
                    const std::size_t page = page_size();
                    for (std::size_t i = 0; i < chunk.size(); i += page)
                      (void)*static_cast<const volatile std::byte*>(chunk.data() + i);
                    return true;
                  },
                  nullptr, window};
    if (Failure failure = guarded_call(touch, size)) return failure;
    const double mib = static_cast<double>(length) / (1 << 20);
    const double faults_per_mib = static_cast<double>(minor_faults() - before) / mib;
    if (faults_per_mib > small_folio_faults_per_mib) {
      // 4 KiB folios: mapping loses, read(2) from where the scan is (the descriptor is there).
      unmap_view(std::exchange(mapping.view, View{}));
      return read_loop(fd, buffer, start, size, callback, context, result);
    }
  }

  result.method = ScanMethod::Map;
  while (offset < size) {
    const std::uint64_t left = size - offset;
    const std::size_t length = left < map_window ? static_cast<std::size_t>(left) : map_window;
    // A window past a new end of file would fault only where fn reads it: say so up front
    // (one fstat per 4 MiB), the fault translation covers a truncation during fn.
    if (offset != start) {
      FileInfo info;
      if (Failure failure = stat_fd(fd, info)) return failure;
      if (info.size < offset + length) return shrank(info.size, size);
    }
    Guarded call{callback, context, {view.data + offset, length}};
    if (Failure failure = guarded_call(call, size)) return failure;
    offset += length;
    result.bytes += length;
    if (!call.keep_going) {
      result.stopped = true;
      return {};
    }
  }
  return {};
}

// A failure of the first read, or an empty first read: ENODEV if the descriptor is not a
// regular file (a directory reads EISDIR, a FIFO without a writer reads 0), else `failure`.
Failure unless_irregular(int fd, Failure failure) noexcept {
  FileInfo info;
  if (Failure stat_failure = stat_fd(fd, info)) return stat_failure;
  if (!info.regular) return make_failure("open", ENODEV, "not a regular file");
  return failure;
}

}  // namespace

Failure scan_file(std::string_view path_view, const ScanOptions& options, ChunkCallback callback,
                  void* context, ScanResult& result) {
  result = {};
  if (Failure failure = check_path("open", path_view)) return failure;
  const char* path = path_view.data();  // NUL-terminated: a std::string's view, checked above
  switch (options.method) {
    case ScanMethod::Auto:
    case ScanMethod::Map:
    case ScanMethod::Read:
      break;
    default:
      return invalid_argument("scan", "method %d is not a ScanMethod value",
                              static_cast<int>(options.method));
  }
  const ReadBuffer buffer;
  if (buffer.data() == nullptr)
    return make_failure("read", ENOMEM, "no memory for the %zu-byte buffer", read_chunk);
  // open(2) itself, not open_fd: the path was checked above, and a scan of a 1 KiB file is four
  // syscalls, where every call layer shows.
  int fd;
  do {
    fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_failure("open", errno);
  const FdCloser closer{fd};
  // Reads of a regular file ignore O_NONBLOCK; it was there only so that open could not block.
  FileInfo info;

  if (options.method == ScanMethod::Map) {
    if (Failure failure = stat_fd(fd, info)) return failure;
    if (!info.regular) return make_failure("open", ENODEV, "not a regular file");
    if (info.size == 0) return {};
    if (info.size > max_view_size)
      return read_loop(fd, buffer.data(), 0, info.size, callback, context, result);
    return map_scan(fd, path, 0, info.size, false, buffer.data(), callback, context, result);
  }

  // Read first, as a bare read(2) loop does: a file that ends within the first buffer costs
  // open, read, read (0), close, and no fstat.
  std::size_t got = 0;
  if (Failure failure = fill(fd, buffer.data(), got)) return unless_irregular(fd, failure);
  if (got == 0) return unless_irregular(fd, {});
  if (got < read_chunk) {
    (void)hand(callback, context, {buffer.data(), got}, result);
    return {};
  }

  // The first buffer is full: the file may be big, so its size and kind decide.
  if (Failure failure = stat_fd(fd, info)) return failure;
  if (!info.regular) return make_failure("open", ENODEV, "not a regular file");
  if (info.size == 0) {  // procfs, sysfs: the length is known only by reading
    if (!hand(callback, context, {buffer.data(), got}, result)) return {};
    return read_to_end(fd, buffer.data(), callback, context, result);
  }
  const std::uint64_t size = info.size;
  if (size < got) return shrank(size, got);
  if (!hand(callback, context, {buffer.data(), got}, result)) return {};
  if (size == got) return {};
  const bool map =
      options.method == ScanMethod::Auto && size >= options.map_threshold && size <= max_view_size;
  if (!map) return read_loop(fd, buffer.data(), got, size, callback, context, result);
  return map_scan(fd, path, got, size, true, buffer.data(), callback, context, result);
}

}  // namespace mmapxx::detail
