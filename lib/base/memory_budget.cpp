// The memory budget check behind MemoryObject::resize and MappedFile growth on tmpfs
// (include/mmapxx/memory_object.hpp, mapped_file.hpp).
#include "base/memory_budget.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fd.hpp"

namespace mmapxx::detail {

namespace {

constexpr std::uint64_t unlimited = UINT64_MAX;

unsigned long long ull(std::uint64_t value) noexcept {
  return value;
}

// Reads a whole small file into `buffer` (NUL-terminated); false when it cannot be read.
bool read_small(const char* path, char* buffer, std::size_t capacity) noexcept {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::size_t used = 0;
  while (used + 1 < capacity) {
    const ssize_t n = ::read(fd, buffer + used, capacity - 1 - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<std::size_t>(n);
  }
  close_fd(fd);
  buffer[used] = '\0';
  return used > 0;
}

// The number after "key" at the start of a line of `text` ("key 123" or "key: 123 kB").
bool field(const char* text, const char* key, std::uint64_t& out) noexcept {
  const std::size_t length = std::strlen(key);
  for (const char* line = text; line && *line; line = std::strchr(line, '\n')) {
    if (*line == '\n') ++line;
    if (std::strncmp(line, key, length) == 0 && (line[length] == ' ' || line[length] == ':')) {
      out = std::strtoull(line + length + 1 + (line[length] == ':'), nullptr, 10);
      return true;
    }
  }
  return false;
}

bool read_number(const char* path, std::uint64_t& out) noexcept {
  char text[64];
  if (!read_small(path, text, sizeof text)) return false;
  if (std::strncmp(text, "max", 3) == 0) {  // cgroup v2: no limit
    out = unlimited;
    return true;
  }
  char* end = nullptr;
  errno = 0;
  out = std::strtoull(text, &end, 10);
  return end != text && errno == 0;
}

struct Room {
  std::uint64_t bytes = unlimited;
  std::uint64_t limit = 0;
  std::uint64_t usage = 0;
  std::uint64_t reclaimable = 0;
  char where[512] = {};  // the cgroup directory that gave the least room
  const char* limit_file = nullptr;
};

// cgroup v1 shows "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 with 4 KiB pages),
// v2 as "max" (read as UINT64_MAX): anything from 2^62 up is no limit.
constexpr std::uint64_t no_limit = std::uint64_t{1} << 62;

// The least room left for `bytes` more in the cgroup at `root` + `path` and every cgroup above
// it. memory.stat (costly: the kernel sums it over the subtree) is read only for a cgroup that
// would refuse without counting its page cache as room.
void walk_cgroups(const char* root, const char* path, bool v2, std::uint64_t bytes,
                  Room& room) noexcept {
  char directory[512];
  if (std::snprintf(directory, sizeof directory, "%s%s", root, path) >= int(sizeof directory))
    return;
  const char* limit_file = v2 ? "memory.max" : "memory.limit_in_bytes";
  const char* usage_file = v2 ? "memory.current" : "memory.usage_in_bytes";
  const std::size_t root_length = std::strlen(root);
  for (;;) {
    char file[600];
    std::uint64_t limit = 0;
    std::uint64_t usage = 0;
    std::snprintf(file, sizeof file, "%s/%s", directory, limit_file);
    if (!read_number(file, limit)) return;  // not this hierarchy, or not visible from here
    std::snprintf(file, sizeof file, "%s/%s", directory, usage_file);
    if (limit < no_limit && read_number(file, usage)) {
      std::uint64_t reclaimable = 0;
      if (bytes > (limit > usage ? limit - usage : 0)) {
        char stat[8192];
        std::snprintf(file, sizeof file, "%s/memory.stat", directory);
        if (read_small(file, stat, sizeof stat)) {
          std::uint64_t active = 0;
          std::uint64_t inactive = 0;
          field(stat, v2 ? "active_file" : "total_active_file", active);
          field(stat, v2 ? "inactive_file" : "total_inactive_file", inactive);
          reclaimable = active + inactive;
        }
      }
      const std::uint64_t used = usage > reclaimable ? usage - reclaimable : 0;
      const std::uint64_t left = limit > used ? limit - used : 0;
      if (left < room.bytes) {
        room.bytes = left;
        room.limit = limit;
        room.usage = usage;
        room.reclaimable = reclaimable;
        room.limit_file = limit_file;
        std::snprintf(room.where, sizeof room.where, "%s", directory);
      }
    }
    char* slash = std::strrchr(directory, '/');
    if (slash == nullptr || std::size_t(slash - directory) <= root_length) return;
    *slash = '\0';
  }
}

// Memory cgroups of this process, from /proc/self/cgroup ("id:controllers:path" per line).
void cgroup_room(std::uint64_t bytes, Room& room) noexcept {
  char text[4096];
  if (!read_small("/proc/self/cgroup", text, sizeof text)) return;
  for (char* line = text; line && *line;) {
    char* next = std::strchr(line, '\n');
    if (next) *next++ = '\0';
    char* first = std::strchr(line, ':');
    char* second = first ? std::strchr(first + 1, ':') : nullptr;
    if (second) {
      *second = '\0';
      const char* controllers = first + 1;
      const char* path = second + 1;
      const std::size_t n = std::strlen(controllers);
      bool memory = false;
      for (const char* c = controllers; c && *c; c = std::strchr(c, ',')) {
        if (*c == ',') ++c;
        if (std::strncmp(c, "memory", 6) == 0 && (c[6] == ',' || c[6] == '\0')) memory = true;
      }
      if (memory) walk_cgroups("/sys/fs/cgroup/memory", path, false, bytes, room);
      if (n == 0) {  // the v2 line: either the whole tree or the hybrid "unified" mount
        walk_cgroups("/sys/fs/cgroup", path, true, bytes, room);
        walk_cgroups("/sys/fs/cgroup/unified", path, true, bytes, room);
      }
    }
    line = next;
  }
}

// MemAvailable + SwapFree, in bytes. sysinfo(2) (a fraction of a microsecond) answers first
// when its free RAM + buffers + free swap, which counts no page cache and so never exceeds
// MemAvailable + SwapFree by much, already covers `bytes`; /proc/meminfo (tens of microseconds)
// only when it does not.
bool system_room(std::uint64_t bytes, std::uint64_t& out) noexcept {
  struct sysinfo info {};
  if (::sysinfo(&info) == 0) {
    out = (std::uint64_t(info.freeram) + info.bufferram + info.freeswap) * info.mem_unit;
    if (bytes <= out) return true;
  }
  char text[8192];
  std::uint64_t available = 0;
  std::uint64_t swap = 0;
  if (read_small("/proc/meminfo", text, sizeof text) && field(text, "MemAvailable", available)) {
    field(text, "SwapFree", swap);
    out = (available + swap) * 1024;  // meminfo counts in kB
    return true;
  }
  return info.mem_unit != 0;  // sysinfo's figure, when /proc is not mounted
}

}  // namespace

Failure check_memory_budget(const char* operation, std::uint64_t bytes) noexcept {
  if (bytes < unchecked_growth) return {};
  std::uint64_t system = unlimited;
  const bool known = system_room(bytes, system);
  Room room;
  if (!(known && bytes > system)) cgroup_room(bytes, room);
  if (!(known && bytes > system) && bytes <= room.bytes) return {};
  if (known && bytes > system)
    return make_failure(operation, ENOMEM,
                        "needs %llu more bytes of memory, MemAvailable+SwapFree is %llu "
                        "(/proc/meminfo)",
                        ull(bytes), ull(system));
  return make_failure(operation, ENOMEM,
                      "needs %llu more bytes of memory, memory cgroup %s has %llu left (%s=%llu, "
                      "usage %llu of which page cache %llu)",
                      ull(bytes), room.where, ull(room.bytes), room.limit_file, ull(room.limit),
                      ull(room.usage), ull(room.reclaimable));
}

Failure check_backing(const char* operation, int fd, std::uint64_t size) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return {};
  const auto allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
  if (size <= allocated || size - allocated < unchecked_growth) return {};
  struct statfs fs {};
  if (::fstatfs(fd, &fs) != 0 || fs.f_type != TMPFS_MAGIC) return {};
  return check_memory_budget(operation, size - allocated);
}

}  // namespace mmapxx::detail
