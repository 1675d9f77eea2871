// Repair and resume: the course exercise (a PROT_NONE page made writable by the handler) and
// WriteTracker's dirty-page tracking.
#include <sys/mman.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

struct GrantAccess {
  std::byte* page = nullptr;
  std::size_t bytes = page_size();  // read here: page_size() is not async-signal-safe on first use
  std::atomic<int> calls{0};
  int code = 0;
};

Repair grant_access(const FaultEvent& fault, void* context) noexcept {
  auto& g = *static_cast<GrantAccess*>(context);
  ++g.calls;
  g.code = fault.code;
  // PROT_READ with PROT_WRITE: on some architectures a write first reads the line.
  if (::mprotect(g.page, g.bytes, PROT_READ | PROT_WRITE) != 0) return Repair::Decline;
  return Repair::Retry;
}

Repair decline(const FaultEvent&, void* context) noexcept {
  ++*static_cast<std::atomic<int>*>(context);
  return Repair::Decline;
}

}  // namespace

TEST_CASE("course exercise: the first write to a PROT_NONE page faults, the handler grants it") {
  AnonymousRegion region(page_size());
  region.protect(Protection::None).release();
  CHECK(protection_at(region.data()) == "---p");
  GrantAccess g;
  g.page = region.data();
  g.calls = 0;
  RepairHandler handler(region.bytes(), grant_access, &g);
  store(region.data(), std::byte{'c'});  // faults once; the handler repairs; the write resumes
  CHECK(load(region.data()) == std::byte{'c'});
  store(region.data(), std::byte{'d'});
  CHECK(load(region.data()) == std::byte{'d'});
  CHECK(g.calls == 1);
  CHECK(g.code == SEGV_ACCERR);
  CHECK(protection_at(region.data()) == "rw-p");
}

TEST_CASE("a declined repair falls through to translation, then to the previous action") {
  AnonymousRegion region(page_size());
  auto none = region.protect(Protection::None);
  std::atomic<int> declined{0};
  RepairHandler handler(region.bytes(), decline, &declined);
  CHECK_THROWS_AS(guarded([&] { load(region.data()); }), FaultError);
  CHECK(declined == 1);
  const int status = run_dying_child([&] { load(region.data()); });
  CHECK(status == run_dying_child([&] { load(region.data()); }, true));
}

TEST_CASE("an unregistered repair handler is not called") {
  AnonymousRegion region(page_size());
  region.protect(Protection::None).release();
  GrantAccess g;
  g.page = region.data();
  { RepairHandler handler(region.bytes(), grant_access, &g); }
  RepairHandler moved;
  {
    RepairHandler a(region.bytes(), grant_access, &g);
    moved = std::move(a);
    moved.reset();
  }
  CHECK_THROWS_AS(guarded([&] { load(region.data()); }), FaultError);
  CHECK(g.calls == 0);
}

TEST_CASE("repair handler registration rejects bad arguments") {
  AnonymousRegion region(page_size());
  std::error_code ec;
  auto none = RepairHandler::make({}, decline, nullptr, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK_FALSE(none.active());
  none = RepairHandler::make(region.bytes(), nullptr, nullptr, ec);
  CHECK(ec == std::errc::invalid_argument);
}

TEST_CASE("repair handlers are not capped: the table grows, and the last one still repairs") {
  // 64 was the old fixed capacity; 5,000 needs several growths of the table.
  std::vector<AnonymousRegion> regions;
  std::vector<GrantAccess> grants(5000);
  std::vector<RepairHandler> handlers;
  for (std::size_t i = 0; i < grants.size(); ++i) {
    regions.emplace_back(page_size());
    regions.back().protect(Protection::None).release();
    grants[i].page = regions.back().data();
    std::error_code ec;
    handlers.push_back(RepairHandler::make(regions.back().bytes(), grant_access, &grants[i], ec));
    REQUIRE_FALSE(ec);
  }
  store(regions.back().data(), std::byte{1});  // repaired by handler number 5,000
  CHECK(grants.back().calls == 1);
  handlers.erase(handlers.begin(), handlers.begin() + 100);  // slots freed are reused
  std::error_code ec;
  auto again = RepairHandler::make(regions[0].bytes(), grant_access, &grants[0], ec);
  CHECK_FALSE(ec);
  store(regions[0].data(), std::byte{1});
  CHECK(grants[0].calls == 1);
}

TEST_CASE("WriteTracker reports exactly the written pages, and reset re-arms") {
  AnonymousRegion region(70 * page_size());  // more than one bitmap word
  region[0] = std::byte{7};
  WriteTracker tracker(region.bytes(), Protection::Read | Protection::Write,
                       WriteTracking::Mprotect);
  CHECK(tracker.mechanism() == WriteTracking::Mprotect);
  CHECK(tracker.page_count() == 70);
  CHECK(tracker.dirty_pages().empty());
  CHECK(load(region.data()) == std::byte{7});  // reads do not fault
  CHECK(tracker.dirty_pages().empty());
  for (std::size_t page : {1, 5, 9, 64, 69})
    for (int i = 0; i < 3; ++i) store(region.data() + page * page_size() + i * 100, std::byte{1});
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{1, 5, 9, 64, 69});
  CHECK(tracker.dirty(64));
  CHECK_FALSE(tracker.dirty(63));
  CHECK(protection_at(region.data() + 5 * page_size()) == "rw-p");
  CHECK(protection_at(region.data() + 6 * page_size()) == "r--p");

  tracker.reset();
  CHECK(tracker.dirty_pages().empty());
  store(region.data() + 2 * page_size(), std::byte{2});
  store(region.data() + 5 * page_size(), std::byte{2});
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{2, 5});
  CHECK(region[page_size()] == std::byte{1});  // contents survive
}

TEST_CASE("WriteTracker tracks writes from many threads and restores protection when done") {
  TempDir dir;
  const std::string path = dir.file("tracked.bin");
  MappedFile<Access::Write> file(
      path, {.creation = Creation::CreateNew, .initial_size = 64 * page_size()});
  std::set<std::size_t> expected;
  {
    WriteTracker tracker(file.bytes(), Protection::Read | Protection::Write,
                         WriteTracking::Mprotect);
    std::vector<std::thread> writers;
    for (std::size_t t = 0; t < 4; ++t) {
      for (std::size_t page = t; page < 64; page += 7) expected.insert(page);
      writers.emplace_back([&, t] {
        for (std::size_t page = t; page < 64; page += 7)
          store(file.data() + page * page_size() + t, std::byte{'x'});
      });
    }
    for (auto& w : writers) w.join();
    const auto dirty = tracker.dirty_pages();
    CHECK(std::set<std::size_t>(dirty.begin(), dirty.end()) == expected);
    // A write under guarded is repaired, not translated.
    REQUIRE_FALSE(tracker.dirty(62));
    guarded([&] { store(file.data() + 62 * page_size(), std::byte{'y'}); });
    CHECK(tracker.dirty(62));
  }
  CHECK(protection_at(file.data() + 10 * page_size()) == "rw-s");
  store(file.data() + 10 * page_size(), std::byte{'z'});
  const std::string contents = read_file(path);
  CHECK(contents[3 * page_size() + 3] == 'x');  // page 3 is written by thread 3 at offset 3
  CHECK(contents[62 * page_size()] == 'y');
}

TEST_CASE("WriteTracker rejects bad arguments") {
  CHECK_THROWS_AS(WriteTracker(std::span<std::byte>{}), Error);
  AnonymousRegion region(page_size());
  CHECK_THROWS_AS(WriteTracker(region.bytes(), Protection::Read), Error);
}
