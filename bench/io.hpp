// Plain-C++ I/O the baselines use: a descriptor owner, read loops, aligned buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "content.hpp"

namespace mmbench {

class Fd {
 public:
  Fd(const std::string& path, int flags, unsigned mode = 0600);
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
  std::string path_;
};

// Page-aligned, pre-touched heap buffer (so the first timed run does not pay its faults).
struct Buffer {
  explicit Buffer(std::size_t size);
  std::byte* data() const noexcept { return memory.get(); }
  std::size_t size = 0;
  std::unique_ptr<std::byte, void (*)(void*)> memory;
};

// Reads the whole file with read(2) in `buffer.size` pieces, feeding the sink.
void read_file(const std::string& path, const Buffer& buffer, Sink& sink);
std::uint64_t file_size(int fd);
void read_exact(int fd, void* data, std::size_t size, std::uint64_t offset);
void write_all(int fd, const void* data, std::size_t size);
// Reads exactly `size` bytes from a pipe or socket (several reads may be needed).
void read_exact_stream(int fd, std::byte* data, std::size_t size);

}  // namespace mmbench
