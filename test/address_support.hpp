// What the mirrored-queue tests and their exec'd helper share: a producer and a consumer that
// move a known byte stream in messages of varied sizes, so any lost, repeated or torn byte shows.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>

#include "mmapxx/spsc_queue.hpp"

namespace mmapxx::test {

// Byte n of the stream.
inline std::byte stream_byte(std::uint64_t n) {
  return std::byte(static_cast<unsigned char>((n * 2654435761u) >> 13));
}

// Message sizes cycle through 1 .. 9000 bytes (some larger than a page, many crossing the wrap).
inline std::size_t message_size(std::uint64_t k) {
  return 1 + (k * 7919) % 9000;
}

// Sends `total` bytes of the stream; false if the consumer stops taking them for 10 s.
inline bool produce(SpscQueue& queue, std::uint64_t total) {
  using namespace std::chrono_literals;
  std::uint64_t sent = 0;
  for (std::uint64_t k = 0; sent < total; ++k) {
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(message_size(k), total - sent));
    if (!queue.wait_for_space(size, 10s)) return false;
    std::byte* area = queue.write_area().data();
    for (std::size_t i = 0; i < size; ++i) area[i] = stream_byte(sent + i);
    queue.commit(size);
    sent += size;
  }
  queue.close();
  return true;
}

// Receives `total` bytes and checks each; false on a wrong byte, a stall of 10 s, or too few.
inline bool consume(SpscQueue& queue, std::uint64_t total) {
  using namespace std::chrono_literals;
  std::uint64_t received = 0;
  while (received < total) {
    if (!queue.wait_for_data(1, 10s)) return false;
    const auto area = queue.read_area();
    for (std::size_t i = 0; i < area.size(); ++i)
      if (area[i] != stream_byte(received + i)) return false;
    received += area.size();
    queue.consume(area.size());
  }
  return received == total && queue.read_area().empty();
}

}  // namespace mmapxx::test
