#include "content.hpp"

#include <cstring>

namespace mmbench {

namespace {

constexpr std::uint64_t no_zero_byte = 0x0101010101010101ull;

std::uint64_t mix(std::uint64_t w) noexcept {
  w ^= w >> 31;
  w *= 0x9E3779B97F4A7C15ull;
  return w ^ (w >> 29);
}

}  // namespace

std::uint64_t content_word(std::uint64_t index) noexcept {
  std::uint64_t z = index + 0x9E3779B97F4A7C15ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (z ^ (z >> 31)) | no_zero_byte;
}

void fill_content(std::byte* out, std::size_t size, std::uint64_t offset) noexcept {
  const std::uint64_t first = offset / 8;
  for (std::size_t i = 0; i < size / 8; ++i) {
    const std::uint64_t w = content_word(first + i);
    std::memcpy(out + 8 * i, &w, 8);
  }
}

std::uint64_t expected_digest(std::uint64_t offset, std::size_t size) noexcept {
  std::uint64_t sum = 0;
  const std::uint64_t first = offset / 8;
  for (std::size_t i = 0; i < size / 8; ++i) sum += mix(content_word(first + i));
  return sum;
}

std::uint64_t digest_bytes(const std::byte* data, std::size_t size) noexcept {
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    sum += mix(w);
  }
  for (; i < size; ++i) sum += mix(static_cast<std::uint64_t>(data[i]) + 0x100);
  return sum;
}

void Sink::consume(const std::byte* data, std::size_t size) noexcept {
  if (checksum)
    value += digest_bytes(data, size);
  else if (size != 0 && std::memchr(data, 0, size) != nullptr)
    ++value;
}

}  // namespace mmbench
