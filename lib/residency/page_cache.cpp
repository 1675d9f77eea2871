// Page-cache counts in bounded memory: cachestat(2), or mincore(2) over 1 GiB windows
// (include/mmapxx/page_cache.hpp).
#include "mmapxx/page_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <new>
#include <vector>

#include "base/linux_abi.hpp"
#include "mapping/primitive.hpp"
#include "mmapxx/page.hpp"

namespace mmapxx {

namespace {

using detail::Failure;
using detail::make_failure;

// struct cachestat_range and struct cachestat of <linux/mman.h> (Linux 6.5), absent from Debian
// 12's headers; the layout is the kernel ABI.
struct CachestatRange {
  std::uint64_t off;
  std::uint64_t len;
};
struct Cachestat {
  std::uint64_t nr_cache;
  std::uint64_t nr_dirty;
  std::uint64_t nr_writeback;
  std::uint64_t nr_evicted;
  std::uint64_t nr_recently_evicted;
};

constexpr std::uint64_t window_bytes = std::uint64_t{1} << 30;

// The whole pages covering [begin, end): first page's offset and the page count.
void page_range(std::uint64_t begin, std::uint64_t end, std::uint64_t& first,
                std::uint64_t& count) noexcept {
  const std::uint64_t page = page_size();
  first = begin / page * page;
  count = end > begin ? (end - first + page - 1) / page : 0;
}

Failure by_cachestat(int fd, std::uint64_t first, std::uint64_t length,
                     PageCacheStats& out) noexcept {
  CachestatRange range{first, length};
  Cachestat stat{};
  if (::syscall(SYS_cachestat, fd, &range, &stat, 0u) != 0) return make_failure("cachestat", errno);
  out.cached = stat.nr_cache;
  out.dirty = stat.nr_dirty;
  out.writeback = stat.nr_writeback;
  out.evicted = stat.nr_evicted;
  out.recently_evicted = stat.nr_recently_evicted;
  out.source = PageCacheSource::Cachestat;
  return {};
}

Failure by_mincore(int fd, std::uint64_t first, std::uint64_t length, const char* label,
                   PageCacheStats& out) noexcept {
  out.source = PageCacheSource::Mincore;
  std::vector<unsigned char> vec;
  try {
    vec.resize(static_cast<std::size_t>(window_bytes / page_size()));
  } catch (const std::bad_alloc&) {
    return make_failure("mincore", ENOMEM, "256 KiB vector");
  }
  for (std::uint64_t at = first; at < first + length;) {
    const auto span = static_cast<std::size_t>(std::min(window_bytes, first + length - at));
    detail::View view;
    detail::MapRequest request;
    request.length = span;
    request.offset = at;
    request.prot = PROT_READ;
    request.flags = MAP_SHARED;
    request.fd = fd;
    request.label = label;
    if (Failure f = detail::map_view(request, view)) return f;
    const int rc = ::mincore(view.data, span, vec.data());
    const int error = errno;
    detail::unmap_view(view);
    if (rc != 0) return make_failure("mincore", error);
    const std::size_t n = (span + page_size() - 1) / page_size();
    std::uint64_t cached = 0;
    for (std::size_t i = 0; i < n; ++i) cached += vec[i] & 1;
    out.cached += cached;
    at += span;
  }
  return {};
}

Failure stats_of(int fd, std::uint64_t offset, std::uint64_t length, const char* label,
                 PageCacheStats& out) noexcept {
  out = {};
  if (length != to_end_of_file && offset > to_end_of_file - length)
    return detail::invalid_argument("page_cache_stats", "offset + length overflows 64 bits");
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_failure("fstat", errno);
  if (!S_ISREG(st.st_mode))
    return detail::invalid_argument("page_cache_stats", "not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t begin = std::min(offset, size);
  const std::uint64_t end = length == to_end_of_file ? size : std::min(size, offset + length);
  std::uint64_t first = 0;
  page_range(begin, end, first, out.pages);
  if (out.pages == 0) return {};
  const std::uint64_t bytes = out.pages * page_size();
  const Failure f = by_cachestat(fd, first, bytes, out);
  if (!f) return {};
  if (f.code != ENOSYS && f.code != EPERM && f.code != EOPNOTSUPP) return f;
  const std::uint64_t pages = out.pages;
  out = {};
  out.pages = pages;
  return by_mincore(fd, first, bytes, label, out);
}

Failure stats_of_name(const char* name, std::uint64_t offset, std::uint64_t length,
                      PageCacheStats& out) noexcept {
  if (name == nullptr) return detail::invalid_argument("open", "path is a null pointer");
  if (*name == '\0') return detail::invalid_argument("open", "path is empty or holds a NUL byte");
  int fd;
  do {
    fd = ::open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return make_failure("open", errno);
  const Failure f = stats_of(fd, offset, length, name, out);
  ::close(fd);
  return f;
}

Failure stats_of_path(const std::filesystem::path& path, std::uint64_t offset, std::uint64_t length,
                      PageCacheStats& out) noexcept {
  const std::string& name = path.native();
  if (name.find('\0') != std::string::npos)
    return detail::invalid_argument("open", "path is empty or holds a NUL byte");
  return stats_of_name(name.c_str(), offset, length, out);
}

}  // namespace

PageCacheStats page_cache_stats(int fd, std::uint64_t offset, std::uint64_t length,
                                const std::string& label) {
  PageCacheStats out;
  if (const Failure f = stats_of(fd, offset, length, label.c_str(), out)) detail::raise(f, label);
  return out;
}

PageCacheStats page_cache_stats(int fd, std::uint64_t offset, std::uint64_t length,
                                std::error_code& ec) noexcept {
  PageCacheStats out;
  if (detail::report(stats_of(fd, offset, length, "", out), ec)) out = {};
  return out;
}

PageCacheStats page_cache_stats(const std::filesystem::path& path, std::uint64_t offset,
                                std::uint64_t length) {
  PageCacheStats out;
  if (const Failure f = stats_of_path(path, offset, length, out)) detail::raise(f, path.string());
  return out;
}

PageCacheStats page_cache_stats(const std::filesystem::path& path, std::uint64_t offset,
                                std::uint64_t length, std::error_code& ec) noexcept {
  PageCacheStats out;
  try {
    if (detail::report(stats_of_path(path, offset, length, out), ec)) out = {};
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    out = {};
  }
  return out;
}

PageCacheStats page_cache_stats(const char* path, std::uint64_t offset, std::uint64_t length) {
  PageCacheStats out;
  if (const Failure f = stats_of_name(path, offset, length, out))
    detail::raise(f, path ? path : "");
  return out;
}

PageCacheStats page_cache_stats(const char* path, std::uint64_t offset, std::uint64_t length,
                                std::error_code& ec) noexcept {
  PageCacheStats out;
  if (detail::report(stats_of_name(path, offset, length, out), ec)) out = {};
  return out;
}

}  // namespace mmapxx
