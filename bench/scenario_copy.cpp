// Copy of a file: cp(1) against each way mmcp can copy (the default, copy_file_range(2) into
// fallocated extents; and mmcp --method ...: a bounce buffer, write(2) from populated windows,
// copy_file_range without fallocate), a read/write loop and a bare copy_file_range loop; on a warm
// source, a cold one (evicted before every run) and a warm one that is half holes. In those three
// cases writeback is not waited for: they time how fast each method fills the page cache. The
// "durable" cases time a finished copy: the file's data and its directory entry on disk before
// the clock stops (cp then fdatasync and a directory fsync, mmcp --fsync, copy_file_range then the
// same syncs). The "tree" case copies 2,000 small files (1-64 KiB, from 20 directories) into one
// directory with one command: cp SRC... DIR against mmcp SRC... DIR, where per-file syscalls
// dominate (mmcp with its default -j, and mmcp -j1 to show what the threads buy).
// Before every run, untimed: the previous destination is deleted (its dirty pages dropped, not
// written; the tree's is moved aside until the case ends), syncfs(2) flushes the filesystem of
// --dir (whatever is still dirty or under writeback there, and the ext4 journal), and a cold source
// is evicted; so no method's clock pays for the writeback of the method before it, and each starts
// from the same state. /proc/meminfo's Dirty + Writeback is read just before each clock starts; its
// largest value is printed as a note. Neighbours on the CPUs (builds on a shared machine) are the
// other cause of a wide spread: before each run mmbench waits (at most 1 s) for a quiet moment,
// measures the CPU pressure (PSI) during each run, and prints the ratios of the quiet rounds apart
// from those of all rounds. Besides the medians, each method's spread is printed as a note:
// min/median/max of its GB/s, and of its speed relative to the cp run of the same round (the rounds
// are interleaved).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

extern char** environ;

namespace mmbench {

namespace {

void run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(args[0] + " failed");
}

// Verify mode only: what landed in the destination.
void check_copy(Sink& s, const std::string& dst) {
  if (!s.checksum) return;
  Buffer buffer(1 << 20);
  read_file(dst, buffer, s);
}

std::string find_mmcp(const Config& cfg) {
  if (!cfg.mmcp.empty()) return cfg.mmcp;
  namespace fs = std::filesystem;
  // Built next to us: <build>/bench/mmbench and <build>/examples/tools/mmcp.
  const fs::path candidate =
      fs::path(cfg.self).parent_path() / ".." / "examples" / "tools" / "mmcp";
  std::error_code ec;
  return fs::exists(candidate, ec) ? fs::canonical(candidate, ec).string() : std::string();
}

// Dirty + Writeback of /proc/meminfo in KiB (-1 if unreadable).
long dirty_kib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long value = 0, total = 0;
  int found = 0;
  while (in >> key >> value) {
    if (key == "Dirty:" || key == "Writeback:") {
      total += value;
      ++found;
    }
    in.ignore(64, '\n');
  }
  return found == 2 ? total : -1;
}

// Microseconds some task spent waiting for a CPU since boot (/proc/pressure/cpu, "some total");
// -1 without PSI. Over a run, its growth divided by the run's time is how much of the run the
// machine had more runnable tasks than CPUs: our copy, or a neighbour, was kept waiting.
long long cpu_stall_us() {
  std::ifstream in("/proc/pressure/cpu");
  std::string word;
  while (in >> word)
    if (word.starts_with("total=")) return std::stoll(word.substr(6));
  return -1;
}

// Fraction of the interval [start_us, now] (stall counter, wall seconds) spent stalled.
double stalled_since(long long start_us, double seconds) {
  const long long now = cpu_stall_us();
  if (start_us < 0 || now < 0 || seconds <= 0) return -1;
  return static_cast<double>(now - start_us) / 1e6 / seconds;
}

