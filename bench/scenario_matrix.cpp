// The cache-state matrix: the same scan and random-read groups over files whose page-cache state
// differs in the one way that decides mapping's cost, the folio size. Readahead-filled with
// read_ahead_kb 128, 2048 and 8192 (set on the block device under --dir with --set-readahead,
// restored at exit and on signals), written with 4 KiB writes (small folios), and filled by
// MADV_WILLNEED. Each state records faults/MiB and the PMD-mapped file memory it produced.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "readahead.hpp"
#include "scan_methods.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::Advice;
using mmapxx::MappedFile;

// A "Key:   123 kB" field of a /proc file, in kB (-1 if absent).
long proc_kb(const char* file, const std::string& key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

struct StateInfo {
  double faults_per_mib = 0;
  long pmd_mapped_kb = 0;       // this process's FilePmdMapped with the file mapped and touched
  long file_huge_pages_kb = 0;  // the machine's FileHugePages (page cache in PMD-sized folios)
};

StateInfo measure_state(const std::string& path) {
  StateInfo info;
  info.faults_per_mib = faults_per_mib(path);
  MappedFile<Access::Read> f(path);
  volatile std::byte sink{};
  for (std::size_t i = 0; i < f.size(); i += 4096) sink = f.data()[i];
  (void)sink;
  info.pmd_mapped_kb = proc_kb("/proc/self/smaps_rollup", "FilePmdMapped");
  info.file_huge_pages_kb = proc_kb("/proc/meminfo", "FileHugePages");
  return info;
}

void wait_resident(const std::string& path) {
  for (int i = 0; i < 200 && resident_fraction(path) < 0.99; ++i) {
    check_stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

void scenario_matrix(Context& ctx) {
  const Config& cfg = ctx.config;
  // Five states of a 1 GiB file do not fit in --quick's minute: run when named.
  if (cfg.quick && !cfg.verify && cfg.scenario != "matrix") {
    ctx.notes.push_back("matrix: skipped in --quick (run it with --scenario matrix)");
    return;
  }
  const std::size_t size = cfg.verify ? 8 * MiB : cfg.quick ? 256 * MiB : GiB;
  const std::string ra_file = readahead_file(ctx.files.path());
  std::unique_ptr<ReadaheadSetting> setting;
  std::vector<long> levels;
  if (!ra_file.empty()) {
    setting = std::make_unique<ReadaheadSetting>(ra_file);
    if (cfg.set_readahead && !cfg.verify)
      levels = {128, 2048, 8192};
    else if (setting->original())
      levels = {*setting->original()};
  }
  if (levels.empty()) levels = {-1};
  if (!cfg.set_readahead || cfg.verify)
    ctx.notes.push_back(
        "matrix: read_ahead_kb left as it is (" +
        (setting && setting->original() ? std::to_string(*setting->original()) : "unknown") +
        "); --set-readahead (root) runs 128, 2048 and 8192 and restores it");

  struct State {
    std::string name;
    std::function<void(const std::string&)> fill;  // leaves the file resident in that state
    long readahead = -1;
  };
  std::vector<State> states;
  for (long kib : levels)
    states.push_back({kib < 0 ? "readahead" : "readahead " + std::to_string(kib) + "KiB",
                      [](const std::string& p) {
                        evict(p);
                        read_through(p, MiB);
                      },
                      kib});
  states.push_back({"small folios", nullptr});
  states.push_back({"MADV_WILLNEED", [](const std::string& p) {
                      evict(p);
                      MappedFile<Access::Read> f(p);
                      f.advise(Advice::WillNeed);
                      wait_resident(p);
                    }});

  const std::vector<std::shared_ptr<Buffer>> buffers = {std::make_shared<Buffer>(4 * KiB),
                                                        std::make_shared<Buffer>(128 * KiB),
                                                        std::make_shared<Buffer>(1 * MiB)};
  const std::size_t ops = cfg.verify ? 500 : cfg.quick ? 20000 : 200000;
  for (const State& st : states) {
    check_stop();
    const std::string path = ctx.files.temp_path("matrix-file");
    ::unlink(path.c_str());
    if (st.fill) {
      write_content_file(path, size, MiB);
      if (setting && st.readahead > 0 && !setting->set(st.readahead)) {
        ctx.notes.push_back("matrix: cannot write " + ra_file + " (not root?); state " + st.name +
                            " skipped");
        continue;
      }
      st.fill(path);
    } else {
      write_content_file(path, size, 4 * KiB);  // 4 KiB writes: 4 KiB folios
    }
    const StateInfo info = measure_state(path);
    char state[160];
    std::snprintf(state, sizeof state, "%s, %.1f faults/MiB, PMD-mapped %ld kB, %.0f%% resident",
                  st.name.c_str(), info.faults_per_mib, info.pmd_mapped_kb,
                  100 * resident_fraction(path));
    ctx.notes.push_back("matrix state " + st.name + ": " + std::to_string(info.faults_per_mib) +
                        " faults/MiB, FilePmdMapped " + std::to_string(info.pmd_mapped_kb) +
                        " kB, FileHugePages " + std::to_string(info.file_huge_pages_kb) + " kB");

    auto chose = std::make_shared<mmapxx::ScanMethod>(mmapxx::ScanMethod::Auto);
    std::vector<Method> scan = scan_methods(path, size, buffers, chose);
    Group g{.scenario = "matrix",
            .case_name = "scan " + st.name,
            .size = size,
            .state = state,
            .unit = Unit::GBps,
            .work = static_cast<double>(size),
            .repeats = cfg.repeats(9),
            .expected = expected_digest(0, size)};
    ctx.run(g, scan);
    ctx.notes.push_back("matrix " + st.name + ": for_each_chunk chose " +
                        (*chose == mmapxx::ScanMethod::Map ? "map" : "read(2)"));

    auto offsets = random_offsets(ops, size, 44);
    Group r{.scenario = "matrix",
            .case_name = "random " + st.name,
            .size = size,
            .state = state,
            .unit = Unit::NsPerOp,
            .work = static_cast<double>(ops),
            .repeats = cfg.repeats(7),
            .expected = random_digest(*offsets)};
    ctx.run(r, random_methods(path, offsets, true));
    ::unlink(path.c_str());
  }
}

}  // namespace mmbench
