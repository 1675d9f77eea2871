#include "copy_methods.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <system_error>
#include <thread>

#include "mapped_reader.hpp"
#include "mmapxx/mmapxx.hpp"
#include "tool_main.hpp"

namespace mmtools {

namespace {

std::uint64_t current_size(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(name, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

[[noreturn]] void truncated_now(int fd, const std::string& name, std::uint64_t at,
                                const std::string& how) {
  fail_truncated(name, std::max(current_size(fd, name), at), how);
}

void pwrite_all(const CopyTarget& out, const std::byte* data, std::size_t size,
                std::uint64_t offset, int in, const std::string& src) {
  while (size > 0) {
    const ssize_t n = ::pwrite(out.fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    // write(2) from a mapping whose file shrank: the kernel's copy faulted, no signal.
    if (n < 0 && errno == EFAULT) truncated_now(in, src, offset, "pwrite: EFAULT");
    if (n < 0) fail_write(out.name, errno, "pwrite");
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

// Below 1 MiB an extent is allocated in one go anyway (ext4's delayed allocation), and a tree of
// small files would pay one more syscall a file for nothing.
constexpr std::uint64_t preallocate_from = std::uint64_t{1} << 20;

void preallocate(const CopyTarget& out, std::uint64_t offset, std::uint64_t length) {
  if (!out.preallocate || length < preallocate_from) return;
  if (::fallocate(out.fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0) return;
  if (errno == EOPNOTSUPP || errno == ENOSYS) return;  // just a hint where unsupported
  fail_write(out.name, errno, "fallocate");
}

// Write: each window is populated before write(2) reads it, so the kernel's copy never takes a
// page fault; a window that cannot be populated (the file shrank) is EFAULT, not SIGBUS.
void copy_mapped_write(int in, const std::string& src, const CopyTarget& out, std::uint64_t offset,
                       std::uint64_t length, const std::function<void(std::uint64_t)>& progress) {
  const std::uint64_t end = offset + length;
  for (std::uint64_t pos = offset; pos < end;) {
    const auto span = static_cast<std::size_t>(std::min<std::uint64_t>(window_size, end - pos));
    if (const std::uint64_t size = current_size(in, src); size < pos + span)
      fail_truncated(src, std::max(size, pos), "end of file moved");
    const mmapxx::MappedFile<mmapxx::Access::Read> window(in, {.offset = pos, .length = span}, src);
    pause_for_test();
    std::error_code ec;
    window.advise(mmapxx::Advice::Sequential, 0, mmapxx::whole, ec);
    window.advise(mmapxx::Advice::PopulateRead, 0, mmapxx::whole, ec);
    if (ec == std::errc::bad_address) truncated_now(in, src, pos, "MADV_POPULATE_READ: EFAULT");
    // Other errors (EINVAL before Linux 5.14) only cost the faults inside write(2).
    for (std::size_t done = 0; done < span;) {
      const std::size_t n = std::min<std::size_t>(std::size_t{8} << 20, span - done);
      pwrite_all(out, window.data() + done, n, pos + done, in, src);
      done += n;
      progress(pos + done);
    }
    pos += span;
  }
}

void copy_buffered(int in, const std::string& src, const CopyTarget& out, std::uint64_t offset,
                   std::uint64_t length, const std::function<void(std::uint64_t)>& progress) {
  stream_range(in, src, offset, length, [&](std::span<const std::byte> chunk, std::uint64_t at) {
    pwrite_all(out, chunk.data(), chunk.size(), at, in, src);
    progress(at + chunk.size());
  });
}

// One copy_file_range loop over [pos, end). Returns false, having copied nothing, when
// copy_file_range cannot serve these two files (only asked on the extent's first call, at
// `first`; no_fallback: never). stop: another stream failed, give up at the next call.
bool copy_range_loop(int in, const std::string& src, const CopyTarget& out, std::uint64_t first,
                     std::uint64_t pos, std::uint64_t end,
                     const std::function<void(std::uint64_t)>& copied,
                     const std::atomic<bool>* stop = nullptr) {
  while (pos < end) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return true;
    auto from = static_cast<off_t>(pos);
    auto to = static_cast<off_t>(pos);
    const auto ask = static_cast<std::size_t>(std::min<std::uint64_t>(end - pos, window_size));
    const ssize_t n = ::copy_file_range(in, &from, out.fd, &to, ask, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && pos == first &&
        (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
      return false;
    if (n < 0 && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EROFS))
      fail_write(out.name, errno, "copy_file_range");
    if (n < 0) fail_errno(src + ": copy_file_range", errno);
    if (n == 0) truncated_now(in, src, pos, "end of file moved");
    pos += static_cast<std::uint64_t>(n);
    copied(static_cast<std::uint64_t>(n));
  }
  return true;
}

// From this extent length on, copy_range runs two streams: on a cold 1 GiB source on ext4, two
// copy_file_range streams over interleaved 64 MiB windows were 1.11x as fast as one (median of 22
// rounds, 0.99-4.32x), on a warm one 1.08x (1.05-1.13x); docs/benchmarks.md, "Copy". The gain is
// small because the writes still take the destination inode's lock one at a time.
constexpr std::uint64_t two_streams_from = 3 * std::uint64_t{window_size};

// For copy_range_loop's `first`: copy_file_range has already worked on this extent, so a refusal
// now is an error, never a quiet "copied nothing" (which would leave that window out).
constexpr std::uint64_t no_fallback = std::numeric_limits<std::uint64_t>::max();

// The windows after the first of [offset, end), shared by two threads: each takes the next
// window not yet taken. The first error stops both; a source that shrank meanwhile is reported
// as one stream would have: "end of file moved" at its new size.
void copy_range_two_streams(int in, const std::string& src, const CopyTarget& out,
                            std::uint64_t offset, std::uint64_t end,
                            const std::function<void(std::uint64_t)>& progress) {
  std::atomic<std::uint64_t> next{offset};  // start of the next window to take
  std::atomic<std::uint64_t> done{offset};  // offset + the bytes copied by both streams
  std::atomic<bool> stop{false};
  // reports: progress comes from one thread only, after each of its windows (all bytes so far).
  const auto stream = [&](bool reports) {
    for (;;) {
      const std::uint64_t at = next.fetch_add(window_size);
      if (at >= end || stop.load()) return;
      copy_range_loop(
          in, src, out, no_fallback, at, std::min<std::uint64_t>(end, at + window_size),
          [&](std::uint64_t n) { done.fetch_add(n); }, &stop);
      if (reports) progress(done.load());
    }
  };
  std::exception_ptr helper_error;
  std::optional<std::thread> helper;
  try {
    helper.emplace([&] {
      try {
        stream(/*reports=*/false);
      } catch (...) {
        helper_error = std::current_exception();
        stop = true;
      }
    });
  } catch (const std::system_error&) {
    // No thread to be had (EAGAIN): this thread does every window.
  }
  std::exception_ptr own_error;
  try {
    stream(/*reports=*/true);
  } catch (...) {
    own_error = std::current_exception();
    stop = true;
  }
  if (helper) helper->join();
  if (!own_error && !helper_error) return progress(end);
  if (const std::uint64_t size = current_size(in, src); size < end)
    fail_truncated(src, std::max(size, offset), "end of file moved");
  std::rethrow_exception(own_error ? own_error : helper_error);
}

// The kernel copies page cache to page cache (or shares extents where the filesystem can).
// Returns false, having copied nothing, when copy_file_range cannot serve these two files. The
// first window is copied alone (it finds out whether copy_file_range works here); the rest of a
// long extent by two streams.
bool copy_range(int in, const std::string& src, const CopyTarget& out, std::uint64_t offset,
                std::uint64_t length, const std::function<void(std::uint64_t)>& progress) {
  pause_for_test();
  const std::uint64_t end = offset + length;
  const std::uint64_t first_end = length >= two_streams_from ? offset + window_size : end;
  std::uint64_t pos = offset;
  if (!copy_range_loop(in, src, out, offset, offset, first_end, [&](std::uint64_t n) {
        pos += n;
        progress(pos);
      }))
    return false;
  if (first_end < end) copy_range_two_streams(in, src, out, first_end, end, progress);
  return true;
}

}  // namespace

void copy_small(int in, const std::string& src, const CopyTarget& out, std::uint64_t size,
                bool allow_copy_range) {
  pause_for_test();
  std::uint64_t pos = 0;
  if (allow_copy_range) {
    while (pos < size) {
      auto from = static_cast<off_t>(pos);
      auto to = static_cast<off_t>(pos);
      const ssize_t n =
          ::copy_file_range(in, &from, out.fd, &to, static_cast<std::size_t>(size - pos), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && pos == 0 &&
          (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP))
        break;  // copied nothing: the buffer below does it
      if (n < 0 && (errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EROFS))
        fail_write(out.name, errno, "copy_file_range");
      if (n < 0) fail_errno(src + ": copy_file_range", errno);
      if (n == 0) truncated_now(in, src, pos, "end of file moved");
      pos += static_cast<std::uint64_t>(n);
    }
    if (pos == size) return;
  }
  // One buffer per thread for the whole run (mmcp -j): a small file fits in one or a few reads.
  thread_local std::byte buffer[128 << 10];
  while (pos < size) {
    const auto ask = static_cast<std::size_t>(std::min<std::uint64_t>(size - pos, sizeof buffer));
    const ssize_t n = ::pread(in, buffer, ask, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(src + ": read", errno);
    if (n == 0) truncated_now(in, src, pos, "end of file moved");
    pwrite_all(out, buffer, static_cast<std::size_t>(n), pos, in, src);
    pos += static_cast<std::uint64_t>(n);
  }
}

bool parse_copy_method(std::string_view name, CopyMethod& out) noexcept {
  if (name == "buffer")
    out = CopyMethod::Buffer;
  else if (name == "write")
    out = CopyMethod::Write;
  else if (name == "copy_file_range")
    out = CopyMethod::CopyRange;
  else
    return false;
  return true;
}

void copy_extent(CopyMethod method, int in, const std::string& src, const CopyTarget& out,
                 std::uint64_t offset, std::uint64_t length,
                 const std::function<void(std::uint64_t)>& progress) {
  preallocate(out, offset, length);
  switch (method) {
    case CopyMethod::Buffer:
      return copy_buffered(in, src, out, offset, length, progress);
    case CopyMethod::Write:
      return copy_mapped_write(in, src, out, offset, length, progress);
    case CopyMethod::CopyRange:
      if (!copy_range(in, src, out, offset, length, progress))
        copy_mapped_write(in, src, out, offset, length, progress);
      return;
  }
}

bool clone_file(int in, const CopyTarget& out) {
  if (::ioctl(out.fd, FICLONE, in) == 0) return true;
  if (errno == ENOSPC || errno == EDQUOT) fail_write(out.name, errno, "ioctl FICLONE");
  return false;  // EOPNOTSUPP, EXDEV, EINVAL: copy the data instead
}

void fail_write(const std::string& name, int error, const char* syscall) {
  throw Failure("write " + name + ": " + std::strerror(error) + " (" + syscall + ")");
}

}  // namespace mmtools
