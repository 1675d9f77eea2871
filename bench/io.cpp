#include "io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace mmbench {

namespace {

[[noreturn]] void fail(const char* what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + ": " + path);
}

}  // namespace

Fd::Fd(const std::string& path, int flags, unsigned mode)
    : fd_(::open(path.c_str(), flags | O_CLOEXEC, mode)), path_(path) {
  if (fd_ < 0) fail("open", path);
}

Fd::~Fd() {
  ::close(fd_);
}

Buffer::Buffer(std::size_t bytes)
    : size(bytes), memory(static_cast<std::byte*>(std::aligned_alloc(4096, bytes)), std::free) {
  if (!memory) throw std::bad_alloc();
  std::memset(memory.get(), 1, bytes);
}

void read_file(const std::string& path, const Buffer& buffer, Sink& sink) {
  Fd fd(path, O_RDONLY);
  while (true) {
    const ssize_t r = ::read(fd.get(), buffer.data(), buffer.size);
    if (r < 0) fail("read", path);
    if (r == 0) break;
    sink.consume(buffer.data(), static_cast<std::size_t>(r));
  }
}

std::uint64_t file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("fstat", "fd");
  return static_cast<std::uint64_t>(st.st_size);
}

void read_exact(int fd, void* data, std::size_t size, std::uint64_t offset) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t r = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) fail("pread", "fd");
    p += r;
    size -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
}

void write_all(int fd, const void* data, std::size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t w = ::write(fd, p, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("write", "fd");
    p += w;
    size -= static_cast<std::size_t>(w);
  }
}

void read_exact_stream(int fd, std::byte* data, std::size_t size) {
  while (size > 0) {
    const ssize_t r = ::read(fd, data, size);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error("read from a pipe or socket");
    data += r;
    size -= static_cast<std::size_t>(r);
  }
}

}  // namespace mmbench