// The untimed step before every run that makes the runs comparable: syncfs of the filesystem
// the copies go to (the dirty and writeback memory left is kept as the largest seen), then a wait
// of at most 1 s for a quiet moment: a 100 ms window with CPU pressure below 10%.
class Settle {
 public:
  // evict: a cold source, evicted (and its pages left counted) after the syncfs.
  explicit Settle(std::string dir, std::string evict = {})
      : dir_(std::move(dir)), evict_(std::move(evict)) {}
  void operator()() {
    Fd fd(dir_, O_RDONLY | O_DIRECTORY);
    if (::syncfs(fd.get()) != 0)
      throw std::runtime_error("syncfs " + dir_ + ": " + std::strerror(errno));
    worst_kib_ = std::max(worst_kib_, dirty_kib());
    if (!evict_.empty()) {
      evict(evict_);
      const mmapxx::PageCacheStats left = mmapxx::page_cache_stats(evict_);
      worst_cached_ = std::max(worst_cached_, left.cached);
    }
    for (int i = 0; i < 10; ++i) {
      const long long before = cpu_stall_us();
      const double start = now_seconds();
      ::usleep(100000);
      const double stalled = stalled_since(before, now_seconds() - start);
      if (stalled < 0.1) break;
    }
  }
  // "Dirty+Writeback before the clock: at most N MiB"
  void note(Context& ctx, const std::string& case_name) const {
    if (ctx.config.verify) return;
    const std::string line =
        "copy/" + case_name + ": Dirty+Writeback before each clock, after syncfs: at most " +
        std::to_string(worst_kib_ / 1024) + " MiB" +
        (evict_.empty() ? std::string()
                        : "; source pages still cached after eviction: at most " +
                              std::to_string(worst_cached_));
    std::printf("  %s\n", line.c_str());
    ctx.notes.push_back(line);
  }

 private:
  std::string dir_;
  std::string evict_;
  long worst_kib_ = 0;
  std::uint64_t worst_cached_ = 0;
};

// One timed run: its wall-clock time and the fraction of it the machine's CPUs were contended.
struct Run {
  double seconds = 0;
  double stalled = -1;  // unknown without PSI
};
// Each method's runs, round by round (the harness keeps only medians).
using Samples = std::map<std::string, std::vector<Run>>;

Method timed(std::shared_ptr<Samples> samples, std::string name, std::function<void(Sink&)> run) {
  return {name, [samples, name, run](Sink& s) {
            const long long stall = cpu_stall_us();
            const double start = now_seconds();
            run(s);
            const double seconds = now_seconds() - start;
            (*samples)[name].push_back({seconds, stalled_since(stall, seconds)});
          }};
}

std::string spread(std::vector<double> v, const char* format) {
  if (v.empty()) return "-";
  std::sort(v.begin(), v.end());
  char text[96];
  std::snprintf(text, sizeof text, format, v.front(), median(v), v.back());
  return text;
}

// A round is quiet when no run in it was stalled for CPU more than this fraction of its time.
constexpr double quiet_stall = 0.1;

// One note per method: GB/s and the ratio to the same round's cp, as min/median/max, over every
// round and then over the quiet rounds only; and one note on how contended the rounds were.
// `commands`: each run is that many commands in a row; their time per command is printed instead
// of a data rate.
void note_spread(Context& ctx, const std::string& case_name, const Samples& samples,
                 const std::vector<Method>& methods, std::size_t size, bool warmup,
                 int commands = 0) {
  if (ctx.config.verify) return;
  const std::size_t skip = warmup ? 1 : 0;
  const auto& cp = samples.at("cp");
  std::vector<double> worst;  // per round: the largest stalled fraction of its runs
  for (std::size_t i = skip; i < cp.size(); ++i) {
    double w = 0;
    for (const Method& m : methods) {
      const auto& runs = samples.at(m.name);
      w = std::max(w, i < runs.size() ? runs[i].stalled : 1.0);
    }
    worst.push_back(w);
  }
  const auto print = [&](const std::string& line) {
    std::printf("  %s\n", line.c_str());
    ctx.notes.push_back(line);
  };
  std::size_t quiet_rounds = 0;
  for (double w : worst) quiet_rounds += w >= 0 && w < quiet_stall ? 1 : 0;
  print("copy/" + case_name + ": CPU pressure (PSI some) per round, worst run: " +
        spread(worst, "%.2f/%.2f/%.2f") + "; " + std::to_string(quiet_rounds) + " of " +
        std::to_string(worst.size()) + " rounds quiet (< 0.10)");
  for (const Method& m : methods) {
    const auto& t = samples.at(m.name);
    std::vector<double> rates, ratios, quiet;
    for (std::size_t i = skip; i < t.size() && i < cp.size(); ++i) {
      rates.push_back(commands > 0 ? t[i].seconds * 1e3 / commands
                                   : static_cast<double>(size) / t[i].seconds / 1e9);
      ratios.push_back(cp[i].seconds / t[i].seconds);
      const double w = worst[i - skip];
      if (w >= 0 && w < quiet_stall) quiet.push_back(ratios.back());
    }
    print("copy/" + case_name + ": " + m.name + ": " +
          spread(rates, commands > 0 ? "%.2f/%.2f/%.2f ms a command" : "%.2f/%.2f/%.2f GB/s") +
          ", vs cp same round " + spread(ratios, "%.2fx/%.2fx/%.2fx") + " (min/median/max of " +
          std::to_string(rates.size()) + "); quiet rounds " + spread(quiet, "%.2fx/%.2fx/%.2fx") +
          " (of " + std::to_string(quiet.size()) + ")");
  }
}

