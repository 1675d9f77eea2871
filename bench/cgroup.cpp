#include "cgroup.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mmbench {

namespace {

// This process's cgroup path for `controller` ("memory" in v1, "" for the v2 line "0::").
std::string own_cgroup(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    if (controllers == controller ||
        (!controller.empty() &&
         ("," + controllers + ",").find("," + controller + ",") != std::string::npos))
      return line.substr(second + 1);
  }
  return {};
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << '\n';
  out.close();
  return static_cast<bool>(out);
}

}  // namespace

MemoryCap::MemoryCap(std::size_t bytes) {
  const std::string name = "mmbench-" + std::to_string(::getpid());
  std::string limit_file;
  struct stat st {};
  if (::stat("/sys/fs/cgroup/memory/cgroup.procs", &st) == 0) {
    parent_ = "/sys/fs/cgroup/memory" + own_cgroup("memory");
    limit_file = "memory.limit_in_bytes";
  } else if (::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) {
    v2_ = true;
    parent_ = "/sys/fs/cgroup" + own_cgroup("");
    limit_file = "memory.max";
  } else {
    why_ = "no cgroup v1 memory controller or cgroup v2 here";
    return;
  }
  while (parent_.size() > 1 && parent_.back() == '/') parent_.pop_back();
  dir_ = parent_ + "/" + name;
  if (::mkdir(dir_.c_str(), 0755) != 0) {
    why_ = "cannot create " + dir_ + ": " + std::strerror(errno) + " (needs root)";
    dir_.clear();
    return;
  }
  if (!write_file(dir_ + "/" + limit_file, std::to_string(bytes))) {
    why_ = "cannot set " + dir_ + "/" + limit_file;
    return;
  }
  if (!write_file(dir_ + "/cgroup.procs", std::to_string(::getpid()))) {
    why_ = "cannot move mmbench into " + dir_;
    return;
  }
  joined_ = true;
}

MemoryCap::~MemoryCap() {
  if (joined_) write_file(parent_ + "/cgroup.procs", std::to_string(::getpid()));
  if (!dir_.empty()) {
    // The cgroup may still hold charged page cache; rmdir reparents it (v1 and v2).
    for (int i = 0; i < 50 && ::rmdir(dir_.c_str()) != 0 && errno == EBUSY; ++i) ::usleep(20000);
  }
}

long long MemoryCap::stat(const std::string& key) const {
  if (dir_.empty()) return -1;
  std::ifstream in(dir_ + "/memory.stat");
  std::string k;
  long long v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return -1;
}

}  // namespace mmbench
