// Reads from disk: the file is evicted (fdatasync + POSIX_FADV_DONTNEED, untimed) before every
// run. Meaningless on tmpfs, so refused there.
#include <fcntl.h>
#include <unistd.h>

#include <mmapxx/mmapxx.hpp>

#include "direct.hpp"
#include "io.hpp"
#include "scan_methods.hpp"
#include "scenarios.hpp"

namespace mmbench {

void scenario_cold(Context& ctx) {
  using mmapxx::Access;
  using mmapxx::Advice;
  using mmapxx::MappedFile;
  const std::string fs = filesystem_type(ctx.files.path());
  if (fs == "tmpfs" || fs == "ramfs") {
    ctx.notes.push_back("cold: --dir is on " + fs + ", which has no disk to read from; skipped");
    return;
  }
  const std::size_t size = ctx.config.verify ? 8 * MiB : ctx.config.quick ? 64 * MiB : 256 * MiB;
  const std::string path = ctx.files.file(size, CacheState::Cold);
  auto buffer = std::make_shared<Buffer>(128 * KiB);
  auto big_buffer = std::make_shared<Buffer>(1 * MiB);
  Timing cold{.warmup = false, .prepare = [path] { evict(path); }};
  evict(path);
  char state[96];
  std::snprintf(state, sizeof state, "cold (%.0f%% resident after evict)",
                100 * resident_fraction(path));

  Group seq{.scenario = "cold",
            .case_name = "sequential",
            .size = size,
            .state = state,
            .unit = Unit::GBps,
            .work = static_cast<double>(size),
            .repeats = ctx.config.repeats(7),
            .expected = expected_digest(0, size),
            .timing = cold};
  std::vector<Method> seq_methods = {
      {"read 128KiB FADV_SEQUENTIAL",
       [=](Sink& s) {
         Fd fd(path, O_RDONLY);
         ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
         for (ssize_t r; (r = ::read(fd.get(), buffer->data(), buffer->size)) > 0;)
           s.consume(buffer->data(), static_cast<std::size_t>(r));
       }},
      {"read 1MiB", [=](Sink& s) { read_file(path, *big_buffer, s); }},
      map_and_scan("mmapxx default", path),
      map_and_scan("mmapxx advice=Sequential", path, {.advice = Advice::Sequential}),
      {"mmapxx MADV_SEQUENTIAL+WILLNEED",
       [=](Sink& s) {
         MappedFile<Access::Read> f(path);
         f.advise(Advice::Sequential);
         f.advise(Advice::WillNeed);
         s.consume(f.data(), f.size());
       }},
      {"mmapxx MADV_POPULATE_READ",
       [=](Sink& s) {
         MappedFile<Access::Read> f(path);
         f.advise(Advice::PopulateRead);
         s.consume(f.data(), f.size());
       }},
      // MADV_SEQUENTIAL at map time, then MADV_POPULATE_READ, in the constructor.
      map_and_scan("mmapxx advice=Sequential, populate", path,
                   {.populate = true, .advice = Advice::Sequential}),
      // The library's helper must not lose here either: it probes the cache and reads.
      chunk_scan(path)};
  add_direct_sequential_methods(path, size, seq_methods, ctx.notes);
  ctx.run(seq, seq_methods);

  const std::size_t ops = ctx.config.verify ? 200 : ctx.config.quick ? 500 : 2000;
  auto offsets = random_offsets(ops, size, 7);
  Group rnd{.scenario = "cold",
            .case_name = "random 4KiB",
            .size = size,
            .state = state,
            .unit = Unit::NsPerOp,
            .work = static_cast<double>(ops),
            .repeats = ctx.config.repeats(7),
            .expected = random_digest(*offsets),
            .timing = cold};
  std::vector<Method> rnd_methods = random_methods(path, offsets, false);
  add_direct_random_methods(path, offsets, rnd_methods, ctx.notes);
  ctx.run(rnd, rnd_methods);
}

}  // namespace mmbench
