// The page size, asked of the kernel once (include/mmapxx/page.hpp).
#include <unistd.h>

#include "mmapxx/page.hpp"

namespace mmapxx::detail {

std::size_t query_page_size() noexcept {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace mmapxx::detail
