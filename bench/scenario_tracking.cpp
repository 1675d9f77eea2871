// Dirty-page tracking (WriteTracker): cost per tracked page of the two mechanisms, userfaultfd
// write-protect (asynchronous, read back with PAGEMAP_SCAN) against mprotect + SIGSEGV.
// "first write": one write to each page of a populated, armed region (the arming is untimed);
// "collect and re-arm": take_dirty_pages() over a region whose every page was written.
#include <mmapxx/mmapxx.hpp>

#include <memory>
#include <system_error>

#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::WriteTracking;

struct Tracked {
  mmapxx::AnonymousRegion region;
  mmapxx::WriteTracker tracker;
};

std::shared_ptr<Tracked> tracked(std::size_t size, WriteTracking how, std::error_code& ec) {
  auto t = std::make_shared<Tracked>();
  t->region = mmapxx::AnonymousRegion(size);
  for (std::size_t i = 0; i < size; i += 4096) t->region[i] = std::byte{1};  // populated
  t->tracker = mmapxx::WriteTracker::make(
      t->region.bytes(), mmapxx::Protection::Read | mmapxx::Protection::Write, how, ec);
  return t;
}

void write_every_page(Tracked& t) {
  auto* p = t.region.data();
  for (std::size_t i = 0; i < t.region.size(); i += 4096)
    *static_cast<volatile std::byte*>(p + i) = std::byte{2};
}

void consume_pages(const std::vector<std::size_t>& pages, Sink& s) {
  s.consume(reinterpret_cast<const std::byte*>(pages.data()), pages.size() * sizeof pages[0]);
}

}  // namespace

void scenario_tracking(Context& ctx) {
  const std::size_t size = ctx.config.verify ? 8 * MiB : ctx.config.quick ? 64 * MiB : 256 * MiB;
  std::error_code ec;
  const auto mprotect = tracked(size, WriteTracking::Mprotect, ec);
  if (ec) {
    ctx.notes.push_back("tracking: the mprotect mechanism failed: " + ec.message());
    return;
  }
  const auto uffd = tracked(size, WriteTracking::Userfaultfd, ec);
  if (ec) {
    ctx.notes.push_back("tracking: userfaultfd write-protect unavailable (" + ec.message() +
                        "); needs Linux 6.7+");
    return;
  }
  const auto both = {mprotect, uffd};

  Group first{.scenario = "tracking",
              .case_name = "first write",
              .size = size,
              .state = "populated",
              .unit = Unit::NsPerOp,
              .work = static_cast<double>(size / 4096),
              .repeats = ctx.config.repeats(9)};
  first.timing.prepare = [both] {
    for (const auto& t : both) t->tracker.reset();
  };
  const auto first_write = [](std::shared_ptr<Tracked> t) {
    return [t](Sink& s) {
      write_every_page(*t);
      if (s.checksum) consume_pages(t->tracker.dirty_pages(), s);
    };
  };
  ctx.run(first, {{"mprotect + SIGSEGV", first_write(mprotect)},
                  {"userfaultfd WP_ASYNC", first_write(uffd)}});

  Group collect{.scenario = "tracking",
                .case_name = "collect and re-arm",
                .size = size,
                .state = "every page written",
                .unit = Unit::NsPerOp,
                .work = static_cast<double>(size / 4096),
                .repeats = ctx.config.repeats(9)};
  collect.timing.prepare = [both] {
    for (const auto& t : both) write_every_page(*t);
  };
  const auto take = [](std::shared_ptr<Tracked> t) {
    return [t](Sink& s) {
      const std::vector<std::size_t> pages = t->tracker.take_dirty_pages();
      if (s.checksum) consume_pages(pages, s);
    };
  };
  ctx.run(collect,
          {{"mprotect + SIGSEGV", take(mprotect)}, {"userfaultfd PAGEMAP_SCAN", take(uffd)}});
}

}  // namespace mmbench
