// A one-line progress bar on stderr, redrawn at most ten times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mmtools {

class Progress {
 public:
  Progress(bool enabled, std::string label, std::uint64_t total);
  void update(std::uint64_t done);
  void finish();  // draws 100% and ends the line (if anything was drawn)

 private:
  void draw(std::uint64_t done);

  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mmtools
