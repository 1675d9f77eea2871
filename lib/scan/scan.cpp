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

// read(2) from `offset` to `size`, 128 KiB at a time.
Failure read_loop(int fd, std::uint64_t offset, std::uint64_t size, ChunkCallback callback,
                  void* context, ScanResult& result) {
  // One buffer per thread, kept: a fresh 128 KiB allocation is an mmap + munmap in glibc (its
  // mmap threshold) plus faults, which cost a scan of a small file ~15%. A scan started inside fn
  // while the thread's buffer is in use gets its own.
  // Page-aligned: read(2) into a misaligned buffer measured ~15% slower on 1 MiB files.
  struct ThreadBuffer {
    AlignedBuffer data{nullptr, &std::free};
    bool busy = false;
  };
  thread_local ThreadBuffer cached;
  AlignedBuffer own{nullptr, &std::free};
  std::byte* buffer = nullptr;
  if (!cached.busy) {
    if (!cached.data) cached.data.reset(aligned_buffer());
    buffer = cached.data.get();
  }
  if (buffer == nullptr) {
    own.reset(aligned_buffer());
    buffer = own.get();
  }
  if (buffer == nullptr)
    return make_failure("read", ENOMEM, "no memory for the %zu-byte buffer", read_chunk);
  struct Release {
    ThreadBuffer& cached;
    bool mine;
    ~Release() {
      if (mine) cached.busy = false;
    }
  } release{cached, buffer == cached.data.get()};
  if (release.mine) cached.busy = true;
  if (size - offset >= (std::uint64_t{1} << 20))
    (void)::posix_fadvise(fd, static_cast<off_t>(offset), 0, POSIX_FADV_SEQUENTIAL);
  if (offset != 0 && ::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0)
    return make_failure("lseek", errno);
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
    result.bytes += static_cast<std::uint64_t>(got);
    if (!callback(context, {buffer, static_cast<std::size_t>(got)})) {
      result.stopped = true;
      return {};
    }
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

// The first window's pages: all in the page cache?
bool resident(const View& view, std::size_t length) noexcept {
  const std::size_t page = page_size();
  const std::size_t pages = (length + page - 1) / page;
  unsigned char bits[map_window / 4096];
  if (pages > sizeof bits) return false;
  if (::mincore(view.data, length, bits) != 0) return false;
  for (std::size_t i = 0; i < pages; ++i)
    if (!(bits[i] & 1)) return false;
  return true;
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
  int fd = -1;
  if (Failure failure = open_fd(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, fd)) return failure;
  const FdCloser closer{fd};
  FileInfo info;
  if (Failure failure = stat_fd(fd, info)) return failure;
  if (!info.regular) return make_failure("open", ENODEV, "not a regular file");
  const std::uint64_t size = info.size;
  if (size == 0) return {};
  // Reads of a regular file ignore O_NONBLOCK; it was there only so that open could not block.

  const bool map = options.method == ScanMethod::Map ||
                   (options.method == ScanMethod::Auto && size >= options.map_threshold);
  if (!map || size > max_view_size) return read_loop(fd, 0, size, callback, context, result);

  MapRequest request;
  request.length = static_cast<std::size_t>(size);
  request.prot = PROT_READ;
  request.flags = MAP_SHARED;
  request.fd = fd;
  request.label = path;
  ViewUnmapper mapping;
  if (Failure failure = map_view(request, mapping.view)) return failure;
  const View& view = mapping.view;

  std::uint64_t offset = 0;
  if (options.method == ScanMethod::Auto) {
    const std::size_t first = size < map_window ? static_cast<std::size_t>(size) : map_window;
    if (!resident(view, first)) {
      unmap_view(std::exchange(mapping.view, View{}));
      return read_loop(fd, 0, size, callback, context, result);
    }
    // Touch the first window (which fn reads next anyway) and count the faults it took.
    const long before = minor_faults();
    Guarded touch{[](void*, std::span<const std::byte> chunk) {
                    const std::size_t page = page_size();
                    for (std::size_t i = 0; i < chunk.size(); i += page)
                      (void)*static_cast<const volatile std::byte*>(chunk.data() + i);
                    return true;
                  },
                  nullptr,
                  {view.data, first}};
    if (Failure failure = guarded_call(touch, size)) return failure;
    const double mib = static_cast<double>(first) / (1 << 20);
    const double faults_per_mib = static_cast<double>(minor_faults() - before) / mib;
    if (faults_per_mib > small_folio_faults_per_mib) {
      // 4 KiB folios: the window is mapped already, the rest goes through read(2).
      result.method = ScanMethod::Map;
      Guarded call{callback, context, {view.data, first}};
      if (Failure failure = guarded_call(call, size)) return failure;
      result.bytes += first;
      if (!call.keep_going) {
        result.stopped = true;
        return {};
      }
      unmap_view(std::exchange(mapping.view, View{}));
      return read_loop(fd, first, size, callback, context, result);
    }
  }

  result.method = ScanMethod::Map;
  while (offset < size) {
    const std::uint64_t left = size - offset;
    const std::size_t length = left < map_window ? static_cast<std::size_t>(left) : map_window;
    // A window past a new end of file would fault only where fn reads it: say so up front
    // (one fstat per 4 MiB), the fault translation covers a truncation during fn.
    if (offset != 0) {
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

}  // namespace mmapxx::detail
