// The size step of shared memory objects, built on the memory budget (lib/base/memory_budget.hpp):
// shared by MemoryObject::resize and SealedMemory's creation (memory_object.cpp).
#pragma once

#include <cstdint>

#include "base/memory_budget.hpp"

namespace mmapxx::detail {

// EOVERFLOW (operation "resize") for a size past off_t's range, 2^63-1, before any syscall.
Failure check_size(std::uint64_t size) noexcept;

// Sets the size of the memory behind `fd`: grows with posix_fallocate after check_size and
// check_memory_budget (only for the part not yet allocated), shrinks with ftruncate.
Failure set_size(int fd, std::uint64_t size) noexcept;

}  // namespace mmapxx::detail
