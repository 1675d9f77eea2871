#include "extents.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tool_main.hpp"

namespace mmtools {

void for_each_data_extent(int fd, const std::string& name, std::uint64_t size,
                          const std::function<void(std::uint64_t, std::uint64_t)>& visit) {
  std::uint64_t pos = 0;
  while (pos < size) {
    const off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0 && errno == ENXIO) return;  // only a hole is left (or the file shrank)
    if (data < 0 && errno == EINVAL) {       // no SEEK_DATA here: all of it is data
      visit(pos, size - pos);
      return;
    }
    if (data < 0) fail_errno(name + ": lseek", errno);
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 && errno == ENXIO) return;
    if (hole < 0) fail_errno(name + ": lseek", errno);
    const auto begin = static_cast<std::uint64_t>(data);
    const auto end = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), size);
    if (begin >= end) return;
    visit(begin, end - begin);
    pos = end;
  }
}

}  // namespace mmtools
