// A memory cgroup that caps the page cache of mmbench itself for one scenario: made under the
// cgroup mmbench already runs in (so every limit above still applies), the process moved in,
// and on destruction moved back and the cgroup removed (also after SIGINT/SIGTERM, which only
// set a flag: main unwinds). cgroup v1 memory.limit_in_bytes, else cgroup v2 memory.max.
#pragma once

#include <cstddef>
#include <string>

namespace mmbench {

class MemoryCap {
 public:
  // Never throws for a machine that cannot do it: check ok() and why().
  explicit MemoryCap(std::size_t bytes);
  ~MemoryCap();
  MemoryCap(const MemoryCap&) = delete;
  MemoryCap& operator=(const MemoryCap&) = delete;

  bool ok() const noexcept { return joined_; }
  const std::string& why() const noexcept { return why_; }
  // A counter of the cgroup's memory.stat (v1: "pgmajfault", "pgpgout"; v2: "pgmajfault",
  // "workingset_refault_file"), or -1.
  long long stat(const std::string& key) const;

 private:
  std::string parent_, dir_, why_;
  bool v2_ = false, joined_ = false;
};

}  // namespace mmbench
