// WriteTracker at scale and over every kind of memory: the userfaultfd mechanism (exact at any
// size), the mprotect fallback past vm.max_map_count (conservative, no crash), and the noexcept
// overloads.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <vector>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

constexpr Protection read_write = Protection::Read | Protection::Write;

bool userfaultfd_available() {
  AnonymousRegion probe(page_size());
  std::error_code ec;
  auto tracker = WriteTracker::make(probe.bytes(), read_write, WriteTracking::Userfaultfd, ec);
  if (ec)
    std::printf("skipped: userfaultfd write-protect tracking unavailable here (%s)\n",
                ec.message().c_str());
  return !ec;
}

// Writes every other page of `region` (pages 1, 3, 5, ...) and returns their indices.
std::vector<std::size_t> write_every_other_page(std::span<std::byte> region) {
  std::vector<std::size_t> written;
  for (std::size_t page = 1; page < region.size() / page_size(); page += 2) {
    store(region.data() + page * page_size() + page % 100, std::byte{0x5a});
    written.push_back(page);
  }
  return written;
}

void exact_every_other_page(std::size_t bytes) {
  if (!userfaultfd_available()) return;
  AnonymousRegion region(bytes, {.no_reserve = true});
  WriteTracker tracker(region.bytes());
  REQUIRE(tracker.mechanism() == WriteTracking::Userfaultfd);
  REQUIRE(tracker.page_count() == bytes / page_size());
  const std::vector<std::size_t> written = write_every_other_page(region.bytes());
  CHECK(tracker.dirty_pages() == written);
  // Collect and re-arm in one step: then only new writes count.
  CHECK(tracker.take_dirty_pages() == written);
  CHECK(tracker.dirty_pages().empty());
  store(region.data() + 2 * page_size(), std::byte{1});
  store(region.data() + (tracker.page_count() - 1) * page_size(), std::byte{1});
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{2, tracker.page_count() - 1});
}

}  // namespace

TEST_CASE("WriteTracker with userfaultfd: 1 GiB, every other page written, exact") {
  exact_every_other_page(1u << 30);  // 512 MiB written: about a second
}

TEST_CASE("WriteTracker with userfaultfd: reads do not count, reset re-arms, content kept") {
  if (!userfaultfd_available()) return;
  AnonymousRegion region(70 * page_size());
  region[5 * page_size()] = std::byte{7};  // populated before tracking starts
  WriteTracker tracker(region.bytes());
  CHECK(tracker.mechanism() == WriteTracking::Userfaultfd);
  CHECK(load(region.data() + 5 * page_size()) == std::byte{7});
  CHECK(load(region.data() + 6 * page_size()) == std::byte{0});  // never populated
  CHECK(tracker.dirty_pages().empty());
  for (std::size_t page : {0, 5, 63, 64, 69})
    store(region.data() + page * page_size(), std::byte{1});
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{0, 5, 63, 64, 69});
  CHECK(tracker.dirty(64));
  CHECK_FALSE(tracker.dirty(65));
  CHECK_FALSE(tracker.dirty(70));
  CHECK(protection_at(region.data() + page_size()) == "rw-p");  // nothing mprotected
  tracker.reset();
  CHECK(tracker.dirty_pages().empty());
  store(region.data() + 5 * page_size() + 1, std::byte{2});
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{5});
  CHECK(region[5 * page_size()] == std::byte{1});
  // The kernel writing on our behalf counts too.
  TempDir dir;
  write_file(dir.file("in.bin"), pattern(100));
  const int fd = ::open(dir.file("in.bin").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(::read(fd, region.data() + 40 * page_size(), 100) == 100);
  ::close(fd);
  CHECK(tracker.dirty_pages() == std::vector<std::size_t>{5, 40});
}

TEST_CASE("WriteTracker over shared memory and file mappings: exact, whichever mechanism") {
  const bool uffd = userfaultfd_available();
  TempDir dir;
  const std::string path = dir.file("tracked.bin");
  MappedFile<Access::Write> file(
      path, {.creation = Creation::CreateNew, .initial_size = 32 * page_size()});
  AnonymousRegion shared(32 * page_size(), {.shared = true});
  AnonymousRegion zero(32 * page_size(), {.dev_zero = true});
  MappedFile<Access::CopyOnWrite> private_file(path);
  struct Case {
    const char* what;
    std::span<std::byte> bytes;
  } cases[] = {{"shared file", file.bytes()},
               {"shared anonymous (shmem)", shared.bytes()},
               {"/dev/zero", zero.bytes()},
               {"private file", private_file.bytes()}};
  for (const Case& c : cases) {
    INFO(c.what);
    WriteTracker tracker(c.bytes);
    std::printf("WriteTracker over %s: %s\n", c.what,
                tracker.mechanism() == WriteTracking::Userfaultfd ? "userfaultfd" : "mprotect");
    if (uffd) CHECK(tracker.mechanism() == WriteTracking::Userfaultfd);
    CHECK(tracker.dirty_pages().empty());
    for (std::size_t page : {3, 4, 31}) store(c.bytes.data() + page * page_size(), std::byte{9});
    CHECK(tracker.take_dirty_pages() == std::vector<std::size_t>{3, 4, 31});
    store(c.bytes.data() + 4 * page_size() + 8, std::byte{9});
    CHECK(tracker.dirty_pages() == std::vector<std::size_t>{4});
  }
  CHECK(read_file(path)[31 * page_size()] == '\x09');
}

