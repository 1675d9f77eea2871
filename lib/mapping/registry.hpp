// The registry of mapped ranges: written by the map primitive (mapping/primitive.cpp) on every
// map, unmap and remap, read by the fault handler (faults/) to decide which faults are ours.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmapxx/fault.hpp"

namespace mmapxx::detail {

// `file_offset` is the file offset of `begin`.
void registry_add(const std::byte* begin, std::size_t length, const char* label,
                  std::uint64_t file_offset) noexcept;
void registry_remove(const std::byte* begin) noexcept;

// Handler-safe. When `address` lies in a registered mapping, fills in fault.label and
// fault.file_offset and returns true.
bool registry_find(const void* address, FaultInfo& fault) noexcept;
// Ranges that could not be registered because the table was full (they are never claimed).
std::size_t registry_overflows() noexcept;
std::size_t registry_capacity() noexcept;

}  // namespace mmapxx::detail
