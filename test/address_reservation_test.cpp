// AddressReservation: reserved address space, views placed inside it (files, shared memory,
// sealed memfds, anonymous memory), their return to reserved state, and mapping at a chosen
// address with MAP_FIXED_NOREPLACE.
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/reservation.hpp"
#include "mmapxx/shared_memory.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::mapping_count;
using mmapxx::test::protection_at;

namespace {

std::error_code code_of(const std::function<void()>& call, std::string* what = nullptr) {
  try {
    call();
  } catch (const Error& e) {
    if (what) *what = e.what();
    return e.code();
  }
  return {};
}

std::size_t rss_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("A 64 GiB reservation is cheap, PROT_NONE, and unmapped on destruction",
          "[address][reservation]") {
  const std::size_t maps_before = mapping_count();
  const std::size_t rss_before = rss_kib();
  std::byte* base = nullptr;
  {
    AddressReservation reservation(std::size_t{64} << 30);
    base = reservation.data();
    REQUIRE(base != nullptr);
    CHECK(reservation.size() == std::size_t{64} << 30);
    CHECK(reinterpret_cast<std::uintptr_t>(base) % page_size() == 0);
    CHECK(protection_at(base) == "---p");
    CHECK(protection_at(base + (std::size_t{64} << 30) - 1) == "---p");
    CHECK(reservation.contains(base + 5));
    CHECK(!reservation.contains(base + reservation.size()));
    CHECK(reservation.used() == 0);
    CHECK(rss_kib() < rss_before + 1024);  // no memory behind it
  }
  CHECK(protection_at(base) == "");
  CHECK(mapping_count() == maps_before);

  std::error_code ec;
  AddressReservation empty = AddressReservation::create(0, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(!empty);
  CHECK(code_of([] { AddressReservation(SIZE_MAX); }) == std::errc::invalid_argument);
  // More than the x86-64 user address space: ENOMEM from mmap, not a crash.
  AddressReservation::create(std::size_t{1} << 60, ec);
  CHECK(ec == std::errc::not_enough_memory);
}

TEST_CASE("A file mapped inside a reservation lands at the offset and goes back to reserved",
          "[address][reservation]") {
  test::TempDir dir;
  const std::string path = dir.file("data");
  test::write_file(path, test::pattern(3 * page_size() + 100));
  AddressReservation reservation(16 * page_size());
  std::byte* const at = reservation.data() + 4 * page_size();
  {
    MappedFile<Access::Read> file(path, {.placement = reservation.at(4 * page_size())});
    CHECK(file.data() == at);
    CHECK(file.size() == 3 * page_size() + 100);
    CHECK(std::memcmp(file.data(), test::pattern(file.size()).data(), file.size()) == 0);
    CHECK(protection_at(at) == "r--s");
    CHECK(reservation.used() == 4 * page_size());
    // Ordinary mapping calls act on it.
    file.advise(Advice::WillNeed);
    CHECK(file.residency().total() == 4);
    {
      auto guard = file.protect(Protection::None, 0, page_size());
      CHECK(protection_at(at) == "---s");
    }
    CHECK(protection_at(at) == "r--s");
  }
  // Back to reserved pages of the reservation, not unmapped.
  CHECK(protection_at(at) == "---p");
  CHECK(reservation.used() == 0);

  // An unaligned file offset: the view starts mid-page, the page lands at the offset.
  MappedFile<Access::Read> tail(path, {.offset = 100, .placement = reservation.at(0)});
  CHECK(tail.data() == reservation.data() + 100);
  CHECK(tail.data()[0] == std::byte(test::pattern(1, 100)[0]));
}

TEST_CASE("An empty view or region asked to be placed is refused, creating nothing",
          "[address][reservation]") {
  test::TempDir dir;
  AddressReservation reservation(16 * page_size());
  const std::string empty = dir.file("empty");
  test::write_file(empty, "");
  // Placed nowhere, it would grow outside the reservation later: refused at once instead.
  std::error_code ec;
  auto file = MappedFile<Access::Write>::open(empty, {.placement = reservation.at(0)}, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(file.fd() < 0);
  CHECK_THROWS_WITH(MappedFile<Access::Read>(empty, {.length = 0, .placement = reservation.at(0)}),
                    Catch::Contains("an empty view cannot be placed"));
  // A file the call would create empty is refused and not left behind.
  const std::string fresh = dir.file("fresh");
  CHECK_THROWS_AS(MappedFile<Access::Write>(
                      fresh, {.creation = Creation::CreateNew, .placement = reservation.at(0)}),
                  Error);
  CHECK_FALSE(std::filesystem::exists(fresh));
  CHECK_THROWS_WITH(AnonymousRegion(0, {.placement = reservation.at(0)}),
                    Catch::Contains("an empty region cannot be placed"));
  CHECK(reservation.used() == 0);
  // With a byte it is placed, and grows in place.
  test::write_file(empty, "x");
  MappedFile<Access::Write> placed(empty, {.placement = reservation.at(0)});
  CHECK(placed.data() == reservation.data());
  placed.resize(2 * page_size());
  CHECK(placed.data() == reservation.data());
}

TEST_CASE("Views inside a reservation never overlap, stay inside, and fail leaving nothing",
          "[address][reservation]") {
  AddressReservation reservation(8 * page_size());
  AnonymousRegion a(2 * page_size(), {.placement = reservation.at(2 * page_size())});
  CHECK(a.data() == reservation.data() + 2 * page_size());
  const std::size_t maps = mapping_count();

  std::string what;
  CHECK(
      code_of([&] { AnonymousRegion(page_size(), {.placement = reservation.at(3 * page_size())}); },
              &what) == std::errc::file_exists);
  CHECK(what.find("overlaps a view at offset " + std::to_string(2 * page_size())) !=
        std::string::npos);
  CHECK(code_of([&] {
          AnonymousRegion(2 * page_size(), {.placement = reservation.at(page_size())});
        }) == std::errc::file_exists);
  CHECK(
      code_of(
          [&] { AnonymousRegion(2 * page_size(), {.placement = reservation.at(7 * page_size())}); },
          &what) == std::errc::not_enough_memory);
  CHECK(what.find("runs past its end") != std::string::npos);
  CHECK(code_of([&] { AnonymousRegion(page_size(), {.placement = reservation.at(100)}); }) ==
        std::errc::invalid_argument);
  AnonymousOptions both{.placement = reservation.at(0)};
  both.placement.address = reservation.data();
  CHECK(code_of([&] { AnonymousRegion(page_size(), both); }) == std::errc::invalid_argument);
  std::error_code ec;
  AnonymousRegion::create(page_size(), {.placement = reservation.at(2 * page_size())}, ec);
  CHECK(ec == std::errc::file_exists);
  CHECK(mapping_count() == maps);
  CHECK(reservation.used() == 2 * page_size());

  // Neighbours on both sides fit exactly.
  AnonymousRegion before(2 * page_size(), {.placement = reservation.at(0)});
  AnonymousRegion after(4 * page_size(), {.placement = reservation.at(4 * page_size())});
  CHECK(reservation.used() == 8 * page_size());
  std::memset(before.data(), 1, before.size());
  std::memset(after.data(), 2, after.size());
  CHECK(a.data()[0] == std::byte{0});
}

TEST_CASE("SharedMemoryObject, SealedMemory and shared anonymous memory map inside a reservation",
          "[address][reservation]") {
  AddressReservation reservation(std::size_t{1} << 30);
  SharedMemoryObject object =
      SharedMemoryObject::create("/mmapxx-test-" + std::to_string(::getpid()) + "-reserve");
  object.set_remove_on_destroy(true);
  object.resize(2 * page_size());
  SealedMemory sealed("reserve", page_size());
  auto first = object.map<Access::Write>({.placement = reservation.at(0)});
  auto second = sealed.map<Access::Write>({.placement = reservation.at(1 << 20)});
  AnonymousRegion shared(page_size(), {.shared = true, .placement = reservation.at(2 << 20)});
  CHECK(first.data() == reservation.data());
  CHECK(second.data() == reservation.data() + (1 << 20));
  CHECK(shared.data() == reservation.data() + (2 << 20));
  first[0] = std::byte{7};
  first.flush();
  auto again = object.map<Access::Read>();
  CHECK(again[0] == std::byte{7});
}

TEST_CASE("A view may outlive its reservation: the range stays reserved until the view dies",
          "[address][reservation]") {
  const std::size_t maps = mapping_count();
  AnonymousRegion region;
  std::byte* base = nullptr;
  {
    AddressReservation reservation(4 * page_size());
    base = reservation.data();
    region = AnonymousRegion(page_size(), {.placement = reservation.at(page_size())});
  }
  region[0] = std::byte{3};
  CHECK(protection_at(base) == "---p");  // still ours: nobody else can map there
  region = AnonymousRegion();
  CHECK(protection_at(base) == "");
  CHECK(protection_at(base + page_size()) == "");
  CHECK(mapping_count() == maps);
}

TEST_CASE("Moving a reservation keeps its range; assignment releases the old one",
          "[address][reservation]") {
  AddressReservation a(4 * page_size());
  std::byte* base = a.data();
  AddressReservation b(std::move(a));
  CHECK(!a);
  CHECK(b.data() == base);
  b = AddressReservation(page_size());
  CHECK(protection_at(base) == "");
}

TEST_CASE("MAP_FIXED_NOREPLACE: mapping at a taken address is EEXIST naming it, a free one works",
          "[address][noreplace]") {
  AnonymousRegion taken(2 * page_size());
  std::string what;
  const std::size_t maps = mapping_count();
  CHECK(code_of(
            [&] {
              AnonymousRegion(page_size(), {.placement = {.address = taken.data() + page_size()}});
            },
            &what) == std::errc::file_exists);
  char text[32];
  std::snprintf(text, sizeof text, "%p", static_cast<void*>(taken.data() + page_size()));
  CHECK(what.find(text) != std::string::npos);
  CHECK(what.find("already mapped") != std::string::npos);
  CHECK(mapping_count() == maps);
  taken[0] = std::byte{1};  // untouched

  // A free address: reserve, release, then map there exactly.
  void* free_address = nullptr;
  {
    AddressReservation probe(4 * page_size());
    free_address = probe.data() + page_size();
  }
  test::TempDir dir;
  test::write_file(dir.file("f"), test::pattern(100));
  MappedFile<Access::Read> file(dir.file("f"), {.placement = {.address = free_address}});
  CHECK(file.data() == free_address);
  CHECK(file[0] == std::byte{'a'});
  CHECK(code_of([&] {
          MappedFile<Access::Read>(
              dir.file("f"), {.placement = {.address = static_cast<std::byte*>(free_address) + 1}});
        }) == std::errc::invalid_argument);
}

TEST_CASE("Views in a reservation up to vm.max_map_count: a clear ENOMEM, nothing left behind",
          "[address][reservation][limits]") {
  std::size_t max_map_count = 0;
  std::ifstream("/proc/sys/vm/max_map_count") >> max_map_count;
  if (max_map_count == 0 || max_map_count > 200000) {
    WARN("skipped: vm.max_map_count is " << max_map_count << ", too large to reach here");
    return;
  }
  const std::size_t maps = mapping_count();
  // Every view sits between two reserved gaps, so each one adds two VMAs.
  AddressReservation reservation(2 * (max_map_count + 16) * page_size());
  std::vector<AnonymousRegion> views;
  views.reserve(max_map_count);
  std::error_code ec;
  for (std::size_t i = 0; i < max_map_count; ++i) {
    AnonymousRegion view = AnonymousRegion::create(
        page_size(), {.placement = reservation.at((2 * i + 1) * page_size())}, ec);
    if (ec) break;
    views.push_back(std::move(view));
  }
  CHECK(ec == std::errc::not_enough_memory);
  CHECK(views.size() > max_map_count / 2 - 64);
  CHECK(reservation.used() == views.size() * page_size());  // the failed one left no claim
  std::string what;
  CHECK(code_of(
            [&] {
              AnonymousRegion(page_size(),
                              {.placement = reservation.at((2 * views.size() + 1) * page_size())});
            },
            &what) == std::errc::not_enough_memory);
  CHECK(what.find("vm.max_map_count") != std::string::npos);
  std::vector<AnonymousRegion>().swap(views);  // also frees the vector's own mmap'd storage
  CHECK(reservation.used() == 0);
  CHECK(protection_at(reservation.data() + page_size()) == "---p");
  const std::byte* base = reservation.data();
  const std::size_t size = reservation.size();
  reservation = AddressReservation();
  CHECK(protection_at(base) == "");
  CHECK(protection_at(base + size / 2) == "");
  CHECK(protection_at(base + size - 1) == "");
  // The fault registry grew to hold ~32,000 views: tables of 8,192 to 131,072 slots, which stay
  // mapped (a signal handler may still be reading an old one). They merge into one area when they
  // happen to be adjacent, which depends on where the allocator put the vector: up to five.
  CHECK(mapping_count() <= maps + 5);
}
