#include <cerrno>
#include <cstdint>
#include <string>

#include "mmapxx/atomic.hpp"
#include "mmapxx/error.hpp"

namespace mmapxx::detail {

void check_object_at(const std::byte* data, std::size_t bytes, std::size_t offset, std::size_t size,
                     std::size_t alignment) {
  if (offset > bytes || size > bytes - offset)
    raise(invalid_argument("object_at", "an object of " + std::to_string(size) +
                                            " bytes at offset " + std::to_string(offset) +
                                            " does not fit in " + std::to_string(bytes) + " bytes"),
          "");
  if (reinterpret_cast<std::uintptr_t>(data + offset) % alignment != 0)
    raise(invalid_argument("object_at", "offset " + std::to_string(offset) + " is not aligned to " +
                                            std::to_string(alignment) + " bytes"),
          "");
}

}  // namespace mmapxx::detail
