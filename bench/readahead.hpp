// The block device under --dir and its read_ahead_kb, which sets how big the folios readahead
// creates are, and so how cheap mapping is. Changed only when asked (--set-readahead), restored
// when the ReadaheadSetting is destroyed: at exit, on errors and after SIGINT/SIGTERM (the stop
// handler only sets a flag, main unwinds).
#pragma once

#include <optional>
#include <string>

namespace mmbench {

// /sys/dev/block/MAJ:MIN/.../queue/read_ahead_kb of the device holding `dir`, or empty (tmpfs,
// overlay without a device, no sysfs).
std::string readahead_file(const std::string& dir);
std::optional<long> read_readahead(const std::string& file);

class ReadaheadSetting {
 public:
  explicit ReadaheadSetting(std::string file);  // remembers the current value
  ~ReadaheadSetting();                          // puts it back if it was changed
  ReadaheadSetting(const ReadaheadSetting&) = delete;
  ReadaheadSetting& operator=(const ReadaheadSetting&) = delete;
  bool set(long kib);  // false (and nothing changed) where the file cannot be written
  std::optional<long> original() const noexcept { return original_; }

 private:
  std::string file_;
  std::optional<long> original_;
  bool changed_ = false;
};

}  // namespace mmbench
