// What the course programs share: the slides' garnir/lister helpers, the counter text format, and
// a pipe that replaces the slides' sleep() so that parent and child take turns deterministically.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <system_error>

namespace course {

// garnir: fill a zone with one character.
inline void fill(std::span<std::byte> zone, char c) {
  std::ranges::fill(zone, std::byte(c));
}

// lister: print the first n characters of a zone and a newline.
inline void list(std::span<const std::byte> zone, std::size_t n) {
  std::fwrite(zone.data(), 1, std::min(n, zone.size()), stdout);
  std::fputc('\n', stdout);
}

// The counter is 10 decimal digits and a newline. Bytes that are not digits (a new, zero-filled
// file) count as 0. Returns the new value.
inline long increment_counter(std::span<std::byte> text) {
  if (text.size() < 11) throw std::length_error("counter needs 11 bytes");
  long value = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const int c = std::to_integer<int>(text[i]);
    if (c >= '0' && c <= '9') value = value * 10 + (c - '0');
  }
  ++value;
  char digits[24];  // room for any long: GCC cannot see that value % 10^10 has 10 digits
  std::snprintf(digits, sizeof digits, "%010ld\n", value % 10'000'000'000);
  std::copy_n(reinterpret_cast<const std::byte*>(digits), 11, text.begin());
  return value;
}

// flock(LOCK_EX) for a scope. A lock on the object, not the mapping: mapped memory is shared, but
// nothing about it stops two processes from reading the same old value.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0)
      if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "flock");
  }
  ~ExclusiveLock() { ::flock(fd_, LOCK_UN); }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;

 private:
  int fd_;
};

// One process waits until another says "go". Whoever says "go" flushes stdout first, so the
// lines of both processes come out in the order the program intends, even into a pipe.
class Turn {
 public:
  Turn() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~Turn() {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  Turn(const Turn&) = delete;
  Turn& operator=(const Turn&) = delete;

  void go() {
    std::fflush(stdout);
    if (::write(fds_[1], "!", 1) != 1) throw std::runtime_error("write to pipe failed");
  }
  void wait() {
    char c;
    if (::read(fds_[0], &c, 1) != 1) throw std::runtime_error("the other process went away");
  }

 private:
  int fds_[2];
};

// The slides' parent/child scenario on two shared pages, whatever backs them (a file or anonymous
// memory: that is the lesson). The parent fills page 2 with 'b'; the child then waits `seconds`,
// prints 10 bytes of each page and fills page 1 with 'c'; the parent waits for it and prints page
// 1. Returns main's exit code.
inline int parent_and_child(std::span<std::byte> two_pages, unsigned seconds = 0) {
  const std::size_t page = two_pages.size() / 2;
  const std::span<std::byte> page1 = two_pages.first(page);
  const std::span<std::byte> page2 = two_pages.subspan(page, page);

  Turn page2_filled;
  std::fflush(stdout);  // else the child would print the parent's buffered lines again
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {  // fils
    page2_filled.wait();
    ::sleep(seconds);
    std::printf("fils, page 1 : ");
    list(page1, 10);
    std::printf("fils, page 2 : ");
    list(page2, 10);
    fill(page1, 'c');
    std::fflush(stdout);
    ::_exit(0);
  }
  // père
  fill(page2, 'b');
  page2_filled.go();
  int status = 0;
  ::waitpid(child, &status, 0);
  std::printf("page 1 père : ");
  list(page1, 10);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace course
