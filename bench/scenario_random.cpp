// Random 4 KiB reads of a warm file: a pointer into a mapping against pread into a buffer.
// Offsets are drawn once and shared by every method.
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <random>

#include <fcntl.h>

#include <mmapxx/mmapxx.hpp>

#include "direct.hpp"
#include "io.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::Advice;
using mmapxx::MappedFile;

constexpr std::size_t block = 4096;

std::shared_ptr<std::vector<std::uint64_t>> draw_offsets(std::size_t count, std::size_t span,
                                                         std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> pick(0, span / block - 1);
  auto offsets = std::make_shared<std::vector<std::uint64_t>>(count);
  for (auto& o : *offsets) o = pick(rng) * block;
  return offsets;
}

std::uint64_t digest_of(const std::vector<std::uint64_t>& offsets) {
  std::uint64_t sum = 0;
  for (std::uint64_t o : offsets) sum += expected_digest(o, block);
  return sum;
}

}  // namespace

// Shared with the cold scenario: pread of each offset, and fresh mappings with or without advice.
std::vector<Method> random_methods(const std::string& path,
                                   std::shared_ptr<std::vector<std::uint64_t>> offsets,
                                   bool persistent) {
  auto buffer = std::make_shared<Buffer>(block);
  std::vector<Method> m;
  m.push_back({"pread 4KiB", [=](Sink& s) {
                 Fd fd(path, O_RDONLY);
                 for (std::uint64_t o : *offsets) {
                   read_exact(fd.get(), buffer->data(), block, o);
                   s.consume(buffer->data(), block);
                 }
               }});
  if (persistent) {
    // A long-lived mapping: set up once, outside the timing; its pages get mapped by the warm-up.
    auto file = std::make_shared<MappedFile<Access::Read>>(
        path, mmapxx::MapOptions{.advice = Advice::Random});
    m.push_back({"mmapxx long-lived mapping", [=](Sink& s) {
                   for (std::uint64_t o : *offsets) s.consume(file->data() + o, block);
                 }});
    // Same, with MADV_HUGEPAGE: large page-cache folios can then be mapped by one PMD entry,
    // fewer TLB misses.
    auto huge = std::make_shared<MappedFile<Access::Read>>(
        path, mmapxx::MapOptions{.huge_pages = mmapxx::HugePages::Transparent});
    m.push_back({"mmapxx long-lived MADV_HUGEPAGE", [=](Sink& s) {
                   for (std::uint64_t o : *offsets) s.consume(huge->data() + o, block);
                 }});
    // A mapping lets the reader overlap the next block's cache misses with this block's work
    // when it knows the next offset (a batch of lookups); pread cannot.
    m.push_back({"mmapxx long-lived, prefetch next", [=](Sink& s) {
                   const auto& o = *offsets;
                   for (std::size_t i = 0; i < o.size(); ++i) {
                     if (i + 1 < o.size())
                       for (std::size_t line = 0; line < block; line += 64)
                         __builtin_prefetch(file->data() + o[i + 1] + line);
                     s.consume(file->data() + o[i], block);
                   }
                 }});
    namespace bip = boost::interprocess;
    auto fm = std::make_shared<bip::file_mapping>(path.c_str(), bip::read_only);
    auto region = std::make_shared<bip::mapped_region>(*fm, bip::read_only);
    m.push_back({"boost long-lived mapped_region", [=](Sink& s) {
                   const auto* base = static_cast<const std::byte*>(region->get_address());
                   for (std::uint64_t o : *offsets) s.consume(base + o, block);
                 }});
  }
  // Fresh mappings: map, read, unmap all timed, page faults included.
  m.push_back({"mmapxx fresh map advice=Random", [=](Sink& s) {
                 MappedFile<Access::Read> f(path, {.advice = Advice::Random});
                 for (std::uint64_t o : *offsets) s.consume(f.data() + o, block);
               }});
  m.push_back({"mmapxx fresh map default", [=](Sink& s) {
                 MappedFile<Access::Read> f(path);
                 for (std::uint64_t o : *offsets) s.consume(f.data() + o, block);
               }});
  return m;
}

std::shared_ptr<std::vector<std::uint64_t>> random_offsets(std::size_t count, std::size_t span,
                                                           std::uint64_t seed) {
  return draw_offsets(count, span, seed);
}

std::uint64_t random_digest(const std::vector<std::uint64_t>& offsets) {
  return digest_of(offsets);
}

void scenario_random(Context& ctx) {
  const std::size_t size = ctx.config.big();
  const std::string path = ctx.files.file(size, CacheState::Large);
  const std::size_t ops = ctx.config.verify ? 500 : ctx.config.quick ? 50000 : 200000;
  const std::size_t hot = std::min<std::size_t>(size, 16 * MiB);
  struct Case {
    const char* name;
    std::size_t span;
  };
  for (const Case& c : {Case{"uniform", size}, Case{"hot set 16MiB", hot}}) {
    auto offsets = draw_offsets(ops, c.span, 42);
    Group g{.scenario = "random",
            .case_name = c.name,
            .size = size,
            .state = ctx.state_of(path, CacheState::Large),
            .unit = Unit::NsPerOp,
            .work = static_cast<double>(ops),
            .repeats = ctx.config.repeats(11),
            .expected = digest_of(*offsets)};
    ctx.run(g, random_methods(path, offsets, true));
  }

  // The baselines a reader would pick instead: O_DIRECT pread and io_uring at depths 1, 8, 32.
  // O_DIRECT goes to the disk every time, so this group has fewer operations of its own.
  const std::size_t direct_ops = ctx.config.verify ? 200 : ctx.config.quick ? 2000 : 20000;
  auto offsets = draw_offsets(direct_ops, size, 43);
  Group g{.scenario = "random",
          .case_name = "uniform, io_uring",
          .size = size,
          .state = ctx.state_of(path, CacheState::Large),
          .unit = Unit::NsPerOp,
          .work = static_cast<double>(direct_ops),
          .repeats = ctx.config.repeats(7),
          .expected = digest_of(*offsets)};
  auto file = std::make_shared<MappedFile<Access::Read>>(
      path, mmapxx::MapOptions{.advice = Advice::Random});
  std::vector<Method> methods = {{"pread 4KiB",
                                  [=, buffer = std::make_shared<Buffer>(block)](Sink& s) {
                                    Fd fd(path, O_RDONLY);
                                    for (std::uint64_t o : *offsets) {
                                      read_exact(fd.get(), buffer->data(), block, o);
                                      s.consume(buffer->data(), block);
                                    }
                                  }},
                                 {"mmapxx long-lived mapping", [=](Sink& s) {
                                    for (std::uint64_t o : *offsets)
                                      s.consume(file->data() + o, block);
                                  }}};
  add_direct_random_methods(path, offsets, methods, ctx.notes);
  ctx.run(g, methods);
}

}  // namespace mmbench
