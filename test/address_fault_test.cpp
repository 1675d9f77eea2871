// Fault translation on views placed in an AddressReservation: both halves of a MirroredBuffer,
// a file grown in place, and an access to the reservation's own reserved pages (not ours).
#include <sys/mman.h>

#include <catch2/catch.hpp>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

TEST_CASE("A fault through either half of a MirroredBuffer names the memory and its offset") {
  const std::size_t S = 4 * page_size();
  SealedMemory memory("mirror-fault", S);  // not sealed: it can be shrunk under the mapping
  MirroredBuffer mirror(memory, 0, S);
  memory.resize(page_size());  // pages 1..3 are now past the end: SIGBUS in both halves

  const std::size_t offset = 2 * page_size() + 17;
  for (std::byte* p : {mirror.data() + offset, mirror.data() + S + offset}) {
    const FaultError e = catch_fault([&] { load(p); });
    CHECK(e.signal() == SIGBUS);
    CHECK(e.address() == p);
    CHECK(e.mapping_label() == mirror.first().label());
    CHECK(e.file_offset() == offset);
  }
  CHECK(load(mirror.data() + S + 5) == load(mirror.data() + 5));  // page 0 is still there
}

TEST_CASE("protect() on the second half of a mirror turns writes there into FaultError") {
  MirroredBuffer mirror(2 * page_size(), "mirror-protect");
  auto guard = mirror.second().protect(Protection::Read);
  store(mirror.data() + 1, std::byte{9});  // the first half stays writable
  const FaultError e = catch_fault([&] { store(mirror.data() + mirror.size() + 1, std::byte{1}); });
  CHECK(e.signal() == SIGSEGV);
  CHECK(e.si_code() == SEGV_ACCERR);
  CHECK(e.file_offset() == 1);
  CHECK(load(mirror.data() + mirror.size() + 1) == std::byte{9});
}

TEST_CASE("A file grown in place inside a reservation is translated over its new pages") {
  TempDir dir;
  const std::string path = dir.file("grown");
  write_file(path, pattern(page_size()));
  AddressReservation reservation(16 * page_size());
  MappedFile<Access::Write> file(path, {.placement = reservation.at(0)});
  file.resize(8 * page_size());
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(2 * page_size())) == 0);
  std::byte* p = file.data() + 6 * page_size() + 3;
  const FaultError e = catch_fault([&] { load(p); });
  CHECK(e.signal() == SIGBUS);
  CHECK(e.mapping_label() == path);
  CHECK(e.file_offset() == 6 * page_size() + 3);
}
