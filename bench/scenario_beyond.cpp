// Beyond memory (the CIDR 2022 experiment, scaled): mmbench's page cache capped by a memory
// cgroup, a file 4x the cap, random 4 KiB reads (uniform and a hot set) and a sequential scan.
// The random runs are timed in slices from a cold start, so the table shows throughput over
// time (the collapse under eviction is the point), with major faults and reclaim per method.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

#include <mmapxx/mmapxx.hpp>

#include "cgroup.hpp"
#include "direct.hpp"
#include "io.hpp"
#include "scan_methods.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::Advice;
using mmapxx::MappedFile;

constexpr std::size_t block = 4096;

// The long-lived mappings, remade before each method: pages mapped by a live mapping survive
// POSIX_FADV_DONTNEED, so a method would otherwise start with the previous one's pages.
struct Maps {
  MappedFile<Access::Read> plain, random;
  void reset(const std::string& path) {
    plain = {};
    random = {};
    evict(path);
    plain = MappedFile<Access::Read>(path);
    random = MappedFile<Access::Read>(path, {.advice = Advice::Random});
  }
};

long major_faults() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_majflt;
}

// The methods for one slice of offsets; every slice gets the same names in the same order.
std::vector<Method> beyond_methods(const std::string& path,
                                   std::shared_ptr<std::vector<std::uint64_t>> offsets,
                                   const std::shared_ptr<Maps>& maps,
                                   std::vector<std::string>& notes) {
  auto buffer = std::make_shared<Buffer>(block);
  std::vector<Method> m;
  m.push_back({"pread 4KiB", [=](Sink& s) {
                 Fd fd(path, O_RDONLY);
                 for (std::uint64_t o : *offsets) {
                   read_exact(fd.get(), buffer->data(), block, o);
                   s.consume(buffer->data(), block);
                 }
               }});
  m.push_back({"mmapxx default", [=](Sink& s) {
                 for (std::uint64_t o : *offsets) s.consume(maps->plain.data() + o, block);
               }});
  m.push_back({"mmapxx advice=Random", [=](Sink& s) {
                 for (std::uint64_t o : *offsets) s.consume(maps->random.data() + o, block);
               }});
  // A batch of 32 upcoming reads is announced with MADV_WILLNEED (reads start in parallel),
  // then consumed.
  m.push_back({"mmapxx advice=Random + WillNeed x32", [=](Sink& s) {
                 const auto& o = *offsets;
                 constexpr std::size_t batch = 32;
                 for (std::size_t i = 0; i < o.size(); i += batch) {
                   const std::size_t end = std::min(o.size(), i + batch);
                   for (std::size_t j = i; j < end; ++j)
                     maps->random.advise(Advice::WillNeed, o[j], block);
                   for (std::size_t j = i; j < end; ++j)
                     s.consume(maps->random.data() + o[j], block);
                 }
               }});
  add_direct_random_methods(path, offsets, m, notes);
  return m;
}

void add_notes(Context& ctx, const std::vector<std::string>& notes) {
  for (const std::string& n : notes)
    if (std::find(ctx.notes.begin(), ctx.notes.end(), n) == ctx.notes.end()) ctx.notes.push_back(n);
}

// Every other offset of a slice, from `first`: one thread's share.
std::shared_ptr<std::vector<std::uint64_t>> share(const std::vector<std::uint64_t>& all,
                                                  std::size_t first, std::size_t step) {
  auto out = std::make_shared<std::vector<std::uint64_t>>();
  for (std::size_t i = first; i < all.size(); i += step) out->push_back(all[i]);
  return out;
}

// One case timed over time: every method from a cold start, its slices back to back, each
// slice's reads split over `threads` threads (each takes every other read); one row per method
// whose spread is over its slices, and a note with the series, major faults and reclaim.
struct OverTime {
  std::string path;
  std::size_t size;
  std::string state;
  std::size_t slices;