// A warm file of `size` bytes whose every other 64 MiB is a hole.
std::string sparse_file(Context& ctx, std::size_t size) {
  const std::string path = ctx.files.temp_path("copy-sparse-source");
  write_content_file(path, size, MiB);
  {
    Fd fd(path, O_RDWR);
    const std::size_t step = std::min<std::size_t>(64 * MiB, size / 4);
    for (std::size_t at = step; at + step <= size; at += 2 * step)
      if (::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(at),
                      static_cast<off_t>(step)) != 0)
        throw std::runtime_error("fallocate(PUNCH_HOLE) failed");
  }
  read_through(path, MiB);
  return path;
}

// The bare copy_file_range loop: what a program that knows nothing of holes or extents does.
void copy_range_loop(const std::string& src, const std::string& dst, std::size_t size) {
  Fd in(src, O_RDONLY);
  Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
  for (std::size_t left = size; left > 0;) {
    const ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
    if (n <= 0) throw std::runtime_error("copy_file_range");
    left -= static_cast<std::size_t>(n);
  }
}

// What a durable copy waits for: the file's data, then the directory entry naming it.
void sync_copy(const std::string& dst) {
  {
    Fd out(dst, O_RDONLY);
    if (::fdatasync(out.get()) != 0) throw std::runtime_error("fdatasync " + dst);
  }
  Fd directory(std::filesystem::path(dst).parent_path().string(), O_RDONLY | O_DIRECTORY);
  if (::fsync(directory.get()) != 0) throw std::runtime_error("fsync of " + dst + "'s directory");
}

// A tree of `count` small files (1-64 KiB of benchmark content, sizes fixed by a simple
// generator) in 20 directories two levels deep; names are unique so all fit in one directory.
std::vector<std::string> small_tree(Context& ctx, std::size_t count, std::size_t& bytes) {
  const std::string root = ctx.files.temp_path("copy-tree-source");
  std::vector<std::string> files;
  bytes = 0;
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < count; ++i) {
    const std::string dir =
        root + "/d" + std::to_string(i % 4) + "/e" + std::to_string((i / 4) % 5);
    std::filesystem::create_directories(dir);
    state = state * 1664525u + 1013904223u;
    const std::size_t size = (1 + (state >> 16) % 64) * KiB;
    files.push_back(dir + "/f" + std::to_string(i));
    write_content_file(files.back(), size, size);
    bytes += size;
  }
  for (const auto& f : files) read_through(f, MiB);
  return files;
}

// One small file copied by `count` commands in a row: what a user who times `mmcp a b` against
// `cp a b` sees, process start included (the dynamic loader, static initialisers, option
// parsing). The destination exists after the first command, as after a user's first try.
void scenario_copy_one(Context& ctx, const std::string& mmcp) {
  if (mmcp.empty()) return;
  const std::size_t size = 16 * KiB;
  const int count = ctx.config.verify ? 2 : ctx.config.quick ? 20 : 100;
  const std::string src = ctx.files.temp_path("copy-one-source");
  write_content_file(src, size, size);
  const std::string dst = ctx.files.temp_path("copy-one-destination");
  const auto check = [dst](Sink& s) {
    if (!s.checksum) return;
    Buffer buffer(size);
    read_file(dst, buffer, s);
  };
  auto samples = std::make_shared<Samples>();
  std::vector<Method> m;
  for (const auto& [name, args] :
       {std::pair{std::string("cp"), std::vector<std::string>{"cp", src, dst}},
        std::pair{std::string("mmcp"), std::vector<std::string>{mmcp, "-q", src, dst}}}) {
    m.push_back(timed(samples, name, [=](Sink& s) {
      for (int i = 0; i < count; ++i) run_program(args);
      check(s);
    }));
  }
  Group g{.scenario = "copy",
          .case_name = "one 16KiB file, " + std::to_string(count) + " commands",
          .size = size,
          .state = "warm, process start included",
          .unit = Unit::NsPerOp,  // per command
          .work = static_cast<double>(count),
          .repeats = ctx.config.repeats(9),
          .expected = std::nullopt};
  ctx.run(g, m);
  note_spread(ctx, g.case_name, *samples, m, size * count, g.timing.warmup, count);
  std::filesystem::remove(dst);
  std::filesystem::remove(src);
}

