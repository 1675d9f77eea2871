// Warm one-shot sequential scan: open, get every byte to the consumer, close. read(2) with three
// buffer sizes against mmapxx with each option that could make mapping win, in both page-cache
// states Linux 6.x produces.
#include <atomic>
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <thread>
#include <vector>

#include <fcntl.h>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scan_methods.hpp"
#include "scenarios.hpp"

namespace mmbench {

using mmapxx::Access;
using mmapxx::Advice;
using mmapxx::MappedFile;

void scan_populate_two_cores(const MappedFile<Access::Read>& file, Sink& sink) {
  // Both cores pre-fault chunks (MADV_POPULATE_READ) from the front; the caller scans each chunk
  // as soon as it is populated, populating it itself when the helper has not claimed it yet.
  constexpr std::size_t chunk = 4 << 20;
  const std::size_t chunks = (file.size() + chunk - 1) / chunk;
  std::atomic<std::size_t> next{0};
  std::vector<std::atomic<bool>> done(chunks);
  auto populate = [&](std::size_t i) {
    const std::size_t offset = i * chunk;
    file.advise(Advice::PopulateRead, offset, std::min(chunk, file.size() - offset));
    done[i].store(true, std::memory_order_release);
  };
  std::thread helper([&] {
    for (std::size_t i; (i = next.fetch_add(1)) < chunks;) populate(i);
  });
  for (std::size_t i = 0; i < chunks; ++i) {
    std::size_t expected = i;
    if (next.compare_exchange_strong(expected, i + 1)) populate(i);
    while (!done[i].load(std::memory_order_acquire)) __builtin_ia32_pause();
    const std::size_t offset = i * chunk;
    sink.consume(file.data() + offset, std::min(chunk, file.size() - offset));
  }
  helper.join();
}

Method map_and_scan(std::string name, std::string path, mmapxx::MapOptions options) {
  return {std::move(name), [path = std::move(path), options](Sink& s) {
            MappedFile<Access::Read> f(path, options);
            s.consume(f.data(), f.size());
          }};
}

Method chunk_scan(std::string path, std::shared_ptr<mmapxx::ScanMethod> chose) {
  return {"mmapxx for_each_chunk (auto)", [path = std::move(path), chose](Sink& s) {
            const mmapxx::ScanResult r = mmapxx::for_each_chunk(
                path,
                [&](std::span<const std::byte> chunk) { s.consume(chunk.data(), chunk.size()); });
            if (chose) *chose = r.method;
          }};
}

std::vector<Method> scan_methods(const std::string& path, std::size_t size,
                                 const std::vector<std::shared_ptr<Buffer>>& buffers,
                                 std::shared_ptr<mmapxx::ScanMethod> chose) {
  std::vector<Method> m;
  // Baseline first: read(2) with a 128 KiB buffer.
  m.push_back({"read 128KiB", [=](Sink& s) { read_file(path, *buffers[1], s); }});
  m.push_back({"read 4KiB", [=](Sink& s) { read_file(path, *buffers[0], s); }});
  m.push_back({"read 1MiB", [=](Sink& s) { read_file(path, *buffers[2], s); }});
  m.push_back(map_and_scan("mmapxx default", path));
  m.push_back(map_and_scan("mmapxx populate (MAP_POPULATE)", path, {.populate = true}));
  m.push_back({"mmapxx MADV_POPULATE_READ", [=](Sink& s) {
                 MappedFile<Access::Read> f(path);
                 f.advise(Advice::PopulateRead);
                 s.consume(f.data(), f.size());
               }});
  m.push_back(map_and_scan("mmapxx advice=Sequential", path, {.advice = Advice::Sequential}));
  m.push_back(
      map_and_scan("mmapxx MADV_HUGEPAGE", path, {.huge_pages = mmapxx::HugePages::Transparent}));
  m.push_back({"mmapxx 2-core populate", [=](Sink& s) {
                 MappedFile<Access::Read> f(path);
                 scan_populate_two_cores(f, s);
               }});
  m.push_back({"mmapxx chunked 8MiB+populate", [=](Sink& s) {
                 Fd fd(path, O_RDONLY);
                 constexpr std::size_t chunk = 8 << 20;
                 for (std::size_t off = 0; off < size; off += chunk) {
                   MappedFile<Access::Read> f(
                       fd.get(),
                       {.offset = off, .length = std::min(chunk, size - off), .populate = true},
                       path);
                   s.consume(f.data(), f.size());
                 }
               }});
  // The library's helper: reads or maps per file (mmapxx/scan.hpp); the row to compare with
  // both "read 128KiB" (the base) and "mmapxx default".
  m.push_back(chunk_scan(path, chose));
  m.push_back({"boost mapped_region", [=](Sink& s) {
                 namespace bip = boost::interprocess;
                 bip::file_mapping fm(path.c_str(), bip::read_only);
                 bip::mapped_region r(fm, bip::read_only);
                 s.consume(static_cast<const std::byte*>(r.get_address()), r.get_size());
               }});
  return m;
}

void scenario_scan(Context& ctx) {
  std::vector<std::size_t> sizes = {1 * MiB, 64 * MiB, ctx.config.big()};
  if (ctx.config.verify) sizes = {1 * MiB, ctx.config.big()};
  const std::vector<std::shared_ptr<Buffer>> buffers = {std::make_shared<Buffer>(4 * KiB),
                                                        std::make_shared<Buffer>(128 * KiB),
                                                        std::make_shared<Buffer>(1 * MiB)};
  for (CacheState state : {CacheState::Large, CacheState::Small}) {
    for (std::size_t size : sizes) {
      const std::string path = ctx.files.file(size, state);
      Group g{.scenario = "scan",
              .case_name = "one-shot",
              .size = size,
              .state = ctx.state_of(path, state),
              .unit = Unit::GBps,
              .work = static_cast<double>(size),
              .repeats = ctx.config.repeats(size >= GiB ? 9 : 15),
              .expected = expected_digest(0, size)};
      auto chose = std::make_shared<mmapxx::ScanMethod>(mmapxx::ScanMethod::Auto);
      std::vector<Method> methods = scan_methods(path, size, buffers, chose);
      // The guide's claim: a big file whose cache came from readahead maps at >= 1.4x read.
      if (state == CacheState::Large && size >= GiB) methods[3].goal = 1.4;
      ctx.run(g, methods);
      ctx.notes.push_back("scan " + size_label(size) + " " + state_name(state) +
                          ": for_each_chunk chose " +
                          (*chose == mmapxx::ScanMethod::Map ? "map" : "read(2)"));
    }
  }
}

}  // namespace mmbench