  void timed(Context& ctx, const MemoryCap& limit, const std::shared_ptr<Maps>& maps,
             const std::string& case_name, int threads,
             const std::vector<std::shared_ptr<std::vector<std::uint64_t>>>& slice_offsets,
             double budget) const {
    // methods[k][t]: slice k's methods over thread t's share of its reads (one io_uring ring
    // each, so no two threads share one).
    std::vector<std::vector<std::vector<Method>>> methods(slices);
    std::vector<std::string> notes;
    for (std::size_t k = 0; k < slices; ++k)
      for (int t = 0; t < threads; ++t)
        methods[k].push_back(beyond_methods(
            path, share(*slice_offsets[k], static_cast<std::size_t>(t), threads), maps, notes));
    add_notes(ctx, notes);
    const std::size_t ops = slice_offsets[0]->size();
    const std::string suffix = threads == 1 ? "" : ", 2 threads";
    const std::size_t n = methods[0][0].size();
    std::vector<std::vector<double>> per_slice(n);
    for (std::size_t i = 0; i < n; ++i) {
      maps->reset(path);
      const long majors = major_faults();
      const long long out = limit.stat("pgpgout");
      // A method that collapses (mapping without MADV_RANDOM: milliseconds per read) would take
      // hours: it stops after the budget, and its row says how many slices it ran.
      const double began = now_seconds();
      for (std::size_t k = 0; k < slices && now_seconds() - began < budget; ++k) {
        check_stop();
        const double start = now_seconds();
        if (threads == 1) {
          Sink sink;
          methods[k][0][i].run(sink);
        } else {
          std::thread helper([&] {
            Sink sink;
            methods[k][1][i].run(sink);
          });
          Sink sink;
          methods[k][0][i].run(sink);
          helper.join();
        }
        per_slice[i].push_back((now_seconds() - start) / static_cast<double>(ops) * 1e9);
      }
      std::string series =
          per_slice[i].size() < slices
              ? " (budget spent after " + std::to_string(per_slice[i].size()) + " slices)"
              : "";
      for (double v : per_slice[i]) series += " " + std::to_string(static_cast<long>(v));
      ctx.notes.push_back(case_name + " " + methods[0][0][i].name + suffix +
                          ": ns/op per slice of " + std::to_string(ops) + " reads:" + series +
                          "; major faults " + std::to_string(major_faults() - majors) +
                          ", cgroup pgpgout " +
                          std::to_string(out < 0 ? -1 : limit.stat("pgpgout") - out));
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<double> ratios;
      for (std::size_t k = 0; k < per_slice[i].size() && k < per_slice[0].size(); ++k)
        ratios.push_back(per_slice[0][k] / per_slice[i][k]);
      const Spread v = spread_of(per_slice[i]);
      const Spread q = spread_of(ratios);
      Result r;
      r.scenario = "beyond";
      r.case_name = case_name;
      r.method = methods[0][0][i].name + suffix;
      r.size = size;
      r.state = state;
      r.unit = Unit::NsPerOp;
      r.value = v.median;
      r.value_min = v.min;
      r.value_max = v.max;
      r.ratio = q.median;
      r.ratio_min = q.min;
      r.ratio_max = q.max;
      r.repeats = static_cast<int>(per_slice[i].size());
      r.baseline = methods[0][0][0].name + suffix;
      r.over_time = per_slice[i];
      std::printf("  %-10s %-22s %-34s %8s  %10.3f ns/op  %5.2fx [%.2f-%.2f] (over time)\n",
                  r.scenario.c_str(), r.case_name.c_str(), r.method.c_str(),
                  size_label(r.size).c_str(), r.value, r.ratio, r.ratio_min, r.ratio_max);
      ctx.results.push_back(std::move(r));
    }
  }
};

}  // namespace

void scenario_beyond(Context& ctx) {
  const Config& cfg = ctx.config;
  if (cfg.quick && !cfg.verify && cfg.scenario != "beyond") {
    ctx.notes.push_back("beyond: skipped in --quick (run it with --scenario beyond)");
    return;
  }
  const std::size_t cap = cfg.verify ? 16 * MiB : cfg.quick ? 64 * MiB : 256 * MiB;
  const std::size_t size = 4 * cap;
  const std::string path = ctx.files.temp_path("beyond-file");
  write_content_file(path, size, MiB);
  evict(path);
  MemoryCap limit(cap);
  if (!limit.ok()) {
    ::unlink(path.c_str());
    ctx.notes.push_back("beyond: skipped: " + limit.why());
    return;
  }
  char state[96];
  std::snprintf(state, sizeof state, "cgroup cap %s, file %s, cold start", size_label(cap).c_str(),
                size_label(size).c_str());
  auto maps = std::make_shared<Maps>();
  maps->reset(path);

  // Enough reads to touch 2.5x the cap: the cache must fill and evict.
  const std::size_t ops = cfg.verify ? 400 : cfg.quick ? 40000 : 160000;
  const std::size_t slices = cfg.verify ? 1 : 20;
  struct Case {
    const char* name;
    std::size_t span;
  };
  for (const Case& c : {Case{"uniform", size}, Case{"hot set", cap / 2}}) {
    std::mt19937_64 rng(45);
    std::uniform_int_distribution<std::uint64_t> pick(0, c.span / block - 1);
    std::vector<std::shared_ptr<std::vector<std::uint64_t>>> slice_offsets;
    for (std::size_t k = 0; k < slices; ++k) {
      auto o = std::make_shared<std::vector<std::uint64_t>>(ops / slices);
      for (auto& x : *o) x = pick(rng) * block;
      slice_offsets.push_back(o);
    }
    const std::string case_name = std::string("beyond ") + c.name;
    if (cfg.verify) {
      std::vector<std::string> notes;
      const std::vector<Method> methods = beyond_methods(path, slice_offsets[0], maps, notes);
      add_notes(ctx, notes);
      maps->reset(path);
      Group g{.scenario = "beyond",
              .case_name = case_name,
              .size = size,
              .state = state,
              .expected = random_digest(*slice_offsets[0])};
      ctx.run(g, methods);
      continue;
    }
    const OverTime run{.path = path, .size = size, .state = state, .slices = slices};
    for (int threads : {1, 2}) {
      check_stop();
      run.timed(ctx, limit, maps, case_name, threads, slice_offsets, cfg.quick ? 5 : 30);
    }
  }

  // One sequential pass, from a cold start every run.
  Group seq{.scenario = "beyond",
            .case_name = "beyond sequential",
            .size = size,
            .state = state,
            .unit = Unit::GBps,
            .work = static_cast<double>(size),
            .repeats = cfg.repeats(3),
            .expected = expected_digest(0, size),
            .timing = {.warmup = false, .prepare = [path] { evict(path); }}};
  auto buffer = std::make_shared<Buffer>(128 * KiB);
  ctx.run(seq, {{"read 128KiB", [=](Sink& s) { read_file(path, *buffer, s); }},
                map_and_scan("mmapxx default", path),
                map_and_scan("mmapxx advice=Sequential", path, {.advice = Advice::Sequential}),
                chunk_scan(path)});
  maps.reset();
  ::unlink(path.c_str());
}

}  // namespace mmbench