void scenario_copy_tree(Context& ctx, const std::string& mmcp) {
  const std::size_t count = ctx.config.verify ? 40 : ctx.config.quick ? 500 : 2000;
  std::size_t bytes = 0;
  const std::vector<std::string> files = small_tree(ctx, count, bytes);
  const std::string dir = ctx.files.temp_path("copy-tree-destination");
  auto samples = std::make_shared<Samples>();
  // Verify: every copied file, in a fixed order.
  const auto check_tree = [files, dir](Sink& s) {
    if (!s.checksum) return;
    Buffer buffer(1 << 20);
    for (const auto& f : files)
      read_file(dir + "/" + std::filesystem::path(f).filename().string(), buffer, s);
  };
  const auto command = [&](std::vector<std::string> head) {
    head.insert(head.end(), files.begin(), files.end());
    head.push_back(dir + "/");
    return head;
  };
  std::vector<Method> m;
  const std::vector<std::string> cp_args = command({"cp"});
  m.push_back(timed(samples, "cp", [=](Sink& s) {
    run_program(cp_args);
    check_tree(s);
  }));
  if (!mmcp.empty()) {
    const std::vector<std::string> mmcp_args = command({mmcp, "-q"});
    m.push_back(timed(samples, "mmcp", [=](Sink& s) {
      run_program(mmcp_args);
      check_tree(s);
    }));
    const std::vector<std::string> one_job = command({mmcp, "-q", "-j1"});
    m.push_back(timed(samples, "mmcp -j1", [=](Sink& s) {
      run_program(one_job);
      check_tree(s);
    }));
  }
  Group g{.scenario = "copy",
          .case_name = "tree of " + std::to_string(count) + " small files",
          .size = bytes,
          .state = "warm",
          .unit = Unit::GBps,
          .work = static_cast<double>(bytes),
          .repeats = ctx.config.repeats(9),
          .expected = std::nullopt};
  auto settle = std::make_shared<Settle>(ctx.files.path());
  // The previous run's copies are moved aside, not deleted, until the case is over: ext4 skips
  // inodes deleted in the last minutes when it allocates one (recently_deleted()), so deleting
  // 2,000 files before a run made that run's file creations several times slower, growing from
  // round to round.
  auto runs = std::make_shared<int>(0);
  g.timing.prepare = [dir, settle, runs] {
    if (std::filesystem::exists(dir))
      std::filesystem::rename(dir, dir + ".run" + std::to_string(++*runs));
    std::filesystem::create_directory(dir);
    (*settle)();
  };
  ctx.run(g, m);
  note_spread(ctx, g.case_name, *samples, m, bytes, g.timing.warmup);
  settle->note(ctx, g.case_name);
  std::filesystem::remove_all(dir);
  for (int i = 1; i <= *runs; ++i) std::filesystem::remove_all(dir + ".run" + std::to_string(i));
  std::filesystem::remove_all(ctx.files.temp_path("copy-tree-source"));
}

}  // namespace

