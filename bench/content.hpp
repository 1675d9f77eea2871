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

// The timed consumer (--consumer): memchr for an absent byte runs at memory speed, so every
// ratio is an upper bound; CRC32C (the SSE4.2 instruction where the CPU has it, else a table)
// is a consumer with real work per byte, which shows whether a win survives.
enum class Consumer { Memchr, Crc32c };
Consumer& timed_consumer() noexcept;  // set once by main
const char* consumer_name(Consumer consumer) noexcept;

// CRC32C (Castagnoli) continuing from `crc` (0 to start): hardware where available.
std::uint32_t crc32c(std::uint32_t crc, const std::byte* data, std::size_t size) noexcept;
std::uint32_t crc32c_software(std::uint32_t crc, const std::byte* data, std::size_t size) noexcept;
bool crc32c_is_hardware() noexcept;

// What a benchmarked method does with the bytes it got. Timing mode: the timed consumer, which
// must touch every byte. Checksum mode (--verify): an order-independent checksum, so methods
// that read the same bytes agree.
struct Sink {
  bool checksum = false;
  std::uint64_t value = 0;  // timing: number of hits (must stay 0); checksum: the sum
  std::uint32_t crc = 0;    // timing with Consumer::Crc32c: kept so the work is not elided

  void consume(const std::byte* data, std::size_t size) noexcept;
};

}  // namespace mmbench
