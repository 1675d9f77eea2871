// The registry of mapped ranges: written by the map primitive (mapping/primitive.cpp) on every
// map, unmap and remap, read by the fault handler (faults/) to decide which faults are ours.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "mmapxx/fault.hpp"

namespace mmapxx::detail {

// The registry is internal to the library: hidden symbols, called directly (no PLT) on every map
// and unmap.

// `file_offset` is the file offset of `begin`. Grows the table (mmap) when it is half full.
// A label shorter than registry_inline_label bytes is copied in; a longer one is not copied: it
// must stay valid and unchanged while the range is registered (a std::string's heap buffer, which
// moves with the string, or a literal). std::string keeps shorter strings inside the object.
[[gnu::visibility("hidden")]] void registry_add(const std::byte* begin, std::size_t length,
                                                const char* label,
                                                std::uint64_t file_offset) noexcept;
// Same, for a label whose length (without the NUL) the caller knows: no strlen.
[[gnu::visibility("hidden")]] void registry_add(const std::byte* begin, std::size_t length,
                                                const char* label, std::size_t label_length,
                                                std::uint64_t file_offset) noexcept;
// Removes the range that starts at `begin` (nothing if none does). Inline in the map primitive's
// unmap (below): the common case is a lock exchange, a hash, a compare and a few stores.
inline void registry_remove(const std::byte* begin) noexcept;

// The range the handler found: enough for normal code to find its label again.
struct RegistryHit {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
};
// Handler-safe. When `address` lies in a registered mapping, sets `file_offset` (of `address`)
// and `hit`, and returns true. The label is not read here: its owner may free it meanwhile.
bool registry_find(const void* address, std::uint64_t& file_offset, RegistryHit& hit) noexcept;
// Normal code only (it takes the writers' lock, so no range can go away meanwhile): the label of
// the range `hit` names, NUL-terminated in FaultInfo::label_capacity bytes; a long one keeps its
// tail after "...". A range unmapped since the fault reads "(unmapped since the fault)".
void registry_label(const RegistryHit& hit, char* out) noexcept;
// Ranges that could not be registered because growing the table failed for want of memory
// (their faults are never claimed). The table has no fixed capacity.
std::size_t registry_unregistered() noexcept;

// ---- the table, shared with the inline registry_remove; everything else is in registry.cpp ----

// Labels shorter than this are copied into the slot: 3 words, more than std::string keeps inside
// the object in libstdc++ (15 bytes) and libc++ (22).
inline constexpr std::size_t registry_inline_label = 24;

// One slot, what the handler scans: a seqlock (odd `sequence` while a writer owns it) over the
// range and its file offset. 32 bytes: a shift to index.
struct RegistryRange {
  std::atomic<std::uint32_t> sequence{0};
  std::atomic<std::uintptr_t> begin{0};  // 0: the slot is free
  std::atomic<std::uintptr_t> end{0};
  std::atomic<std::uint64_t> file_offset{0};
};
struct RegistryDetails;  // the slots' labels (registry.cpp)

struct RegistryTable {
  std::size_t slot_count;  // a power of two
  std::size_t used;        // written under the writers' lock only
  RegistryRange* ranges;
  RegistryDetails* details;
};

inline constexpr std::size_t registry_max_probe = 32;
// The table writers and the handler use now (a bigger one replaces it as it fills).
[[gnu::visibility("hidden")]] extern std::atomic<RegistryTable*> registry_table;
// The writers' lock: map and unmap on any thread; the handler never takes it.
[[gnu::visibility("hidden")]] extern std::atomic_flag registry_writing;

// Where a range starting at `begin` is looked for first: Fibonacci hashing of the page number
// spreads neighbouring mappings over the table.
inline std::size_t registry_home(const RegistryTable& t, std::uintptr_t begin) noexcept {
  return static_cast<std::size_t>(((begin >> 12) * 0x9E3779B97F4A7C15ull) >> 32) &
         (t.slot_count - 1);
}

// A slot's seqlock, taken by a writer (under the writers' lock): the sequence is odd while it
// changes the slot, and readers that see any store made meanwhile also see the odd sequence.
inline void registry_lock_slot(RegistryRange& r) noexcept {
  r.sequence.store(r.sequence.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}
inline void registry_unlock_slot(RegistryRange& r) noexcept {
  r.sequence.store(r.sequence.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

// Under the writers' lock: the slot of the range that starts at `b`, or slot_count if none does
// (every range sits within registry_max_probe slots of its home).
[[gnu::always_inline]] inline std::size_t registry_slot_of(const RegistryTable& t,
                                                           std::uintptr_t b) noexcept {
  const std::size_t home = registry_home(t, b);
  for (std::size_t probe = 0; probe < registry_max_probe; ++probe) {
    const std::size_t i = (home + probe) & (t.slot_count - 1);
    if (t.ranges[i].begin.load(std::memory_order_relaxed) == b) return i;
  }
  return t.slot_count;
}

// Under the writers' lock, which it releases: registry_remove without the lock.
[[gnu::always_inline]] inline void registry_remove_locked(std::uintptr_t b) noexcept {
  RegistryTable& t = *registry_table.load(std::memory_order_relaxed);
  if (const std::size_t i = registry_slot_of(t, b); i != t.slot_count) {
    RegistryRange& r = t.ranges[i];
    registry_lock_slot(r);
    r.begin.store(0, std::memory_order_relaxed);
    r.end.store(0, std::memory_order_relaxed);
    registry_unlock_slot(r);
    --t.used;
  }
  registry_writing.clear(std::memory_order_release);
}

// registry_remove when another writer holds the lock: waits for it (out of line, cold).
[[gnu::visibility("hidden"), gnu::cold]] void registry_remove_contended(std::uintptr_t b) noexcept;

// registry_remove's common case: false, having done nothing, when another writer holds the lock
// (then call registry_remove_contended). Inline, so that a caller can keep every other call in
// tail position (no saved registers).
[[gnu::always_inline]] inline bool registry_try_remove(const std::byte* begin) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  if (b == 0) [[unlikely]]
    return true;  // never registered
  if (registry_writing.test_and_set(std::memory_order_acquire)) [[unlikely]]
    return false;
  registry_remove_locked(b);
  return true;
}

inline void registry_remove(const std::byte* begin) noexcept {
  if (!registry_try_remove(begin)) [[unlikely]]
    registry_remove_contended(reinterpret_cast<std::uintptr_t>(begin));
}

}  // namespace mmapxx::detail
