// The progress bar of the tools (progress.hpp): one stderr line shared by every bar.
#include "progress.hpp"

#include <cstdio>
#include <mutex>

#include "size_arg.hpp"

namespace mmtools {

namespace {

std::mutex line_mutex;
Progress* line_owner = nullptr;  // the bar the line belongs to; guarded by line_mutex

// Under line_mutex: whether `bar` may draw, taking the line if it is free.
bool claim_line(Progress* bar) {
  if (line_owner == nullptr) line_owner = bar;
  return line_owner == bar;
}

}  // namespace

Progress::Progress(bool enabled, std::string label, std::uint64_t total)
    : enabled_(enabled),
      label_(std::move(label)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (!enabled_) return;
  const std::lock_guard lock(line_mutex);
  if (line_owner != this) return;
  if (drawn_) std::fputc('\n', stderr);
  line_owner = nullptr;
}

void Progress::update(std::uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  const std::lock_guard lock(line_mutex);
  if (!claim_line(this)) return;
  last_ = now;
  draw(done);
}

void Progress::finish() {
  if (!enabled_) return;
  const std::lock_guard lock(line_mutex);
  if (!claim_line(this)) return;
  draw(total_);
  std::fputc('\n', stderr);
  line_owner = nullptr;
}

void Progress::draw(std::uint64_t done) {
  constexpr int width = 30;
  const double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total_);
  const int filled = static_cast<int>(fraction * width);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %s / %s %s/s\033[K", label_.c_str(), filled,
               "##############################", width - filled, "",
               static_cast<int>(fraction * 100), human_size(done).c_str(),
               human_size(total_).c_str(), human_size(static_cast<std::uint64_t>(rate)).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void print_message(const std::string& line) noexcept {
  const std::lock_guard lock(line_mutex);
  if (line_owner != nullptr && line_owner->drawn_) {
    std::fputs("\r\033[K", stderr);
    line_owner->drawn_ = false;  // redrawn at its next update
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace mmtools
