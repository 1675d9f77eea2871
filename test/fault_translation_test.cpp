// guarded(): faults in mmapxx mappings become FaultError with the right details.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <vector>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

TEST_CASE("reading past EOF of a truncated file throws SIGBUS with address, path and offset") {
  TruncatedFile t;
  const std::byte* p = t.file.data() + 2 * page_size() + 123;
  const FaultError e = catch_fault([&] { load(p); });
  CHECK(e.signal() == SIGBUS);
  CHECK(e.si_code() == BUS_ADRERR);
  CHECK(e.address() == p);
  CHECK(e.mapping_label() == t.path);
  CHECK(e.file_offset() == 2 * page_size() + 123);
  CHECK(e.code() == std::error_code(EFAULT, std::generic_category()));
  CHECK(e.operation() == "SIGBUS");
  const std::string what = e.what();
  CHECK(what.find("SIGBUS: " + t.path + ": ") == 0);
  CHECK(what.find("file offset=" + std::to_string(2 * page_size() + 123)) != std::string::npos);
  CHECK(what.find("BUS_ADRERR") != std::string::npos);
  // The bytes still in the file read normally, inside and outside guarded.
  CHECK(guarded([&] { return load(t.file.data() + 7); }) == std::byte{'a' + 7});
  CHECK(load(t.file.data()) == std::byte{'a'});
}

TEST_CASE("the file offset accounts for an unaligned mapping offset") {
  const std::size_t start = page_size() + 10;
  TruncatedFile t(6, page_size(), {.offset = start});
  const std::size_t i = 3 * page_size();
  const FaultError e = catch_fault([&] { load(t.file.data() + i); });
  CHECK(e.file_offset() == start + i);
  CHECK(e.address() == t.file.data() + i);
}

TEST_CASE("writing to a read-only mapping throws SIGSEGV") {
  TempDir dir;
  const std::string path = dir.file("ro.bin");
  write_file(path, pattern(2 * page_size()));
  MappedFile<Access::Read> ro(path);
  auto* p = const_cast<std::byte*>(ro.data()) + page_size() + 1;
  const FaultError e = catch_fault([&] { store(p, std::byte{'!'}); });
  CHECK(e.signal() == SIGSEGV);
  CHECK(e.si_code() == SEGV_ACCERR);
  CHECK(e.address() == p);
  CHECK(e.mapping_label() == path);
  CHECK(e.file_offset() == page_size() + 1);
  CHECK(read_file(path) == pattern(2 * page_size()));
}

TEST_CASE("writing through a read-only ProtectionGuard throws SIGSEGV, then the guard restores") {
  AnonymousRegion region(4 * page_size());
  {
    auto guard = region.protect(Protection::Read, page_size(), page_size());
    std::byte* p = region.data() + page_size() + 8;
    const FaultError e = catch_fault([&] { store(p, std::byte{1}); });
    CHECK(e.signal() == SIGSEGV);
    CHECK(e.si_code() == SEGV_ACCERR);
    CHECK(e.address() == p);
    CHECK(e.mapping_label() == region.label());
    CHECK(e.file_offset() == page_size() + 8);  // the offset in the region, for anonymous memory
    store(region.data(), std::byte{2});         // other pages stay writable
  }
  store(region.data() + page_size() + 8, std::byte{3});
  CHECK(region[page_size() + 8] == std::byte{3});
}

TEST_CASE("touching a PROT_NONE guard page throws SIGSEGV") {
  AnonymousRegion region(3 * page_size());
  auto guard = region.protect(Protection::None, 2 * page_size(), page_size());
  const std::byte* p = region.data() + 2 * page_size();
  const FaultError read = catch_fault([&] { load(p); });
  CHECK(read.signal() == SIGSEGV);
  CHECK(read.si_code() == SEGV_ACCERR);
  CHECK(read.address() == p);
  const FaultError write = catch_fault([&] { store(region.data() + 3 * page_size() - 1, {}); });
  CHECK(write.address() == region.data() + 3 * page_size() - 1);
}

