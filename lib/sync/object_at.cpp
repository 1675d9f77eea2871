// The checks behind object_at, atomic_at and SharedCounter (include/mmapxx/atomic.hpp).
#include <cerrno>
#include <cstdint>
#include <string>

#include "mmapxx/atomic.hpp"
#include "mmapxx/error.hpp"

namespace mmapxx::detail {

void check_object_at(const char* operation, const std::byte* data, std::size_t bytes,
                     std::size_t offset, std::size_t size, std::size_t alignment,
                     const char* label) {
  // Written as "size > bytes - offset" so that no sum can wrap past 2^64.
  if (offset > bytes || size > bytes - offset)
    raise(invalid_argument(operation,
                           "an object of %zu bytes at offset %zu does not fit in %zu bytes", size,
                           offset, bytes),
          label ? label : "");
  if (reinterpret_cast<std::uintptr_t>(data + offset) % alignment != 0)
    raise(invalid_argument(operation, "offset %zu is not aligned to %zu bytes", offset, alignment),
          label ? label : "");
}

}  // namespace mmapxx::detail
