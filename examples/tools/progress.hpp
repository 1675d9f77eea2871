// A one-line progress bar on stderr, redrawn at most ten times a second. Several bars may exist at
// once (mmcp -j): the line belongs to one at a time, the first to draw; the others stay silent
// until it is released (finish() or destruction), so that no two bars share the line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mmtools {

class Progress {
 public:
  Progress(bool enabled, std::string label, std::uint64_t total);
  ~Progress();  // a bar left unfinished (a failed copy) ends its line and releases it
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(std::uint64_t done);
  void finish();  // draws 100% and ends the line (if the line is free or already ours)

 private:
  void draw(std::uint64_t done);

  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;

  friend void print_message(const std::string& line) noexcept;
};

// Prints `line` and a newline on stderr without mixing it into a bar being drawn: the bar's line
// is cleared first, and the bar is drawn again at its next update.
void print_message(const std::string& line) noexcept;

}  // namespace mmtools
