// The exact what() of the error paths that format numbers (lib/mirror,
// lib/mapping/reservation.cpp): they are built with printf-style details that never allocate, and
// read as they always have.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/mirrored_buffer.hpp"
#include "mmapxx/page.hpp"
#include "mmapxx/reservation.hpp"
#include "mmapxx/spsc_queue.hpp"
#include "support.hpp"

using namespace mmapxx;

namespace {

using test::what_of;

std::string n(std::uint64_t value) {
  return std::to_string(value);
}

}  // namespace

TEST_CASE("Mirror and queue errors name the numbers exactly", "[address][messages]") {
  const std::size_t page = page_size();
  CHECK(what_of([&] { MirroredBuffer(page + 1, "m"); }) ==
        "mirror: m: Invalid argument (size " + n(page + 1) +
            " is not a non-zero multiple of the page size " + n(page) + ")");
  SealedMemory memory("mirrored", 4 * page);
  CHECK(what_of([&] { MirroredBuffer(memory, 7, page); }) ==
        "mirror: mirrored: Invalid argument (offset 7 is not a page multiple)");
  CHECK(what_of([&] { SpscQueue(3 * page + 5); }) ==
        "spsc queue: spsc queue: Invalid argument (capacity " + n(3 * page + 5) +
            " is not a non-zero multiple of the page size " + n(page) + ")");
  CHECK(what_of([&] { SpscQueue::attach(SealedMemory("small", page)); }) ==
        "spsc queue: small: Invalid argument (not an mmapxx queue: " + n(page) + " bytes)");
  CHECK(what_of([&] { SpscQueue::attach(SealedMemory("plain", 4 * page)); }) ==
        "spsc queue: plain: Invalid argument (not an mmapxx queue (no control page for " +
            n(3 * page) + " bytes))");

  SpscQueue queue(page);
  const char bytes[3] = {'a', 'b', 'c'};
  REQUIRE(queue.write(std::as_bytes(std::span(bytes))) == 3);
  CHECK(what_of([&] { queue.commit(page); }) == "commit: mmapxx-spsc: Invalid argument (commit(" +
                                                    n(page) + ") exceeds the free space " +
                                                    n(page - 3) + ")");
  CHECK(what_of([&] { queue.consume(4); }) ==
        "consume: mmapxx-spsc: Invalid argument (consume(4) exceeds the readable bytes 3)");
}

TEST_CASE("Reservation errors name the range, the reservation and its size exactly",
          "[address][reservation][messages]") {
  const std::size_t page = page_size();
  CHECK(what_of([] { AddressReservation(0); }) ==
        "mmap: reservation: Invalid argument (cannot reserve 0 bytes)");
  CHECK(what_of([] { AddressReservation(SIZE_MAX); }) ==
        "mmap: reservation: Invalid argument (cannot reserve 18446744073709551615 bytes)");

  AddressReservation reservation(8 * page);
  AnonymousRegion view(2 * page, {.placement = reservation.at(2 * page)});
  char base[32];
  std::snprintf(base, sizeof base, "%p", static_cast<void*>(reservation.data()));
  const auto range = [&](std::size_t offset, std::size_t length) {
    return "[" + n(offset) + ", " + n(offset + length) + ") of the reservation at " + base + " (" +
           n(8 * page) + " bytes)";
  };
  CHECK(what_of([&] { AnonymousRegion(2 * page, {.placement = reservation.at(page)}); }) ==
        "mmap: anonymous memory: File exists (" + range(page, 2 * page) +
            " overlaps a view at offset " + n(2 * page) + ")");
  CHECK(what_of([&] { AnonymousRegion(page, {.placement = reservation.at(3 * page)}); }) ==
        "mmap: anonymous memory: File exists (" + range(3 * page, page) +
            " overlaps a view at offset " + n(2 * page) + ")");
  CHECK(what_of([&] { AnonymousRegion(4 * page, {.placement = reservation.at(6 * page)}); }) ==
        "mmap: anonymous memory: Cannot allocate memory (the reservation is exhausted: " +
            range(6 * page, 4 * page) + " runs past its end)");
  CHECK(what_of([&] { AnonymousRegion(page, {.placement = reservation.at(5)}); }) ==
        "mmap: anonymous memory: Invalid argument (offset 5 into the reservation is not a page "
        "multiple)");
}
