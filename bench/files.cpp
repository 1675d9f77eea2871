#include "files.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <mmapxx/mmapxx.hpp>

#include "content.hpp"
#include "io.hpp"

namespace mmbench {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), what + ": " + path);
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

}  // namespace

const char* state_name(CacheState state) noexcept {
  switch (state) {
    case CacheState::Large:
      return "large folios";
    case CacheState::Small:
      return "small folios";
    case CacheState::Cold:
      return "cold";
  }
  return "?";
}

std::string size_label(std::size_t bytes) {
  if (bytes >= (1u << 30) && bytes % (1u << 30) == 0) return std::to_string(bytes >> 30) + "GiB";
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes) + "B";
}

Workspace::Workspace(const std::string& parent) {
  std::string pattern = parent + "/mmbench.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) fail("mkdtemp", pattern);
  path_ = pattern;
}

Workspace::~Workspace() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string Workspace::file(std::size_t size, CacheState state) {
  const auto key = std::make_pair(size, state);
  if (auto it = files_.find(key); it != files_.end()) return it->second;
  const char* prefix = state == CacheState::Small  ? "small-"
                       : state == CacheState::Cold ? "cold-"
                                                   : "large-";
  const std::string name = prefix + size_label(size);
  const std::string path = temp_path(name);
  if (state == CacheState::Small) {
    write_content_file(path, size, 4 * 1024);
  } else {
    write_content_file(path, size, 1 << 20);
    evict(path);
    if (state == CacheState::Large) read_through(path, 1 << 20);
  }
  FileNote note{name, size, state, resident_fraction(path), 0};
  if (state != CacheState::Cold) note.faults_per_mib = faults_per_mib(path);
  notes_.push_back(note);
  files_.emplace(key, path);
  return path;
}

void write_content_file(const std::string& path, std::size_t size, std::size_t chunk) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  std::unique_ptr<std::byte[]> buffer(new std::byte[chunk]);
  for (std::size_t done = 0; done < size;) {
    const std::size_t n = std::min(chunk, size - done);
    fill_content(buffer.get(), n, done);
    const ssize_t w = ::write(fd.get(), buffer.get(), n);
    if (w <= 0) fail("write", path);
    done += static_cast<std::size_t>(w);
  }
  // Clean pages: writeback would otherwise run during the measurements.
  if (::fsync(fd.get()) != 0) fail("fsync", path);
}

void read_through(const std::string& path, std::size_t chunk) {
  Fd fd(path, O_RDONLY);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<std::byte[]> buffer(new std::byte[chunk]);
  while (true) {
    const ssize_t r = ::read(fd.get(), buffer.get(), chunk);
    if (r < 0) fail("read", path);
    if (r == 0) break;
  }
}

void evict(const std::string& path) {
  Fd fd(path, O_RDONLY);
  if (::fdatasync(fd.get()) != 0) fail("fdatasync", path);
  if (::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) != 0) fail("posix_fadvise", path);
}

double resident_fraction(const std::string& path) {
  mmapxx::MappedFile<mmapxx::Access::Read> file(path);
  if (file.empty()) return 1;
  const mmapxx::Residency r = file.residency();
  return static_cast<double>(r.resident) / static_cast<double>(r.total());
}

double faults_per_mib(const std::string& path) {
  mmapxx::MappedFile<mmapxx::Access::Read> file(path);
  const long before = minor_faults();
  unsigned sum = 0;
  for (std::size_t i = 0; i < file.size(); i += 4096) sum += static_cast<unsigned>(file[i]);
  const long after = minor_faults();
  asm volatile("" : : "r"(sum));
  return static_cast<double>(after - before) / (static_cast<double>(file.size()) / (1 << 20));
}

std::string filesystem_type(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext2/3/4";
    case 0x01021994:
      return "tmpfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x6969:
      return "nfs";
    case 0xF2F52010:
      return "f2fs";
    default: {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(fs.f_type));
      return hex;
    }
  }
}

}  // namespace mmbench
