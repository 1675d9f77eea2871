#include "page_cache.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "mmapxx/fault.hpp"
#include "mmapxx/page.hpp"
#include "tool_main.hpp"

namespace mmtools {

void evict(int fd, const std::string& name) {
  // A read-only descriptor may still fdatasync; EINVAL means the file cannot be synced at all.
  if (::fdatasync(fd) != 0 && errno != EINVAL && errno != EROFS)
    fail_errno(name + ": fdatasync", errno);
  if (const int error = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
    fail_errno(name + ": posix_fadvise", error);
}

void touch(const ReadMap& map, const std::string& name) {
  if (map.empty()) return;
  std::error_code ec;
  map.advise(mmapxx::Advice::PopulateRead, 0, mmapxx::whole, ec);
  if (!ec) return;
  if (ec == std::errc::bad_address) {
    // The kernel reports where an access would have raised SIGBUS; the new size says where.
    struct stat st {};
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    const bool known = fd >= 0 && ::fstat(fd, &st) == 0;
    if (fd >= 0) ::close(fd);
    fail_truncated(name, known ? static_cast<std::uint64_t>(st.st_size) : 0,
                   "MADV_POPULATE_READ: EFAULT");
  }
  if (ec != std::errc::invalid_argument) throw mmapxx::Error("madvise", name, ec);
  // Before Linux 5.14: one load per page, each of which may fault if the file shrinks.
  try {
    mmapxx::guarded([&] {
      const std::size_t step = mmapxx::page_size();
      for (std::size_t i = 0; i < map.size(); i += step)
        static_cast<void>(*static_cast<const volatile std::byte*>(map.data() + i));
    });
  } catch (const mmapxx::FaultError& e) {
    fail_truncated(name, e.file_offset(), e.signal() == SIGBUS ? "SIGBUS" : "SIGSEGV");
  }
}

FileResidency measure(const ReadMap& map, const std::string& name, std::uint64_t size) {
  FileResidency result;
  result.path = name;
  result.size = size;
  if (map.empty()) return result;
  mmapxx::Residency residency = map.residency();
  result.pages = std::move(residency.pages);
  result.resident = residency.resident;
  result.resident_bytes = static_cast<std::uint64_t>(result.resident) * mmapxx::page_size();
  const std::uint64_t tail = result.pages.size() * mmapxx::page_size() - size;
  if (result.pages.back()) result.resident_bytes -= tail;
  return result;
}

}  // namespace mmtools
