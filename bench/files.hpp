// The temporary work directory and the benchmark files in it, each prepared in a known
// page-cache state. Everything is removed when the Workspace is destroyed (also after Ctrl-C:
// the stop handler only sets a flag, main unwinds to here).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mmbench {

enum class CacheState {
  Large,  // evicted, then read back in 1 MiB reads: readahead fills the cache with large folios
  Small,  // written in 4 KiB writes and never re-read: the cache holds 4 KiB folios
  Cold,   // on disk, evicted with POSIX_FADV_DONTNEED before every run
};
const char* state_name(CacheState state) noexcept;

// What was measured about a file's page-cache state.
struct FileNote {
  std::string name;
  std::size_t size = 0;
  CacheState state = CacheState::Large;
  double resident = 0;        // fraction of pages in the page cache (mincore)
  double faults_per_mib = 0;  // minor faults to touch every page of a fresh mapping
};

class Workspace {
 public:
  explicit Workspace(const std::string& parent);  // creates parent/mmbench.XXXXXX
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& path() const noexcept { return path_; }
  std::string temp_path(const std::string& name) const { return path_ + "/" + name; }
  // A file of `size` bytes of benchmark content in `state`; created once, then reused.
  std::string file(std::size_t size, CacheState state);
  const std::vector<FileNote>& notes() const noexcept { return notes_; }

 private:
  std::string path_;
  std::map<std::pair<std::size_t, CacheState>, std::string> files_;
  std::vector<FileNote> notes_;
};

void write_content_file(const std::string& path, std::size_t size, std::size_t chunk);
void read_through(const std::string& path, std::size_t chunk);
void evict(const std::string& path);  // fdatasync + POSIX_FADV_DONTNEED
double resident_fraction(const std::string& path);
double faults_per_mib(const std::string& path);  // maps and touches every page
// "ext4", "tmpfs", ... from statfs(2).
std::string filesystem_type(const std::string& path);
std::string size_label(std::size_t bytes);  // 4KiB, 64MiB, 1GiB

}  // namespace mmbench
