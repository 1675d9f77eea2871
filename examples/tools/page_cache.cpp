#include "page_cache.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "mmapxx/fault.hpp"
#include "mmapxx/page.hpp"
#include "mmapxx/page_cache.hpp"
#include "tool_main.hpp"

namespace mmtools {

namespace {

constexpr std::uint64_t step = std::uint64_t{64} << 20;

std::uint64_t size_now(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void touch_window(const ReadMap& map, int fd, const std::string& name, std::uint64_t offset) {
  std::error_code ec;
  map.advise(mmapxx::Advice::PopulateRead, 0, mmapxx::whole, ec);
  if (!ec) return;
  // The kernel reports where an access would have raised SIGBUS; the new size says where.
  if (ec == std::errc::bad_address)
    fail_truncated(name, std::max(size_now(fd), offset), "MADV_POPULATE_READ: EFAULT");
  if (ec != std::errc::invalid_argument) throw mmapxx::Error("madvise", name, ec);
  // Before Linux 5.14: one load per page, each of which may fault if the file shrinks.
  try {
    mmapxx::guarded([&] {
      const std::size_t page = mmapxx::page_size();
      for (std::size_t i = 0; i < map.size(); i += page)
        static_cast<void>(*static_cast<const volatile std::byte*>(map.data() + i));
    });
  } catch (const mmapxx::FaultError& e) {
    fail_truncated(name, e.file_offset(), e.signal() == SIGBUS ? "SIGBUS" : "SIGSEGV");
  }
}

}  // namespace

void evict(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end) {
  if (begin >= end) return;
  // A read-only descriptor may still fdatasync; EINVAL means the file cannot be synced at all.
  if (::fdatasync(fd) != 0 && errno != EINVAL && errno != EROFS)
    fail_errno(name + ": fdatasync", errno);
  if (const int error = ::posix_fadvise(fd, static_cast<off_t>(begin),
                                        static_cast<off_t>(end - begin), POSIX_FADV_DONTNEED))
    fail_errno(name + ": posix_fadvise", error);
}

void touch(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
           const std::function<void(std::uint64_t)>& progress) {
  for (std::uint64_t at = begin; at < end; at += step) {
    const auto length = static_cast<std::size_t>(std::min(step, end - at));
    if (size_now(fd) < at + length)
      fail_truncated(name, std::max(size_now(fd), at), "end of file moved");
    const ReadMap window(fd, {.offset = at, .length = length}, name);
    pause_for_test();
    touch_window(window, fd, name, at);
    progress(at + length - begin);
  }
}

ReadMap lock(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end) {
  ReadMap map(fd, {.offset = begin, .length = static_cast<std::size_t>(end - begin)}, name);
  for (std::size_t at = 0; at < map.size(); at += step)
    map.lock(at, static_cast<std::size_t>(std::min<std::uint64_t>(step, map.size() - at)));
  return map;
}

FileResidency measure(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
                      bool chart) {
  FileResidency result;
  result.path = name;
  const std::uint64_t size = end - begin;
  result.size = size;
  const mmapxx::PageCacheStats all = mmapxx::page_cache_stats(fd, begin, size, name);
  result.pages = all.pages;
  result.resident = all.cached;
  const std::uint64_t page = mmapxx::page_size();
  result.resident_bytes = result.resident * page;
  if (result.pages == 0) return result;
  // The last page counts only up to end of file.
  const std::uint64_t last = (result.pages - 1) * page;
  if (mmapxx::page_cache_stats(fd, begin + last, 1, name).cached == 1)
    result.resident_bytes -= result.pages * page - size;
  if (!chart) return result;
  result.pages_per_char = (result.pages + 59) / 60;
  for (std::uint64_t first = 0; first < result.pages; first += result.pages_per_char) {
    const std::uint64_t count = std::min(result.pages_per_char, result.pages - first);
    const auto part = mmapxx::page_cache_stats(fd, begin + first * page, count * page, name);
    result.chart += chart_char(part.cached, count);
  }
  return result;
}

}  // namespace mmtools
