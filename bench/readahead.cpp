#include "readahead.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>

namespace mmbench {

std::string readahead_file(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return {};
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path device = fs::canonical(
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)),
      ec);
  if (ec) return {};
  // A partition has no queue of its own: its disk (the parent directory) has.
  for (int up = 0; up < 2; ++up, device = device.parent_path()) {
    const fs::path file = device / "queue" / "read_ahead_kb";
    if (fs::exists(file, ec)) return file.string();
  }
  return {};
}

std::optional<long> read_readahead(const std::string& file) {
  std::ifstream in(file);
  long kib = 0;
  if (!(in >> kib)) return std::nullopt;
  return kib;
}

ReadaheadSetting::ReadaheadSetting(std::string file)
    : file_(std::move(file)), original_(read_readahead(file_)) {}

ReadaheadSetting::~ReadaheadSetting() {
  if (changed_ && original_) {
    std::ofstream out(file_);
    out << *original_ << '\n';
  }
}

bool ReadaheadSetting::set(long kib) {
  if (!original_) return false;
  std::ofstream out(file_);
  if (!(out << kib << '\n')) return false;
  out.close();
  if (!out) return false;
  changed_ = true;
  return read_readahead(file_) == kib;
}

}  // namespace mmbench
