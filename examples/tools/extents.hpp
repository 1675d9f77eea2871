// The data extents of a sparse file, found with lseek(SEEK_DATA/SEEK_HOLE), so a copy reads and
// writes only data and leaves the holes as holes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace mmtools {

// Calls visit(offset, length) for each data extent within [begin, end), in order. A filesystem
// that cannot tell holes apart reports the whole range as one extent.
void for_each_data_extent(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
                          const std::function<void(std::uint64_t, std::uint64_t)>& visit);

}  // namespace mmtools
