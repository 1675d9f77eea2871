#include <catch2/catch.hpp>

#include <unistd.h>

#include "mmapxx/page.hpp"

using namespace mmapxx;

TEST_CASE("page_size is the system's and cached") {
  CHECK(page_size() == static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)));
  CHECK(&page_size == &page_size);
  CHECK(page_size() == page_size());
}

TEST_CASE("alignment helpers are constexpr and exact") {
  static_assert(align_down(4097u, 4096u) == 4096u);
  static_assert(align_up(4097u, 4096u) == 8192u);
  static_assert(align_up(4096u, 4096u) == 4096u);
  static_assert(align_up(0u, 4096u) == 0u);
  static_assert(is_aligned(8192u, 4096u) && !is_aligned(8191u, 4096u));
  const std::uint64_t big = (std::uint64_t{5} << 30) + 1;
  CHECK(align_down(big, std::uint64_t{4096}) == std::uint64_t{5} << 30);
  CHECK(align_up(big, std::uint64_t{4096}) == (std::uint64_t{5} << 30) + 4096);
  CHECK(is_aligned(std::size_t{0}, page_size()));
}
