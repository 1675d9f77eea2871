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

Consumer& timed_consumer() noexcept {
  static Consumer consumer = Consumer::Memchr;
  return consumer;
}

const char* consumer_name(Consumer consumer) noexcept {
  return consumer == Consumer::Crc32c ? "crc32c" : "memchr";
}

namespace {

struct Crc32cTable {
  std::uint32_t entry[256];
  Crc32cTable() noexcept {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected
      entry[i] = c;
    }
  }
};

#if defined(__x86_64__)
[[gnu::target("sse4.2")]] std::uint32_t crc32c_sse42(std::uint32_t crc, const std::byte* data,
                                                     std::size_t size) noexcept {
  std::uint64_t c = ~crc;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    c = __builtin_ia32_crc32di(c, w);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; i < size; ++i) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(data[i]));
  return ~c32;
}
#endif

}  // namespace

std::uint32_t crc32c_software(std::uint32_t crc, const std::byte* data, std::size_t size) noexcept {
  static const Crc32cTable table;
  std::uint32_t c = ~crc;
  for (std::size_t i = 0; i < size; ++i)
    c = table.entry[(c ^ static_cast<unsigned char>(data[i])) & 0xFF] ^ (c >> 8);
  return ~c;
}

bool crc32c_is_hardware() noexcept {
#if defined(__x86_64__)
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  return hardware;
#else
  return false;
#endif
}

std::uint32_t crc32c(std::uint32_t crc, const std::byte* data, std::size_t size) noexcept {
#if defined(__x86_64__)
  if (crc32c_is_hardware()) return crc32c_sse42(crc, data, size);
#endif
  return crc32c_software(crc, data, size);
}

void Sink::consume(const std::byte* data, std::size_t size) noexcept {
  if (checksum)
    value += digest_bytes(data, size);
  else if (timed_consumer() == Consumer::Crc32c)
    crc = crc32c(crc, data, size);
  else if (size != 0 && std::memchr(data, 0, size) != nullptr)
    ++value;
}

}  // namespace mmbench