TEST_CASE("WriteTracker with mprotect past vm.max_map_count: a conservative superset, no crash") {
  // Writing every other page of a region of 2 x vm.max_map_count pages (65,530 by default:
  // 512 MiB) needs twice as many kernel areas as allowed. The kernel refuses a split; the
  // tracker must answer "all dirty" instead of dying.
  std::size_t max_map_count = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    if (std::fscanf(f, "%zu", &max_map_count) != 1) max_map_count = 65530;
    std::fclose(f);
  }
  const int status = run_in_child([max_map_count] {
    const std::size_t bytes = 2 * max_map_count * page_size();
    AnonymousRegion region(bytes, {.no_reserve = true});
    WriteTracker tracker(region.bytes(), read_write, WriteTracking::Mprotect);
    if (tracker.mechanism() != WriteTracking::Mprotect) return 1;
    const std::vector<std::size_t> written = write_every_other_page(region.bytes());
    const std::vector<std::size_t> dirty = tracker.dirty_pages();
    for (std::size_t page : written)
      if (!tracker.dirty(page)) return 2;  // a written page reported clean: never allowed
    // The limit was reached, so the answer is the conservative one.
    if (dirty.size() != tracker.page_count()) return 3;
    // After a reset it is exact again.
    tracker.reset();
    store(region.data() + 10 * page_size(), std::byte{1});
    if (tracker.dirty_pages() != std::vector<std::size_t>{10}) return 4;
    return 0;
  });
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("WriteTracker's noexcept overloads report errors in the error_code") {
  std::error_code ec;
  auto empty = WriteTracker::make({}, read_write, WriteTracking::Automatic, ec);
  CHECK(ec == std::errc::invalid_argument);
  CHECK(empty.page_count() == 0);
  AnonymousRegion region(4 * page_size());
  empty = WriteTracker::make(region.bytes(), Protection::Read, WriteTracking::Automatic, ec);
  CHECK(ec == std::errc::invalid_argument);
  empty = WriteTracker::make(region.bytes(), read_write, static_cast<WriteTracking>(9), ec);
  CHECK(ec == std::errc::invalid_argument);
  for (const WriteTracking how : {WriteTracking::Automatic, WriteTracking::Mprotect}) {
    auto tracker = WriteTracker::make(region.bytes(), read_write, how, ec);
    REQUIRE_FALSE(ec);
    store(region.data() + page_size(), std::byte{1});
    CHECK(tracker.dirty_pages(ec) == std::vector<std::size_t>{1});
    CHECK_FALSE(ec);
    tracker.reset(ec);
    CHECK_FALSE(ec);
    CHECK(tracker.take_dirty_pages(ec).empty());
    CHECK_FALSE(ec);
  }
}

TEST_CASE("WriteTracker falls back to mprotect over memory userfaultfd cannot track") {
  // MAP_DROPPABLE (Linux 6.11+) memory is refused by UFFDIO_REGISTER (EINVAL).
  constexpr int map_droppable = 0x08;
  const std::size_t bytes = 16 * page_size();
  void* memory =
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, map_droppable | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::printf("skipped: MAP_DROPPABLE unsupported here (Linux 6.11+)\n");
    return;
  }
  const std::span<std::byte> region(static_cast<std::byte*>(memory), bytes);
  {
    std::error_code ec;
    auto forced = WriteTracker::make(region, read_write, WriteTracking::Userfaultfd, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK(forced.page_count() == 0);
    WriteTracker tracker(region);
    CHECK(tracker.mechanism() == WriteTracking::Mprotect);
    for (std::size_t page : {2, 9}) store(region.data() + page * page_size(), std::byte{1});
    CHECK(tracker.dirty_pages() == std::vector<std::size_t>{2, 9});
  }
  CHECK(protection_at(region.data()) == "rw-p");
  ::munmap(memory, bytes);
}
