// growable_log: an append-only log file that grows in place inside an AddressReservation, so a
// reader's pointer into it stays valid however much the log grows. Run it again and it appends
// to the same log (the file is the only state).
//
//   growable_log FILE COUNT    appends COUNT records "record N" to FILE (created if missing)
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "mmapxx/mmapxx.hpp"

namespace {

// The log's first bytes. `end` is the offset just past the last record: the file is bigger
// (it grows by doubling), and what lies past `end` is not part of the log.
struct Header {
  char magic[8];
  std::uint64_t end;
  std::uint64_t records;
};

constexpr char magic[8] = {'m', 'm', 'l', 'o', 'g', '0', '0', '1'};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s FILE COUNT\n", argv[0]);
    return 2;
  }
  try {
    const char* path = argv[1];
    const unsigned long count = std::stoul(argv[2]);
    // 64 GiB of address space costs nothing but the reservation; the log can grow into all of it
    // without its address ever changing.
    mmapxx::AddressReservation reservation(std::size_t{64} << 30);
    // OpenOrCreate: a new log starts as one page; an existing one is mapped as it is.
    mmapxx::MappedFile<mmapxx::Access::Write> log(path, {.creation = mmapxx::Creation::OpenOrCreate,
                                                         .mode = 0600,
                                                         .initial_size = mmapxx::page_size(),
                                                         .placement = reservation.at(0)});
    auto& header = mmapxx::object_at<Header>(log.bytes());
    if (std::memcmp(header.magic, magic, sizeof magic) != 0) {
      std::memcpy(header.magic, magic, sizeof magic);
      header.end = sizeof(Header);
      header.records = 0;
    }

    // A reader: a pointer into the log taken now, and the address the log started at.
    std::byte* const start = log.data();
    const char* const first_record = reinterpret_cast<const char*>(start) + sizeof(Header);

    int growths = 0;
    char record[64];
    for (unsigned long i = 0; i < count; ++i) {
      const int n = std::snprintf(record, sizeof record, "record %llu\n",
                                  static_cast<unsigned long long>(header.records));
      if (header.end + static_cast<std::size_t>(n) > log.size()) {
        log.resize(2 * log.size());  // in place: no pointer into the log is invalidated
        ++growths;
        if (log.data() != start) {
          std::fprintf(stderr, "growable_log: the log moved\n");
          return 1;
        }
      }
      std::memcpy(log.data() + header.end, record, static_cast<std::size_t>(n));
      header.end += static_cast<std::size_t>(n);
      ++header.records;  // after the bytes: a crash mid-record leaves the record uncounted
    }
    log.flush();

    const std::string_view text(first_record, header.end - sizeof(Header));
    const std::string_view first = text.substr(0, text.find('\n'));
    const std::string_view body = text.substr(0, text.size() - 1);
    const std::string_view last = body.substr(body.rfind('\n') + 1);
    std::printf("appended %lu records, %llu in the log\n", count,
                static_cast<unsigned long long>(header.records));
    std::printf("grew %d times in place; the log never moved\n", growths);
    std::printf("the reader's first pointer still reads: %.*s\n", static_cast<int>(first.size()),
                first.data());
    std::printf("last: %.*s\n", static_cast<int>(last.size()), last.data());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "growable_log: %s\n", e.what());
    return 1;
  }
}
