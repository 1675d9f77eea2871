// Typed sub-views: as<T>(offset, count) on every mapping, checked before anything is read.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>

#include "mmapxx/mmapxx.hpp"
#include "support.hpp"

using namespace mmapxx;

namespace {

struct Header {
  std::uint32_t magic;
  std::uint32_t count;
};

struct Record {
  std::uint64_t id;
  double value;
};

std::string make_file(std::uint32_t count) {
  std::string bytes(sizeof(Header) + count * sizeof(Record), '\0');
  const Header header{0x4d4d4150, count};
  std::memcpy(bytes.data(), &header, sizeof header);
  for (std::uint32_t i = 0; i < count; ++i) {
    const Record record{i, i * 1.5};
    std::memcpy(bytes.data() + sizeof(Header) + i * sizeof(Record), &record, sizeof record);
  }
  return bytes;
}

}  // namespace

TEST_CASE("Records after a header read as a typed sub-view") {
  test::TempDir dir;
  const std::string path = dir.file("records");
  test::write_file(path, make_file(10));
  MappedFile<Access::Read> file(path);
  const Header header = file.as<Header>(0, 1)[0];
  REQUIRE(header.count == 10);
  std::span<const Record> records = file.as<Record>(sizeof(Header), header.count);
  CHECK(records.size() == 10);
  CHECK(records[7].id == 7);
  CHECK(records[7].value == 10.5);
  CHECK(file.as<Record>(sizeof(Header) + 9 * sizeof(Record), 1)[0].id == 9);
  CHECK(file.as<Record>(file.size(), 0).empty());

  MappedFile<Access::Write> writable(path);
  std::span<Record> mutable_records = writable.as<Record>(sizeof(Header), 10);
  mutable_records[3].value = -1;
  CHECK(file.as<Record>(sizeof(Header), 10)[3].value == -1);  // shared with the Read view
  static_assert(std::is_same_v<decltype(file.as<Record>(0, 1)), std::span<const Record>>);
  static_assert(std::is_same_v<decltype(writable.as<Record>(0, 1)), std::span<Record>>);
}

TEST_CASE("Sub-views past the end, overflowing or misaligned are errors naming the mapping") {
  test::TempDir dir;
  const std::string path = dir.file("records");
  test::write_file(path, make_file(4));
  MappedFile<Access::Read> file(path);
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::pair<std::size_t, std::size_t> bad[] = {
      {sizeof(Header), 5},    // one record too many
      {file.size() + 1, 0},   // offset past the end
      {sizeof(Header), max},  // count * size overflows
      {sizeof(Header), max / sizeof(Record) + 1},
      {max, 1},
      {max - 7, 1},
      {sizeof(Header) + 8, 4},  // offset + bytes runs past the end
      {4, 1},                   // misaligned for Record (alignment 8)
  };
  for (const auto& [offset, count] : bad) {
    INFO("offset " << offset << ", count " << count);
    std::error_code ec;
    CHECK(file.as<Record>(offset, count, ec).empty());
    CHECK(ec == std::errc::invalid_argument);
    try {
      static_cast<void>(file.as<Record>(offset, count));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.operation() == "as");
      CHECK(e.path() == path);
      CHECK(e.code() == std::errc::invalid_argument);
    }
  }
  AnonymousRegion region(100);
  std::error_code ec;
  CHECK(region.as<std::uint32_t>(96, 1, ec).size() == 1);
  CHECK(!ec);
  CHECK(region.as<std::uint32_t>(97, 1, ec).empty());
  CHECK(ec == std::errc::invalid_argument);
  try {
    static_cast<void>(region.as<std::uint32_t>(100, 1));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.path() == region.label());
  }
}
