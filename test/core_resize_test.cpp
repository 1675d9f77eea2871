// resize() after part of the view was protected or advised: the view is then several kernel memory
// areas (VMAs), which one mremap cannot grow. Contents, protection and advice must survive.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;
using mmapxx::test::protection_at;
using mmapxx::test::TempDir;

namespace {

void fill(std::span<std::byte> bytes, std::size_t start = 0) {
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>('a' + (start + i) % 26);
}

bool holds_pattern(std::span<const std::byte> bytes, std::size_t start = 0) {
  for (std::size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != static_cast<std::byte>('a' + (start + i) % 26)) return false;
  return true;
}

bool all_zero(std::span<const std::byte> bytes) {
  for (std::byte b : bytes)
    if (b != std::byte{0}) return false;
  return true;
}

// Whether the page at `address` is still mapped in a forked child (DontFork pages are not).
bool mapped_in_child(const std::byte* address) {
  const int status = test::run_in_child([&] {
    ::signal(SIGSEGV, SIG_DFL);
    static_cast<void>(*(volatile const std::byte*)address);
    return 0;
  });
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

TEST_CASE("A private region grows and shrinks after protect() on part of it", "[no-valgrind]") {
  const std::size_t p = page_size();
  AnonymousRegion region(16 * p);
  fill(region.bytes());
  region.set_protection(Protection::Read, 4 * p, 4 * p);
  REQUIRE(protection_at(region.data() + 5 * p) == "r--p");

  region.resize(40 * p);
  CHECK(region.size() == 40 * p);
  CHECK(holds_pattern(region.bytes().first(16 * p)));
  CHECK(all_zero(region.bytes().subspan(16 * p)));
  CHECK(protection_at(region.data() + 5 * p) == "r--p");  // the protected pages stayed so
  CHECK(protection_at(region.data()) == "rw-p");
  CHECK(protection_at(region.data() + 39 * p) == "rw-p");
  region[39 * p] = std::byte{7};  // the new tail is writable

  region.resize(6 * p);
  CHECK(region.size() == 6 * p);
  CHECK(holds_pattern(region.bytes()));
  CHECK(protection_at(region.data() + 5 * p) == "r--p");
}

TEST_CASE("A private region grows after many non-adjacent pages were protected", "[no-valgrind]") {
  // What WriteTracker's mprotect path leaves behind: every other page a VMA of its own.
  const std::size_t p = page_size();
  AnonymousRegion region(64 * p);
  fill(region.bytes());
  for (std::size_t i = 1; i < 64; i += 2) region.set_protection(Protection::Read, i * p, p);
  region.resize(256 * p);
  CHECK(holds_pattern(region.bytes().first(64 * p)));
  CHECK(all_zero(region.bytes().subspan(64 * p)));
  CHECK(protection_at(region.data() + 63 * p) == "r--p");
  CHECK(protection_at(region.data() + 62 * p) == "rw-p");
}

TEST_CASE("A private region grows and shrinks after advise() on middle ranges", "[no-valgrind]") {
  const std::size_t p = page_size();
  const std::size_t head = GENERATE(std::size_t{0}, std::size_t{1});  // an unaligned size too
  AnonymousRegion region(16 * p + head);
  fill(region.bytes());
  region.advise(Advice::DontFork, 4 * p, 4 * p);
  region.advise(Advice::HugePage, 8 * p, 4 * p);

  region.resize(48 * p + 3);
  CHECK(region.size() == 48 * p + 3);
  CHECK(holds_pattern(region.bytes().first(16 * p + head)));
  CHECK(all_zero(region.bytes().subspan(16 * p + head)));
  CHECK_FALSE(mapped_in_child(region.data() + 5 * p));  // DontFork kept
  CHECK(mapped_in_child(region.data() + 9 * p));

  region.resize(10 * p);
  CHECK(holds_pattern(region.bytes()));
  CHECK_FALSE(mapped_in_child(region.data() + 5 * p));

  region.resize(20 * p);
  CHECK(holds_pattern(region.bytes().first(10 * p)));
  CHECK(all_zero(region.bytes().subspan(10 * p)));
}

TEST_CASE("A shared region shrinks after protect() and advise() on part of it", "[no-valgrind]") {
  const std::size_t p = page_size();
  AnonymousRegion region(16 * p, {.shared = true});
  fill(region.bytes());
  region.set_protection(Protection::Read, 2 * p, p);
  region.advise(Advice::DontFork, 6 * p, 2 * p);
  region.resize(7 * p);
  CHECK(holds_pattern(region.bytes()));
  CHECK(protection_at(region.data() + 2 * p) == "r--s");
}

TEST_CASE("A file view grows and shrinks after protect() and advise() on part of it",
          "[no-valgrind]") {
  const std::size_t p = page_size();
  TempDir dir;
  const std::string path = dir.file("split");
  test::write_file(path, test::pattern(16 * p));
  MappedFile<Access::Write> file(path);
  file.advise(Advice::DontFork, 4 * p, 2 * p);
  file.set_protection(Protection::Read, 8 * p, 2 * p);

  file.resize(32 * p);
  CHECK(file.size() == 32 * p);
  CHECK(holds_pattern(file.bytes().first(16 * p)));
  CHECK(protection_at(file.data() + 9 * p) == "r--s");
  CHECK_FALSE(mapped_in_child(file.data() + 5 * p));
  file[20 * p] = std::byte{'Z'};  // the grown tail is the file's bytes
  file.flush();
  CHECK(test::read_file(path).at(20 * p) == 'Z');

  file.resize(12 * p);
  CHECK(holds_pattern(file.bytes()));
  CHECK(protection_at(file.data() + 9 * p) == "r--s");
}