TEST_CASE("a resized mapping is claimed at its new address with its path") {
  TempDir dir;
  const std::string path = dir.file("grow.bin");
  MappedFile<Access::Write> file(path,
                                 {.creation = Creation::CreateNew, .initial_size = page_size()});
  file.resize(64 * page_size());  // may move
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(page_size())) == 0);
  const std::byte* p = file.data() + 40 * page_size();
  const FaultError e = catch_fault([&] { load(p); });
  CHECK(e.signal() == SIGBUS);
  CHECK(e.address() == p);
  CHECK(e.mapping_label() == path);
  CHECK(e.file_offset() == 40 * page_size());
}

// A label under 24 bytes is copied into the registry (std::string keeps it inside the object,
// which moves); a longer one is the string's heap buffer, which moves with it. Either way a
// moved view's fault names it, even once the object it was made in holds another name.
TEST_CASE("a moved view's fault names it, whatever its label's length") {
  TempDir dir;
  const std::string path = dir.file("moved.bin");
  for (const std::string& name :
       {std::string("s"), std::string(23, 'm'), std::string(24, 'l'), std::string(40, 'L')}) {
    write_file(path, pattern(2 * page_size()));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::optional<MappedFile<Access::Read>> made;
    made.emplace(fd, MapOptions{}, name);
    MappedFile<Access::Read> moved = std::move(*made);
    made.emplace(fd, MapOptions{}, std::string(name.size(), 'X'));  // the same storage, reused
    REQUIRE(::truncate(path.c_str(), 0) == 0);
    const FaultError e = catch_fault([&] { load(moved.data() + page_size()); });
    INFO("name length " << name.size());
    CHECK(e.mapping_label() == name);
    made.reset();
    ::close(fd);
  }
}

TEST_CASE("a long path is kept by its tail") {
  TempDir dir;
  std::filesystem::path deep = dir.path();
  for (int i = 0; i < 4; ++i) deep /= std::string(100, static_cast<char>('a' + i));
  std::filesystem::create_directories(deep);
  const std::string path = (deep / "data.bin").string();
  REQUIRE(path.size() > FaultInfo::label_capacity);
  write_file(path, pattern(3 * page_size()));
  MappedFile<Access::Read> file(path);
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  const FaultError e = catch_fault([&] { load(file.data() + page_size()); });
  const std::string label = e.mapping_label();
  CHECK(label.size() == FaultInfo::label_capacity - 1);
  CHECK(label.rfind("...", 0) == 0);
  CHECK(path.ends_with(label.substr(3)));
}

// The registry copies a label of known length in whole words (a label shorter than a word from
// overlapping 4-byte or 1-byte pieces, a longer one's tail by shifting the word that ends it):
// every length below 8 and every length modulo 8 (the names given with a descriptor), the longest
// that fits (255) and the first that is cut (256) must come back exactly, also in a slot that held
// a longer label before.
TEST_CASE("fault labels of every length come back exactly") {
  TempDir dir;
  const std::string base = dir.path().string() + "/";
  std::vector<std::size_t> lengths;
  for (std::size_t n = base.size() + 1; n <= base.size() + 24; ++n) lengths.push_back(n);
  lengths.push_back(FaultInfo::label_capacity - 1);
  lengths.push_back(FaultInfo::label_capacity);
  for (const std::size_t length : lengths) {
    REQUIRE(length > base.size());
    const std::string path = base + std::string(length - base.size(), 'n');
    write_file(path, pattern(2 * page_size()));
    {
      // A longer label first, unmapped before the one under test (often the same slot).
      const std::string longer = path + "-longer-label-first";
      write_file(longer, pattern(page_size()));
      MappedFile<Access::Read> first(longer);
    }
    MappedFile<Access::Read> file(path);
    REQUIRE(::truncate(path.c_str(), 0) == 0);
    const FaultError e = catch_fault([&] { load(file.data() + page_size()); });
    INFO("path length " << length);
    if (length < FaultInfo::label_capacity) {
      CHECK(e.mapping_label() == path);
    } else {
      CHECK(e.mapping_label() == "..." + path.substr(length - (FaultInfo::label_capacity - 4)));
    }
    // The same through the label a MappedFile made from a descriptor gets (its name, no strlen).
    const std::string name = path.substr(base.size());
    write_file(path, pattern(2 * page_size()));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    {
      MappedFile<Access::Read> by_fd(fd, {}, name);
      REQUIRE(::truncate(path.c_str(), 0) == 0);
      const FaultError f = catch_fault([&] { load(by_fd.data() + page_size()); });
      CHECK(f.mapping_label() == name);
    }
    ::close(fd);
  }
}

