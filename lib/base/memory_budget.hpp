// How much more memory this process may still be given (RAM + swap, and its memory cgroup's limit),
// so that growing memory-backed files (shared memory, memfds, tmpfs) fails with ENOMEM before
// posix_fallocate wakes the OOM killer. Used by MemoryObject::resize, SealedMemory's creation and
// MappedFile's growth.
#pragma once

#include <cstdint>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// ENOMEM when `bytes` more of shared memory (tmpfs or memfd pages, which only swap can take back)
// cannot be backed: more than MemAvailable + SwapFree (/proc/meminfo; sysinfo(2) without /proc),
// or more than the room left in this process's memory cgroup or any cgroup above it (v1:
// memory.limit_in_bytes - memory.usage_in_bytes; v2: memory.max - memory.current; the page cache
// those cgroups hold counts as room, since the kernel reclaims it first). The detail names the
// limit that refused. A cgroup file that cannot be read (no cgroup, another cgroup namespace)
// imposes no limit. A snapshot, not a reservation: memory used by others meanwhile can still run
// out later. Reads a few small files; allocates only for the failure's message.
// Growth below unchecked_growth is not checked: the cgroup files cost about 20 us each to read
// here (five to eight of them), and a growth that small asks no more of the cgroup than a page
// fault of any other allocation would.
inline constexpr std::uint64_t unchecked_growth = std::uint64_t{1} << 20;
Failure check_memory_budget(const char* operation, std::uint64_t bytes) noexcept;

// check_memory_budget for a descriptor whose file lives in memory (tmpfs, including /dev/shm
// and memfds: fstatfs says TMPFS_MAGIC) that is about to grow to `size` bytes, counting only the
// part not yet allocated (st_blocks); nothing for files on disk, where posix_fallocate fails
// with ENOSPC instead of waking the OOM killer. Used by MappedFile before posix_fallocate.
Failure check_backing(const char* operation, int fd, std::uint64_t size) noexcept;

}  // namespace mmapxx::detail
