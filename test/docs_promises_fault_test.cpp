// What docs/faults.md and the fault/write_tracker headers promise, checked as a user would write
// it: the guarded() example over a file truncated under it, and WriteTracker's page numbering.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

#include "fault_support.hpp"
#include "support.hpp"

using namespace mmapxx;

TEST_CASE("docs: the guarded() example of docs/faults.md over a truncated log", "[docs]") {
  test::TempDir dir;
  const std::string path = dir.file("app.log");
  test::write_file(path, test::pattern(4 * page_size()));
  MappedFile<Access::Read> log(path);
  REQUIRE(::truncate(path.c_str(), 2 * page_size()) == 0);
  try {
    auto sum = guarded([&] {
      return std::accumulate(log.begin(), log.end(), 0u,
                             [](unsigned s, std::byte b) { return s + unsigned(b); });
    });
    FAIL("no fault, sum " << sum);
  } catch (const FaultError& e) {
    CHECK(e.signal() == SIGBUS);
    CHECK(e.code() == std::errc::bad_address);
    CHECK(e.mapping_label() == path);
    CHECK(e.file_offset() == 2 * page_size());
    CHECK(std::string(e.what()).rfind("SIGBUS: " + path + ": Bad address (address=0x", 0) == 0);
    CHECK(std::string(e.what()).find("file offset=" + std::to_string(2 * page_size()) +
                                     ", BUS_ADRERR)") != std::string::npos);
  }
  std::vector<std::byte> copy(log.size());
  CHECK(copy_from(log.bytes(), copy) == std::errc::bad_address);
  std::vector<std::byte> small(1);
  CHECK(copy_from(log.bytes(), small) == std::errc::invalid_argument);
}

TEST_CASE("docs: WriteTracker numbers pages from the one holding region.data()", "[docs]") {
  const std::size_t page = page_size();
  for (const WriteTracking how : {WriteTracking::Mprotect, WriteTracking::Automatic}) {
    AnonymousRegion region(4 * page);
    const std::span<std::byte> part = region.bytes().subspan(100, 2 * page);  // 3 pages
    WriteTracker tracker(part, Protection::Read | Protection::Write, how);
    CHECK(tracker.mechanism() != WriteTracking::Automatic);
    CHECK(tracker.page_count() == 3);
    part[0] = std::byte{1};
    part[2 * page - 1] = std::byte{1};
    CHECK(tracker.dirty_pages() == std::vector<std::size_t>{0, 2});
    CHECK(tracker.dirty(0));
    CHECK(!tracker.dirty(1));
    CHECK(!tracker.dirty(99));  // past the end: false, not an error
    CHECK(tracker.take_dirty_pages().size() == 2);
    CHECK(tracker.dirty_pages().empty());

    std::error_code ec;
    auto empty = WriteTracker::make({}, Protection::Read | Protection::Write, how, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK(empty.page_count() == 0);
    CHECK(empty.mechanism() == WriteTracking::Automatic);
    auto no_write = WriteTracker::make(region.bytes(), Protection::Read, how, ec);
    CHECK(ec == std::errc::invalid_argument);
  }
}
