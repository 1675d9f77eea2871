// Streams a byte range of a file through read-only mapped windows, so memory stays bounded for
// any range (beyond 4 GiB too). Bytes are copied out of the mapping in small chunks, because
// copying into a cache-hot buffer and write()ing that is measured faster than write() straight
// from the mapping, and because a user-space copy is where a truncation fault can be caught.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace mmtools {

inline constexpr std::size_t window_size = std::size_t{64} << 20;
inline constexpr std::size_t chunk_size = std::size_t{128} << 10;  // stays in L2

// Called with each chunk and the file offset of its first byte.
using ChunkSink = std::function<void(std::span<const std::byte> chunk, std::uint64_t offset)>;

// Reads bytes [offset, offset + length) of the regular file open on fd. If the file shrinks
// while it runs, throws Failure ("NAME: file was truncated while reading ..."), never SIGBUS.
void stream_range(int fd, const std::string& name, std::uint64_t offset, std::uint64_t length,
                  const ChunkSink& sink);

}  // namespace mmtools
