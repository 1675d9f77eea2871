// The scenarios mmbench knows; each lives in its own scenario_*.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "results.hpp"

namespace mmbench {

struct Scenario {
  const char* name;
  const char* what;
  void (*run)(Context&);
};

void scenario_overhead(Context& ctx);
void scenario_scan(Context& ctx);
void scenario_rescan(Context& ctx);
void scenario_random(Context& ctx);
void scenario_cold(Context& ctx);
void scenario_copy(Context& ctx);
void scenario_anon(Context& ctx);
void scenario_shm(Context& ctx);
void scenario_tracking(Context& ctx);
void scenario_matrix(Context& ctx);
void scenario_beyond(Context& ctx);
void scenario_smallfiles(Context& ctx);
void scenario_durable(Context& ctx);
void scenario_ring(Context& ctx);

inline const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> list = {
      {"overhead", "mmapxx vs the same raw syscalls and Boost.Interprocess", scenario_overhead},
      {"scan", "warm one-shot sequential scan: map vs read(2)", scenario_scan},
      {"rescan", "scan of an already-mapped file vs anonymous memory", scenario_rescan},
      {"random", "random 4 KiB reads of a warm file: mapping vs pread", scenario_random},
      {"cold", "reads from disk after POSIX_FADV_DONTNEED", scenario_cold},
      {"copy", "copy of a warm file: mmcp vs cp vs read/write vs copy_file_range", scenario_copy},
      {"anon", "anonymous memory first touch: 4 KiB pages vs huge pages vs populate",
       scenario_anon},
      {"shm", "64 KiB messages between two processes: shared memory vs pipe", scenario_shm},
      {"tracking", "dirty-page tracking per page: userfaultfd vs mprotect + SIGSEGV",
       scenario_tracking},
      {"matrix", "scan and random reads per page-cache state (read_ahead_kb, folio size)",
       scenario_matrix},
      {"beyond", "random reads and a scan of a file 4x a memory cgroup's cap, over time",
       scenario_beyond},
      {"smallfiles",
       "many small files per file size: read vs map vs for_each_chunk, 1 and 2 threads",
       scenario_smallfiles},
      {"durable", "durable 4 KiB updates and appends: msync vs pwrite + fdatasync",
       scenario_durable},
      {"ring",
       "4 and 64 KiB messages between two processes: mirrored SpscQueue vs pipe, socket, "
       "copy-on-wrap ring",
       scenario_ring},
  };
  return list;
}

}  // namespace mmbench

namespace mmbench {
// Shared by the random and cold scenarios (scenario_random.cpp).
std::vector<Method> random_methods(const std::string& path,
                                   std::shared_ptr<std::vector<std::uint64_t>> offsets,
                                   bool persistent);
std::shared_ptr<std::vector<std::uint64_t>> random_offsets(std::size_t count, std::size_t span,
                                                           std::uint64_t seed);
std::uint64_t random_digest(const std::vector<std::uint64_t>& offsets);
}  // namespace mmbench
