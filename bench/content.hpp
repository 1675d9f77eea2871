// The bytes every benchmark file holds, and the consumers that read them.
//
// Content is a pure function of the file offset, so the checksum of any range is known without
// reading the file; every 8-byte word has no zero byte, so memchr(0) must scan every byte.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmbench {

// The 8-byte word stored at file offset 8 * index.
std::uint64_t content_word(std::uint64_t index) noexcept;
// Fills `out` (size a multiple of 8) with the content of bytes [offset, offset + size), offset
// a multiple of 8.
void fill_content(std::byte* out, std::size_t size, std::uint64_t offset) noexcept;
// Checksum of the content of [offset, offset + size), computed from the generator.
std::uint64_t expected_digest(std::uint64_t offset, std::size_t size) noexcept;
// Order-independent checksum of arbitrary bytes (what Sink computes in checksum mode).
std::uint64_t digest_bytes(const std::byte* data, std::size_t size) noexcept;

// What a benchmarked method does with the bytes it got. Timing mode: memchr for a byte that is
// absent, which runs at memory speed and must touch every byte. Checksum mode (--verify): an
// order-independent checksum, so methods that read the same bytes agree.
struct Sink {
  bool checksum = false;
  std::uint64_t value = 0;  // timing: number of hits (must stay 0); checksum: the sum

  void consume(const std::byte* data, std::size_t size) noexcept;
};

}  // namespace mmbench
