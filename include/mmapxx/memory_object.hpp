// What SharedMemoryObject and SealedMemory have in common: a named descriptor to memory whose
// size can be set and which maps into a MappedFile.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx::detail {

class MemoryObject {
 public:
  // Grows with posix_fallocate, so running out of memory is ENOSPC now rather than SIGBUS on
  // first touch; shrinks with ftruncate (pages of existing mappings past the new end then fault,
  // exactly as with a file).
  void resize(std::uint64_t size);
  void resize(std::uint64_t size, std::error_code& ec) noexcept;
  std::uint64_t size() const;  // fstat
  std::uint64_t size(std::error_code& ec) const noexcept;

  // Maps the memory (all of it by default). The mapping outlives this object; a Write mapping
  // keeps its own duplicate of the descriptor for its resize().
  template <Access A>
  MappedFile<A> map(const MapOptions& options = {}) const {
    return MappedFile<A>(fd_, options, name_);
  }
  template <Access A>
  MappedFile<A> map(const MapOptions& options, std::error_code& ec) const noexcept {
    return MappedFile<A>::open(fd_, options, ec, name_);
  }

  const std::string& name() const noexcept { return name_; }
  int fd() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 protected:
  MemoryObject() noexcept = default;
  MemoryObject(MemoryObject&& other) noexcept;
  MemoryObject& operator=(MemoryObject&& other) noexcept;
  MemoryObject(const MemoryObject&) = delete;
  MemoryObject& operator=(const MemoryObject&) = delete;
  ~MemoryObject();  // closes the descriptor

  std::string name_;
  int fd_ = -1;
};

}  // namespace mmapxx::detail
