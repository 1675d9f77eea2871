// Sizes and offsets near 2^64: every page-level call and every anonymous size is an
// invalid_argument error before any syscall, never a wrapped range.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;

namespace {

std::vector<std::size_t> near_2_64() {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::size_t p = page_size();
  return {max,
          max - 1,
          max - p + 1,
          max - p,
          max - 2 * p,
          std::size_t{1} << 63,
          (std::size_t{1} << 63) + 1,
          (std::size_t{1} << 63) - 1,
          (std::size_t{1} << 63) - p + 1};
}

}  // namespace

TEST_CASE("Page-level calls refuse offsets and lengths near 2^64 before any syscall") {
  test::TempDir dir;
  const std::string path = dir.file("f");
  test::write_file(path, test::pattern(3 * page_size()));
  MappedFile<Access::Write> file(path);
  const std::size_t size = file.size();
  // One throw first: under ASan, a thread's first exception maps a page for the sanitizer's own
  // record of dynamic TLS (__cxa_get_globals), which is not the library's and would be counted.
  CHECK_THROWS_AS(file.advise(Advice::WillNeed, size + 1, 1), Error);
  const std::size_t maps = test::mapping_count();

  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (std::size_t v : near_2_64()) {
    ranges.push_back({v, 1});
    ranges.push_back({1, v});
    ranges.push_back({v, v});
    ranges.push_back({page_size(), v});
    ranges.push_back({size, v});
    ranges.push_back({v, whole});
    ranges.push_back({size - 1, v - (size - 2)});  // offset + length wraps to a small number
  }
  for (const auto& [offset, length] : ranges) {
    INFO("offset " << offset << ", length " << length);
    if (length == whole && offset <= size) continue;  // "to the end": a valid range
    const auto refused = [&](auto call) {
      std::error_code ec;
      call(ec);
      return ec == std::errc::invalid_argument;
    };
    CHECK(refused([&](std::error_code& ec) { file.advise(Advice::WillNeed, offset, length, ec); }));
    CHECK(refused([&](std::error_code& ec) {
      file.advise_unchecked(UncheckedAdvice::DontNeed, offset, length, ec);
    }));
    CHECK(refused([&](std::error_code& ec) { file.lock(offset, length, ec); }));
    CHECK(refused([&](std::error_code& ec) { file.unlock(offset, length, ec); }));
    CHECK(refused([&](std::error_code& ec) { file.residency(offset, length, ec); }));
    CHECK(refused([&](std::error_code& ec) {
      ProtectionGuard g = file.protect(Protection::Read, offset, length, ec);
    }));
    CHECK(refused(
        [&](std::error_code& ec) { file.set_protection(Protection::Read, offset, length, ec); }));
    CHECK(refused([&](std::error_code& ec) { file.flush(SyncPolicy::Sync, offset, length, ec); }));
    CHECK_THROWS_AS(file.advise(Advice::WillNeed, offset, length), Error);
  }
  CHECK(test::mapping_count() == maps);
  CHECK(test::read_file(path) == test::pattern(3 * page_size()));
  CHECK(file.protection_at(0) == (Protection::Read | Protection::Write));
}

TEST_CASE("AnonymousRegion sizes and resizes near 2^64 are errors, never a wrapped size") {
  const std::size_t maps = test::mapping_count();
  for (std::size_t v : near_2_64()) {
    INFO("size " << v);
    std::error_code ec;
    AnonymousRegion made = AnonymousRegion::create(v, {}, ec);
    CHECK(ec);
    CHECK(made.empty());
    CHECK_THROWS_AS(AnonymousRegion(v), Error);
    for (const bool shared : {false, true}) {
      AnonymousRegion region(2 * page_size(), {.shared = shared});
      region[0] = std::byte{5};
      region.resize(v, ec);
      if (v > static_cast<std::size_t>(PTRDIFF_MAX)) {
        CHECK(ec == std::errc::invalid_argument);
      } else {
        CHECK(ec);  // larger than memory or address space: mremap refuses
      }
      CHECK(region.size() == 2 * page_size());
      CHECK(region[0] == std::byte{5});
    }
  }
  CHECK(test::mapping_count() == maps);
}
