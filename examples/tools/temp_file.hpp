// The file mmcp writes: a temporary beside the destination, renamed over it only once complete,
// so a failed or interrupted copy never leaves a half-written destination. Until commit(), the
// destructor removes it, and so do SIGINT, SIGTERM and SIGHUP (before the signal takes its
// default course). One TempFile at a time per process: the signal handler knows only one path.
#pragma once

#include <sys/types.h>

#include <string>

namespace mmtools {

class TempFile {
 public:
  // Creates DIR/.NAME.mmcp-XXXXXX (mkostemp, O_CLOEXEC) next to `target` = DIR/NAME.
  explicit TempFile(const std::string& target);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const noexcept { return fd_; }
  const std::string& path() const noexcept { return path_; }

  // Gives the file `mode` and renames it to the target. With `durable`, fsyncs the file before
  // and its directory after the rename.
  void commit(mode_t mode, bool durable);

 private:
  std::string target_;
  std::string directory_;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace mmtools
