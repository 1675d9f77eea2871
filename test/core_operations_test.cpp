// Page-level operations: residency (mincore), advice, lock, ProtectionGuard.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::TempDir;

namespace {

void touch_pages(const std::byte* data, std::size_t size) {
  for (std::size_t i = 0; i < size; i += page_size())
    static_cast<void>(*(volatile const std::byte*)(data + i));
}

// Writes a file to disk and drops it from the page cache, so residency starts at zero.
void write_cold(const std::string& path, std::size_t size) {
  test::write_file(path, test::pattern(size));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::fdatasync(fd);
  REQUIRE(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("Residency follows touching and DontNeed on anonymous memory") {
  AnonymousRegion region(8 * page_size());
  Residency before = region.residency();
  CHECK(before.total() == 8);
  CHECK(before.resident == 0);
  region[0] = std::byte{1};
  region[5 * page_size()] = std::byte{1};
  Residency touched = region.residency();
  CHECK(touched.resident == 2);
  CHECK(touched.pages[0]);
  CHECK(touched.pages[5]);
  CHECK_FALSE(touched.pages[1]);
  region.advise_unchecked(UncheckedAdvice::DontNeed, 0, page_size());
  CHECK(region.residency().resident == 1);
  CHECK(region[0] == std::byte{0});  // DontNeed discarded the private page's contents
  CHECK(region.residency(5 * page_size(), 1).resident == 1);
  CHECK(region.residency(5 * page_size() + 1, 0).total() == 0);
}

TEST_CASE("Residency of a file follows the page cache: cold, then populated, then touched",
          "[no-valgrind]") {
  TempDir dir("/var/tmp");
  const std::string path = dir.file("cold");
  write_cold(path, 32 * page_size());
  MappedFile<Access::Read> file(path);
  REQUIRE(file.residency().resident == 0);
  touch_pages(file.data(), 4 * page_size());
  const std::size_t after_touch = file.residency().resident;
  CHECK(after_touch >= 4);
  file.advise(Advice::PopulateRead);
  CHECK(file.residency().resident == 32);

  write_cold(path, 32 * page_size());
  MappedFile<Access::Read> populated(path, {.populate = true});
  CHECK(populated.residency().resident == 32);
}

TEST_CASE("Every safe advice is accepted where it applies") {
  TempDir dir;
  const std::string path = dir.file("f");
  test::write_file(path, test::pattern(4 * page_size()));
  MappedFile<Access::Write> file(path);
  for (Advice a : {Advice::Normal, Advice::Sequential, Advice::Random, Advice::WillNeed,
                   Advice::PopulateRead, Advice::PopulateWrite, Advice::DontFork, Advice::DoFork,
                   Advice::DontDump, Advice::DoDump}) {
    std::error_code ec;
    file.advise(a, 0, whole, ec);
    CHECK_FALSE(ec);
  }
  AnonymousRegion region(4u << 20);
  region.advise(Advice::HugePage);
  region.advise(Advice::NoHugePage);
  // PopulateWrite on a read-only mapping would need write access: the kernel refuses.
  MappedFile<Access::Read> ro(path);
  std::error_code ec;
  ro.advise(Advice::PopulateWrite, 0, whole, ec);
  CHECK(ec);
}

TEST_CASE("PopulateWrite copies a CopyOnWrite view's pages, up to the page that fails") {
  TempDir dir;
  const std::string path = dir.file("f");
  test::write_file(path, std::string(3 * page_size(), 'a'));
  MappedFile<Access::CopyOnWrite> copied(path);
  MappedFile<Access::CopyOnWrite> following(path);
  // Only the first page stays in the file: PopulateWrite copies it, then fails on the second.
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(page_size())) == 0);
  std::error_code ec;
  copied.advise(Advice::PopulateWrite, 0, whole, ec);
  CHECK(ec == std::errc::bad_address);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const std::string b(page_size(), 'b');
  CHECK(::pwrite(fd, b.data(), b.size(), 0) == static_cast<ssize_t>(b.size()));
  ::close(fd);
  CHECK(following[0] == std::byte{'b'});  // untouched pages follow the file
  CHECK(copied[0] == std::byte{'a'});     // the copied page keeps the bytes it was copied with
}

TEST_CASE("DontFork keeps a region out of the child") {
  AnonymousRegion region(page_size());
  region[0] = std::byte{7};
  region.advise(Advice::DontFork);
  const void* address = region.data();
  const int status =
      test::run_in_child([&] { return test::protection_at(address).empty() ? 0 : 1; });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("lock and unlock a range") {
  AnonymousRegion region(4 * page_size());
  region.lock(page_size(), 2 * page_size());
  if (test::mlock_is_real) CHECK(region.residency().resident == 2);
  region.unlock(page_size(), 2 * page_size());
  region.lock();
  if (test::mlock_is_real) CHECK(region.residency().resident == 4);
  region.unlock();
}

TEST_CASE("ProtectionGuard changes protection for a scope, then restores it") {
  AnonymousRegion region(3 * page_size());
  std::byte* second = region.data() + page_size();
  {
    ProtectionGuard guard = region.protect(Protection::Read, page_size() + 10, 1);
    CHECK(guard.active());
    CHECK(test::protection_at(region.data()) == "rw-p");
    CHECK(test::protection_at(second) == "r--p");
    CHECK(test::protection_at(second + page_size()) == "rw-p");
    ProtectionGuard moved = std::move(guard);
    CHECK_FALSE(guard.active());
    CHECK(test::protection_at(second) == "r--p");
  }
  CHECK(test::protection_at(second) == "rw-p");
  {
    ProtectionGuard none = region.protect(Protection::None);
    CHECK(test::protection_at(region.data()) == "---p");
    none.restore();
    CHECK(test::protection_at(region.data()) == "rw-p");
    CHECK_FALSE(none.active());
  }
  {
    ProtectionGuard kept = region.protect(Protection::Read | Protection::Exec, 0, 1);
    kept.release();
  }
  CHECK(test::protection_at(region.data()) == "r-xp");

  TempDir dir;
  const std::string path = dir.file("ro");
  test::write_file(path, "read only");
  MappedFile<Access::Read> file(path);
  std::error_code ec;
  ProtectionGuard denied = file.protect(Protection::Read | Protection::Write, 0, whole, ec);
  CHECK(ec == std::errc::permission_denied);  // a read-only shared file cannot become writable
  CHECK_FALSE(denied.active());
  CHECK(test::protection_at(file.data()) == "r--s");
}

TEST_CASE("Protection is a type-safe bitmask") {
  constexpr Protection rw = Protection::Read | Protection::Write;
  static_assert(has(rw, Protection::Read) && has(rw, Protection::Write));
  static_assert(!has(rw, Protection::Exec));
  static_assert((rw & ~Protection::Write) == Protection::Read);
  Protection p = Protection::None;
  p |= Protection::Exec;
  CHECK(p == Protection::Exec);
}

TEST_CASE("A refused lock() names RLIMIT_MEMLOCK and its current value") {
  if (!test::mlock_is_real) {
    std::puts("skipped: AddressSanitizer makes mlock() a no-op, so no lock is refused");
    return;
  }
  // Root's CAP_IPC_LOCK ignores the limit: the child gives up its privileges first.
  const int status = test::run_in_child([] {
    const rlimit limit{64 * 1024, 64 * 1024};
    if (::setrlimit(RLIMIT_MEMLOCK, &limit) != 0) return 10;
    if (::getuid() == 0 && ::setuid(65534) != 0) return 11;
    AnonymousRegion region(64 * page_size() + 64 * 1024);
    std::error_code ec;
    region.lock(0, whole, ec);
    if (ec != std::errc::not_enough_memory && ec != std::errc::operation_not_permitted) return 12;
    try {
      region.lock();
      return 13;
    } catch (const Error& e) {
      const std::string what = e.what();
      if (e.operation() != "mlock") return 14;
      if (what.find("RLIMIT_MEMLOCK is 65536 bytes") == std::string::npos) return 15;
      if (what.find("length=" + std::to_string(region.size())) == std::string::npos) return 16;
    }
    try {
      AnonymousRegion locked(1 << 20, {.locked = true});
      return 17;
    } catch (const Error& e) {
      if (std::string(e.what()).find("RLIMIT_MEMLOCK is 65536 bytes") == std::string::npos)
        return 18;
    }
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