void scenario_copy(Context& ctx) {
  const std::size_t size = ctx.config.big();
  const std::string warm = ctx.files.file(size, CacheState::Large);
  const std::string cold = ctx.files.file(size, CacheState::Cold);
  const std::string holes = sparse_file(ctx, size);
  const std::string dst = ctx.files.temp_path("copy-destination");
  const std::string mmcp = find_mmcp(ctx.config);
  auto buffer = std::make_shared<Buffer>(256 * KiB);
  if (mmcp.empty())
    ctx.notes.push_back("copy: mmcp not found next to mmbench (give --mmcp PATH); skipped");

  // Durable: each copy is on disk (data and name) before the clock stops.
  const auto durable_methods_for = [&](const std::string& src, std::shared_ptr<Samples> samples) {
    std::vector<Method> m;
    m.push_back(timed(samples, "cp", [=](Sink& s) {
      run_program({"cp", src, dst});
      sync_copy(dst);
      check_copy(s, dst);
    }));
    if (!mmcp.empty())
      m.push_back(timed(samples, "mmcp --fsync", [=](Sink& s) {
        run_program({mmcp, "-q", "--fsync", src, dst});
        check_copy(s, dst);
      }));
    m.push_back(timed(samples, "copy_file_range", [=](Sink& s) {
      copy_range_loop(src, dst, size);
      sync_copy(dst);
      check_copy(s, dst);
    }));
    return m;
  };

  const auto methods_for = [&](const std::string& src, std::shared_ptr<Samples> samples) {
    std::vector<Method> m;
    m.push_back(timed(samples, "cp", [=](Sink& s) {
      run_program({"cp", src, dst});
      check_copy(s, dst);
    }));
    // "mmcp" is the default (copy_file_range into fallocated extents); the others are the ways
    // it was measured against.
    const std::pair<const char*, std::vector<std::string>> variants[] = {
        {"mmcp", {}},
        {"mmcp buffer", {"--method", "buffer"}},
        {"mmcp write", {"--method", "write"}},
        {"mmcp write+fallocate", {"--method", "write", "--preallocate"}},
        {"mmcp copy_file_range", {"--method", "copy_file_range"}},
    };
    if (!mmcp.empty())
      for (const auto& [name, options] : variants) {
        std::vector<std::string> args = {mmcp, "-q"};
        args.insert(args.end(), options.begin(), options.end());
        args.push_back(src);
        args.push_back(dst);
        m.push_back(timed(samples, name, [=](Sink& s) {
          run_program(args);
          check_copy(s, dst);
        }));
      }
    m.push_back(timed(samples, "read/write 256KiB", [=](Sink& s) {
      {
        Fd in(src, O_RDONLY);
        Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
        while (true) {
          const ssize_t r = ::read(in.get(), buffer->data(), buffer->size);
          if (r < 0) throw std::runtime_error("read");
          if (r == 0) break;
          write_all(out.get(), buffer->data(), static_cast<std::size_t>(r));
        }
      }
      check_copy(s, dst);
    }));
    m.push_back(timed(samples, "copy_file_range", [=](Sink& s) {
      copy_range_loop(src, dst, size);
      check_copy(s, dst);
    }));
    return m;
  };

  struct Case {
    const char* name;
    std::string src;
    CacheState state;
    bool evict_first;
    std::optional<std::uint64_t> expected;
    bool durable;
  };
  const Case cases[] = {
      {"warm source", warm, CacheState::Large, false, expected_digest(0, size), false},
      {"cold source", cold, CacheState::Cold, true, expected_digest(0, size), false},
      {"warm, half holes", holes, CacheState::Large, false, std::nullopt, false},
      {"warm source, durable", warm, CacheState::Large, false, expected_digest(0, size), true},
      {"cold source, durable", cold, CacheState::Cold, true, expected_digest(0, size), true},
      {"warm, half holes, durable", holes, CacheState::Large, false, std::nullopt, true},
  };
  for (const Case& c : cases) {
    auto samples = std::make_shared<Samples>();
    const std::vector<Method> m =
        c.durable ? durable_methods_for(c.src, samples) : methods_for(c.src, samples);
    Group g{.scenario = "copy",
            .case_name = c.name,
            .size = size,
            .state = ctx.state_of(c.src, c.state),
            .unit = Unit::GBps,
            .work = static_cast<double>(size),
            .repeats = ctx.config.repeats(c.durable ? 5 : 7),
            .expected = c.expected};
    const std::string src = c.src;
    const bool cold = c.evict_first;
    g.timing.warmup = !cold;
    auto settle = std::make_shared<Settle>(ctx.files.path(), cold ? src : std::string());
    // Unlinked first: the previous copy's dirty pages are dropped instead of written back.
    g.timing.prepare = [dst, settle] {
      ::unlink(dst.c_str());
      (*settle)();
    };
    ctx.run(g, m);
    note_spread(ctx, c.name, *samples, m, size, g.timing.warmup);
    settle->note(ctx, c.name);
  }
  ::unlink(dst.c_str());
  scenario_copy_tree(ctx, mmcp);
  scenario_copy_one(ctx, mmcp);
}

}  // namespace mmbench
