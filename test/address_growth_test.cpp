// Growth in place: a MappedFile<Access::Write> or a private AnonymousRegion placed inside an
// AddressReservation grows with resize() without ever moving, until the reservation runs out.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/reservation.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::protection_at;

namespace {

// A file of `size` bytes under /var/tmp (a real disk: no tmpfs memory is used by the growth).
std::string make_file(const test::TempDir& dir, std::size_t size) {
  const std::string path = dir.file("log");
  test::write_file(path, std::string(size, 'x'));
  return path;
}

}  // namespace

TEST_CASE("A file view in a reservation keeps its address across 1,000 growths to 1 GiB",
          "[address][growth]") {
  test::TempDir dir("/var/tmp");
  const std::string path = make_file(dir, page_size());
  constexpr std::size_t limit = std::size_t{1} << 30;
  AddressReservation reservation(limit);
  MappedFile<Access::Write> file(path, {.placement = reservation.at(0)});
  std::byte* const first = file.data();
  REQUIRE(first == reservation.data());
  std::memcpy(first, "head", 4);
  // A reader's pointer into the view, taken once, checked after every growth.
  const volatile char* reader = reinterpret_cast<const char*>(first);

  const std::size_t pages = limit / page_size();
  std::size_t size = page_size();
  for (int step = 1; step <= 1000; ++step) {
    // Sizes rise to exactly 1 GiB at step 1,000, in page multiples.
    const std::size_t target = page_size() * (1 + (pages - 1) * step / 1000);
    if (target == size) continue;
    file.resize(target);
    size = target;
    REQUIRE(file.data() == first);
    REQUIRE(reader[0] == 'h');
    // The newest page is mapped, writable, and in the file.
    file.data()[size - 1] = std::byte{static_cast<unsigned char>(step)};
  }
  REQUIRE(file.size() == limit);
  CHECK(std::filesystem::file_size(path) == limit);
  CHECK((reader[0] == 'h' && reader[1] == 'e' && reader[2] == 'a' && reader[3] == 'd'));
  CHECK(protection_at(first + limit - 1) == "rw-s");
  CHECK(reservation.used() == limit);

  // Shrinking gives pages back to the reservation, still without moving.
  file.resize(page_size());
  CHECK(file.data() == first);
  CHECK(protection_at(first + page_size()) == "---p");
  CHECK(reservation.used() == page_size());
}

TEST_CASE("Growth past the reservation is a clear ENOMEM and leaves view and file unchanged",
          "[address][growth]") {
  test::TempDir dir("/var/tmp");
  const std::string path = make_file(dir, page_size());
  AddressReservation reservation(4 * page_size());
  MappedFile<Access::Write> file(path, {.placement = reservation.at(page_size())});
  file.resize(3 * page_size());  // fills the reservation exactly
  std::byte* const first = file.data();
  try {
    file.resize(3 * page_size() + 1);
    FAIL("resize past the reservation succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == std::errc::not_enough_memory);
    CHECK(std::string(e.what()).find("the reservation is exhausted") != std::string::npos);
    CHECK(e.path() == path);
  }
  CHECK(file.data() == first);
  CHECK(file.size() == 3 * page_size());
  CHECK(std::filesystem::file_size(path) == 3 * page_size());  // the growth was undone
  std::error_code ec;
  file.resize(8 * page_size(), ec);
  CHECK(ec == std::errc::not_enough_memory);

  // A neighbour blocks growth the same way, with EEXIST naming it.
  AnonymousRegion blocker(page_size(), {.placement = reservation.at(0)});
  MappedFile<Access::Write> small;
  file = MappedFile<Access::Write>();
  small = MappedFile<Access::Write>(
      path, {.length = page_size(), .placement = reservation.at(2 * page_size())});
  AnonymousRegion wall(page_size(), {.placement = reservation.at(3 * page_size())});
  small.resize(2 * page_size(), ec);
  CHECK(ec == std::errc::file_exists);
  CHECK(small.size() == page_size());
}

TEST_CASE("A private anonymous region in a reservation grows in place keeping its contents",
          "[address][growth]") {
  AddressReservation reservation(std::size_t{64} << 20);
  AnonymousRegion region(page_size(), {.placement = reservation.at(0)});
  std::byte* const first = region.data();
  region[0] = std::byte{42};
  for (std::size_t size = 2 * page_size(); size <= (std::size_t{64} << 20); size *= 2) {
    region.resize(size);
    REQUIRE(region.data() == first);
    REQUIRE(region[0] == std::byte{42});
    REQUIRE(region[size - 1] == std::byte{0});  // new pages are zero
    region[size - 1] = std::byte{1};
  }
  std::error_code ec;
  region.resize((std::size_t{64} << 20) + 1, ec);
  CHECK(ec == std::errc::not_enough_memory);
  CHECK(region.data() == first);
}

TEST_CASE("A /dev/zero-backed private region cannot grow in a reservation: ENOTSUP, unchanged",
          "[address][growth]") {
  AddressReservation reservation(4 * page_size());
  AnonymousRegion region(page_size(), {.dev_zero = true, .placement = reservation.at(0)});
  std::error_code ec;
  region.resize(2 * page_size(), ec);
  CHECK(ec == std::errc::not_supported);
  CHECK(region.data() == reservation.data());
  CHECK(region.size() == page_size());
  region.resize(0);  // shrinking to nothing gives the pages back
  CHECK(reservation.used() == 0);
}
