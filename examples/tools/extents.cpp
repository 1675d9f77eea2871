#include "extents.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "tool_main.hpp"

namespace mmtools {

void for_each_data_extent(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
                          const std::function<void(std::uint64_t, std::uint64_t)>& visit) {
  std::uint64_t pos = begin;
  while (pos < end) {
    const off_t data = ::lseek(fd, static_cast<off_t>(pos), SEEK_DATA);
    if (data < 0 && errno == ENXIO) return;  // only a hole is left (or the file shrank)
    if (data < 0 && errno == EINVAL) {       // no SEEK_DATA here: all of it is data
      visit(pos, end - pos);
      return;
    }
    if (data < 0) fail_errno(name + ": lseek", errno);
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0 && errno == ENXIO) return;
    if (hole < 0) fail_errno(name + ": lseek", errno);
    const auto first = static_cast<std::uint64_t>(data);
    const auto last = std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), end);
    if (first >= last) return;
    visit(first, last - first);
    pos = last;
  }
}

}  // namespace mmtools
