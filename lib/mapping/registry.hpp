// The registry of mapped ranges: written by the map primitive (mapping/primitive.cpp) on every
// map, unmap and remap, read by the fault handler (faults/) to decide which faults are ours.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmapxx/fault.hpp"

namespace mmapxx::detail {

// The registry is internal to the library: hidden symbols, called directly (no PLT) on every map
// and unmap.

// `file_offset` is the file offset of `begin`. Grows the table (mmap) when it is half full.
[[gnu::visibility("hidden")]] void registry_add(const std::byte* begin, std::size_t length,
                                                const char* label,
                                                std::uint64_t file_offset) noexcept;
// Same, for a label whose length (without the NUL) the caller knows: no strlen.
[[gnu::visibility("hidden")]] void registry_add(const std::byte* begin, std::size_t length,
                                                const char* label, std::size_t label_length,
                                                std::uint64_t file_offset) noexcept;
[[gnu::visibility("hidden")]] void registry_remove(const std::byte* begin) noexcept;

// Handler-safe. When `address` lies in a registered mapping, fills in fault.label and
// fault.file_offset and returns true.
bool registry_find(const void* address, FaultInfo& fault) noexcept;
// Ranges that could not be registered because growing the table failed for want of memory
// (their faults are never claimed). The table has no fixed capacity.
std::size_t registry_unregistered() noexcept;

}  // namespace mmapxx::detail