TEST_CASE("guarded returns values and references, and passes exceptions through") {
  AnonymousRegion region(page_size());
  region[5] = std::byte{42};
  CHECK(guarded([&] { return region[5]; }) == std::byte{42});
  std::byte& ref = guarded([&]() -> std::byte& { return region[5]; });
  CHECK(&ref == region.data() + 5);
  auto text = guarded([] { return std::string(100, 'x'); });
  CHECK(text.size() == 100);
  int calls = 0;
  guarded([&] { ++calls; });
  CHECK(calls == 1);
  CHECK_THROWS_AS(guarded([] { throw std::out_of_range("mine"); }), std::out_of_range);
  // The guard is disarmed after the exception: a later fault outside guarded is not claimed.
  TruncatedFile t;
  const int status = run_dying_child([&] { load(t.file.data() + 3 * page_size()); });
  CHECK(status == run_dying_child([&] { load(t.file.data() + 3 * page_size()); }, true));
}

TEST_CASE("nested guarded calls: the innermost catches, the outer one still works") {
  TruncatedFile t;
  const std::byte* past = t.file.data() + 2 * page_size();
  int inner_faults = 0;
  const FaultError outer = catch_fault([&] {
    for (int i = 0; i < 3; ++i) {
      try {
        guarded([&] { load(past + i); });
      } catch (const FaultError& e) {
        if (e.address() == past + i) ++inner_faults;
      }
    }
    guarded([&] { return load(t.file.data()); });  // a clean inner call returns normally
    load(past + 100);                              // now the outer guard catches
  });
  CHECK(inner_faults == 3);
  CHECK(outer.address() == past + 100);
  // An inner exception that is not a fault crosses the outer guard too.
  CHECK_THROWS_AS(guarded([] { guarded([] { throw std::runtime_error("x"); }); }),
                  std::runtime_error);
}

TEST_CASE("copy_from and copy_to report EFAULT instead of dying") {
  TruncatedFile t(4, page_size() + 100);
  std::vector<std::byte> buffer(4 * page_size());
  CHECK_FALSE(copy_from(t.file.bytes().first(page_size()), buffer));
  CHECK(buffer[3] == std::byte{'d'});

  FaultInfo fault;
  const std::error_code ec = copy_from(t.file.bytes(), buffer, fault);
  CHECK(ec == std::error_code(EFAULT, std::generic_category()));
  CHECK(fault.signal == SIGBUS);
  // memcpy may touch the tail first: any byte of the pages wholly past EOF.
  const auto* at = static_cast<const std::byte*>(fault.address);
  CHECK(at >= t.file.data() + 2 * page_size());
  CHECK(at < t.file.data() + 4 * page_size());
  CHECK(std::string(fault.label) == t.path);
  CHECK(fault.file_offset == static_cast<std::size_t>(at - t.file.data()));

  CHECK(copy_from(t.file.bytes(), std::span(buffer).first(10)) == std::errc::invalid_argument);

  AnonymousRegion region(2 * page_size());
  auto guard = region.protect(Protection::Read);
  CHECK(copy_to(std::span(buffer).first(100), region.bytes()) ==
        std::error_code(EFAULT, std::generic_category()));
  CHECK(copy_to({}, region.bytes()) == std::error_code{});
}

TEST_CASE("faults outside mmapxx mappings are not claimed, even inside guarded") {
  void* raw = ::mmap(nullptr, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(raw != MAP_FAILED);
  const auto* p = static_cast<const std::byte*>(raw);
  const int status = run_dying_child([&] { guarded([&] { load(p); }); });
  CHECK(status == run_dying_child([&] { load(p); }, true));
  if (initial_is_default(SIGSEGV)) {
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGSEGV);
  }
  ::munmap(raw, page_size());

  // A mapping mmapxx has unmapped is forgotten.
  const std::byte* gone = nullptr;
  {
    AnonymousRegion region(page_size());
    gone = region.data();
  }
  const int after = run_dying_child([&] { guarded([&] { load(gone); }); });
  CHECK(WIFSIGNALED(after) == WIFSIGNALED(status));
  if (initial_is_default(SIGSEGV)) CHECK(WTERMSIG(after) == SIGSEGV);
}
