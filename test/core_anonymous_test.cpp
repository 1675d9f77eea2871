// AnonymousRegion: private, shared across fork, /dev/zero-backed; exact sizes; resize.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;

TEST_CASE("size() is the size asked for; capacity() the whole pages; memory starts zeroed") {
  AnonymousRegion region(page_size() + 1);
  CHECK(region.size() == page_size() + 1);
  CHECK(region.capacity() == 2 * page_size());
  AnonymousRegion small(128);
  CHECK(small.size() == 128);
  CHECK(small.bytes().size() == 128);
  CHECK(small.capacity() == page_size());
  CHECK(small.residency().total() == 1);
  CHECK(is_aligned(reinterpret_cast<std::uintptr_t>(region.data()), std::uintptr_t{page_size()}));
  CHECK(std::all_of(region.begin(), region.end(), [](std::byte b) { return b == std::byte{0}; }));
  CHECK(test::protection_at(region.data()) == "rw-p");
  AnonymousRegion empty(0);
  CHECK(empty.empty());
  CHECK(empty.data() == nullptr);
  CHECK(empty.capacity() == 0);
}

TEST_CASE("Private memory is copied on fork, shared memory is shared") {
  for (const bool dev_zero : {false, true}) {
    INFO("dev_zero " << dev_zero);
    AnonymousRegion shared(page_size(), {.shared = true, .dev_zero = dev_zero});
    AnonymousRegion priv(page_size(), {.shared = false, .dev_zero = dev_zero});
    CHECK(shared.shared());
    CHECK(test::protection_at(shared.data()) == "rw-s");
    std::memcpy(shared.data(), "parent", 7);
    std::memcpy(priv.data(), "parent", 7);
    const int status = test::run_in_child([&] {
      if (std::strcmp(reinterpret_cast<const char*>(shared.data()), "parent") != 0) return 3;
      std::memcpy(shared.data(), "child!", 7);
      std::memcpy(priv.data(), "child!", 7);
      return 0;
    });
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK(std::strcmp(reinterpret_cast<const char*>(shared.data()), "child!") == 0);
    CHECK(std::strcmp(reinterpret_cast<const char*>(priv.data()), "parent") == 0);
  }
}

TEST_CASE("The /dev/zero variant keeps no descriptor open") {
  const std::size_t fds = test::open_fd_count();
  AnonymousRegion region(page_size(), {.shared = true, .dev_zero = true});
  CHECK(test::open_fd_count() == fds);
  CHECK(std::string(region.label()) == "/dev/zero");
}

TEST_CASE("Private anonymous regions resize with mremap, keeping contents") {
  {
    AnonymousRegion region(page_size());
    std::memcpy(region.data(), "keep me", 8);
    region.resize(64 * page_size() + 5);
    CHECK(region.size() == 64 * page_size() + 5);
    CHECK(region.capacity() == 65 * page_size());
    CHECK(std::strcmp(reinterpret_cast<const char*>(region.data()), "keep me") == 0);
    CHECK(region[64 * page_size()] == std::byte{0});
    region[64 * page_size()] = std::byte{1};
    region.resize(3);
    CHECK(region.size() == 3);
    CHECK(region.capacity() == page_size());
    region.resize(8);  // within the same page: the bytes past the old size read as zero
    CHECK(region.size() == 8);
    CHECK(std::memcmp(region.data(), "kee\0\0\0\0\0", 8) == 0);
    region.resize(0);
    CHECK(region.empty());
    CHECK(region.capacity() == 0);
    region.resize(10);
    CHECK(region.size() == 10);
  }
}

