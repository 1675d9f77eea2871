#include "temp_file.hpp"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "tool_main.hpp"

namespace mmtools {

namespace {

// What the signal handler may read: a fixed buffer and a flag, no allocation.
char pending_path[PATH_MAX + 1];
volatile std::sig_atomic_t pending = 0;

extern "C" void remove_pending(int sig) {
  if (pending) ::unlink(pending_path);
  // SA_RESETHAND restored the default action: the re-raised signal ends us as it would have.
  ::raise(sig);
}

void install_cleanup() {
  struct sigaction action {};
  action.sa_handler = remove_pending;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
}

void sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno(directory, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) fail_errno(directory + ": fsync", error);
}

}  // namespace

TempFile::TempFile(const std::string& target) : target_(target) {
  const std::filesystem::path where(target);
  directory_ = where.has_parent_path() ? where.parent_path().string() : ".";
  std::string name = where.filename().string();
  // Room for ".", ".mmcp-XXXXXX" within NAME_MAX.
  if (name.size() > NAME_MAX - 13) name.resize(NAME_MAX - 13);
  path_ = directory_ + "/." + name + ".mmcp-XXXXXX";
  if (path_.size() > PATH_MAX) throw Failure(target + ": path too long");
  install_cleanup();
  fd_ = ::mkostemp(path_.data(), O_CLOEXEC);
  if (fd_ < 0) fail_errno(directory_, errno);
  std::memcpy(pending_path, path_.c_str(), path_.size() + 1);
  pending = 1;
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(path_.c_str());
  pending = 0;
}

void TempFile::commit(mode_t mode, bool durable) {
  if (::fchmod(fd_, mode) != 0) fail_errno(target_ + ": chmod", errno);
  if (durable && ::fsync(fd_) != 0) fail_errno(target_ + ": fsync", errno);
  if (::rename(path_.c_str(), target_.c_str()) != 0) fail_errno(target_, errno);
  committed_ = true;
  pending = 0;
  if (durable) sync_directory(directory_);
}

}  // namespace mmtools
