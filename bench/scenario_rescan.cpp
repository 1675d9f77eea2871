// Scanning a file that is already mapped and faulted in costs what scanning RAM costs: the
// ceiling is memchr over populated anonymous memory of the same size.
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <cstring>

#include <fcntl.h>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

namespace mmbench {

void scenario_rescan(Context& ctx) {
  using mmapxx::AnonymousRegion;
  using mmapxx::MappedFile;
  std::vector<std::size_t> sizes = {64 * MiB, ctx.config.big()};
  if (ctx.config.verify || ctx.config.quick) sizes = {ctx.config.big()};
  for (std::size_t size : sizes) {
    const std::string path = ctx.files.file(size, CacheState::Large);
    auto anon = std::make_shared<AnonymousRegion>(size, mmapxx::AnonymousOptions{.populate = true});
    fill_content(anon->data(), size, 0);
    auto anon_huge = std::make_shared<AnonymousRegion>(
        size, mmapxx::AnonymousOptions{.huge_pages = mmapxx::HugePages::Transparent});
    fill_content(anon_huge->data(), size, 0);
    auto file = std::make_shared<MappedFile<mmapxx::Access::Read>>(path);
    auto file_huge = std::make_shared<MappedFile<mmapxx::Access::Read>>(
        path, mmapxx::MapOptions{.huge_pages = mmapxx::HugePages::Transparent});
    namespace bip = boost::interprocess;
    auto boost_map = std::make_shared<bip::file_mapping>(path.c_str(), bip::read_only);
    auto boost_region = std::make_shared<bip::mapped_region>(*boost_map, bip::read_only);
    // Fault every page in first, so the state printed is the one the timed runs see.
    file->advise(mmapxx::Advice::PopulateRead);
    file_huge->advise(mmapxx::Advice::PopulateRead);
    // The alternative to keeping a mapping: read the whole file into a heap buffer once
    // (untimed, like the mappings' first faults), then scan the buffer.
    auto copy = std::make_shared<Buffer>(size);
    {
      Fd fd(path, O_RDONLY);
      read_exact(fd.get(), copy->data(), size, 0);
    }
    Group g{.scenario = "rescan",
            .case_name = "already mapped",
            .size = size,
            .state = ctx.state_of(path, CacheState::Large),
            .unit = Unit::GBps,
            .work = static_cast<double>(size),
            .repeats = ctx.config.repeats(21),
            .expected = expected_digest(0, size)};
    // The warm-up run faults every page in; the timed runs then find them mapped.
    ctx.run(
        g,
        {{"anonymous memory (ceiling)", [anon](Sink& s) { s.consume(anon->data(), anon->size()); }},
         {"anonymous MADV_HUGEPAGE",
          [anon_huge](Sink& s) { s.consume(anon_huge->data(), anon_huge->size()); }},
         {"mmapxx mapped file", [file](Sink& s) { s.consume(file->data(), file->size()); }, 0.9},
         {"mmapxx mapped file MADV_HUGEPAGE",
          [file_huge](Sink& s) { s.consume(file_huge->data(), file_huge->size()); }},
         {"read whole file into a buffer once",
          [copy](Sink& s) { s.consume(copy->data(), copy->size); }},
         {"boost mapped_region", [boost_region](Sink& s) {
            s.consume(static_cast<const std::byte*>(boost_region->get_address()),
                      boost_region->get_size());
          }}});
  }
}

}  // namespace mmbench
