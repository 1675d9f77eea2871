// First touch of anonymous memory: the cost is the kernel zeroing and mapping pages, so the
// page size decides it. A run maps, writes one byte per 4 KiB page, and unmaps.
#include <mmapxx/mmapxx.hpp>

#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::AnonymousOptions;
using mmapxx::AnonymousRegion;
using mmapxx::HugePages;

void touch(AnonymousRegion& r, Sink& s) {
  for (std::size_t i = 0; i < r.size(); i += 4096) r[i] = std::byte{1};
  if (s.checksum) s.consume(r.data(), r.size());
}

}  // namespace

void scenario_anon(Context& ctx) {
  const std::size_t size = ctx.config.verify ? 8 * MiB : ctx.config.quick ? 128 * MiB : 512 * MiB;
  const HugePages thp = HugePages::Transparent;
  Group g{.scenario = "anon",
          .case_name = "first touch",
          .size = size,
          .state = "-",
          .unit = Unit::NsPerOp,
          .work = static_cast<double>(size / 4096),
          .repeats = ctx.config.repeats(15)};
  ctx.run(g, {{"4KiB pages (default)",
               [=](Sink& s) {
                 AnonymousRegion r(size);
                 touch(r, s);
               }},
              {"MADV_HUGEPAGE",
               [=](Sink& s) {
                 AnonymousRegion r(size, AnonymousOptions{.huge_pages = thp});
                 touch(r, s);
               }},
              {"populate (MAP_POPULATE)",
               [=](Sink& s) {
                 AnonymousRegion r(size, AnonymousOptions{.populate = true});
                 touch(r, s);
               }},
              {"MADV_POPULATE_WRITE",
               [=](Sink& s) {
                 AnonymousRegion r(size);
                 r.advise(mmapxx::Advice::PopulateWrite);
                 touch(r, s);
               }},
              {"MADV_HUGEPAGE then POPULATE_WRITE",
               [=](Sink& s) {
                 AnonymousRegion r(size, AnonymousOptions{.huge_pages = thp});
                 r.advise(mmapxx::Advice::PopulateWrite);
                 touch(r, s);
               }},
              // The library's way: advice first, then MADV_POPULATE_WRITE, so huge pages.
              {"mmapxx populate=true + huge_pages", [=](Sink& s) {
                 AnonymousRegion r(size, AnonymousOptions{.populate = true, .huge_pages = thp});
                 touch(r, s);
               }}});
}

}  // namespace mmbench