TEST_CASE("Shared anonymous regions shrink but refuse to grow") {
  for (const bool dev_zero : {false, true}) {
    AnonymousRegion region(4 * page_size(), {.shared = true, .dev_zero = dev_zero});
    region[0] = std::byte{9};
    region.resize(2 * page_size());
    CHECK(region.size() == 2 * page_size());
    CHECK(region[0] == std::byte{9});
    std::error_code ec;
    region.resize(3 * page_size(), ec);
    CHECK(ec == std::errc::not_supported);
    CHECK(region.size() == 2 * page_size());
    CHECK_THROWS_WITH(region.resize(8 * page_size()), Catch::Contains("cannot grow"));
    region.resize(page_size() + 1);
    CHECK(region.size() == page_size() + 1);
    region.resize(2 * page_size());  // back up to the capacity: still the same shared pages
    CHECK(region.size() == 2 * page_size());
    CHECK(region[0] == std::byte{9});
  }
}

TEST_CASE("Populate and lock make anonymous pages resident at once") {
  AnonymousRegion lazy(16 * page_size());
  CHECK(lazy.residency().resident == 0);
  AnonymousRegion populated(16 * page_size(), {.populate = true});
  CHECK(populated.residency().resident == 16);
  AnonymousRegion locked(4 * page_size(), {.locked = true});
  if (test::mlock_is_real) CHECK(locked.residency().resident == 4);
  AnonymousRegion huge(4u << 20, {.huge_pages = HugePages::Transparent, .no_reserve = true});
  CHECK(huge.size() == 4u << 20);
}

namespace {
// AnonHugePages (kB) of the /proc/self/smaps entry that contains `address`.
std::size_t anon_huge_kb(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    const auto dash = line.find('-');
    if (dash != std::string::npos && dash < 17 && line.find(' ') > dash) {
      const auto lo = std::stoull(line.substr(0, dash), nullptr, 16);
      const auto hi = std::stoull(line.substr(dash + 1), nullptr, 16);
      inside = a >= lo && a < hi;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stoull(line.substr(14));
    }
  }
  return 0;
}
}  // namespace

TEST_CASE("Populate after transparent huge-page advice faults in huge pages") {
  if (test::read_file("/sys/kernel/mm/transparent_hugepage/enabled").find("[never]") !=
      std::string::npos)
    return;  // THP is off on this machine: nothing to observe
  AnonymousRegion huge(16u << 20, {.populate = true, .huge_pages = HugePages::Transparent});
  CHECK(huge.residency().resident == huge.size() / page_size());
  CHECK(anon_huge_kb(huge.data()) >= 2048);
  AnonymousRegion small(16u << 20, {.populate = true, .huge_pages = HugePages::None});
  CHECK(small.residency().resident == small.size() / page_size());
}

namespace {
std::size_t huge_pages_free() {
  const std::string meminfo = test::read_file("/proc/meminfo");
  const auto at = meminfo.find("HugePages_Free:");
  return at == std::string::npos ? 0 : std::stoull(meminfo.substr(at + 15));
}
}  // namespace

TEST_CASE("Explicit huge pages with no_reserve or populate fail at once when none are free",
          "[no-valgrind]") {
  if (huge_pages_free() != 0 || test::read_file("/proc/sys/vm/nr_hugepages") != "0\n") {
    std::puts("skipped: huge pages are reserved here; this test needs none (nr_hugepages = 0)");
    return;
  }
  const std::size_t maps = test::mapping_count();
  const AnonymousOptions cases[] = {
      {.huge_pages = HugePages::Explicit, .no_reserve = true},
      {.populate = true, .huge_pages = HugePages::Explicit, .no_reserve = true},
      {.populate = true, .huge_pages = HugePages::Explicit},
      {.huge_pages = HugePages::Explicit},
  };
  for (const AnonymousOptions& options : cases) {
    INFO("populate " << options.populate << ", no_reserve " << options.no_reserve);
    try {
      AnonymousRegion region(4u << 20, options);
      FAIL("mapped huge pages that are not there; touching them would raise SIGBUS");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("/proc/sys/vm/nr_hugepages") != std::string::npos);
    }
    std::error_code ec;
    AnonymousRegion region = AnonymousRegion::create(4u << 20, options, ec);
    CHECK(ec);
    CHECK(region.empty());
  }
  // no_reserve alone is refused before any syscall: nothing could make a later touch safe.
  std::error_code ec;
  AnonymousRegion::create(4u << 20, cases[0], ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(test::mapping_count() == maps);
}
