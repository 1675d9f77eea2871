// A start line in shared memory, so that the counting processes really run at the same time
// (otherwise each fork may finish its loop before the next one starts, and nothing races).
#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <span>

#include "mmapxx/atomic.hpp"

namespace mmapxx::test {

// Layout of the counting page: the counter at offset 0, arrivals at offset 8.
inline constexpr std::size_t counter_offset = 0;
inline constexpr std::size_t arrivals_offset = 8;

// Each process arrives, then waits until `processes` have arrived (or the parent opened the
// gate by storing a huge number because one of them died).
inline void arrive_and_wait(std::span<std::byte> page, std::uint64_t processes) {
  auto arrivals = atomic_at<std::uint64_t>(page, arrivals_offset);
  arrivals.fetch_add(1);
  while (arrivals.load() < processes) ::sched_yield();
}

inline void open_gate(std::span<std::byte> page) {
  atomic_at<std::uint64_t>(page, arrivals_offset).store(UINT64_MAX / 2);
}

}  // namespace mmapxx::test
