// The registry of mapped ranges that fault translation may claim.
//
// Writers are map/unmap on any thread; the reader is the signal handler, which must never wait.
// So: a fixed array of slots, each a seqlock (its sequence is odd while a writer owns it), every
// field an atomic. A writer finds its slot by hashing the range's first address and probing a
// few neighbours, so add and remove cost a handful of atomic operations. The handler scans all
// slots, which is fine on a path that only runs when a fault happened. When every slot near the
// hash is taken the range is simply not registered: its faults are not claimed, nothing breaks.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "mapping/registry.hpp"

namespace mmapxx::detail {

namespace {

constexpr std::size_t slot_count = 4096;  // a power of two
constexpr std::size_t max_probe = 32;
constexpr std::size_t label_words = FaultInfo::label_capacity / sizeof(std::uint64_t);

// What the handler scans: kept small so a scan touches few cache lines.
struct Range {
  std::atomic<std::uint32_t> sequence{0};
  std::atomic<std::uintptr_t> begin{0};  // 0: the slot is free
  std::atomic<std::uintptr_t> end{0};
};

// What the handler copies out once it found the range.
struct Details {
  std::atomic<std::uint64_t> file_offset{0};
  std::atomic<std::uint64_t> label[label_words];
};

Range ranges[slot_count];
Details details[slot_count];
std::atomic<std::size_t> overflows{0};

std::size_t home_of(std::uintptr_t begin) noexcept {
  // Fibonacci hashing of the page number spreads neighbouring mappings over the table.
  return static_cast<std::size_t>(((begin >> 12) * 0x9E3779B97F4A7C15ull) >> 52) & (slot_count - 1);
}

// The label as stored: the whole string if it fits, else "..." and its tail (the file name is
// the useful part of a long path).
void store_label(Details& d, const char* label) noexcept {
  char text[FaultInfo::label_capacity];
  std::size_t length = label ? std::strlen(label) : 0;
  if (length < sizeof text) {
    std::memcpy(text, label, length);
  } else {
    std::memcpy(text, "...", 3);
    std::memcpy(text + 3, label + length - (sizeof text - 4), sizeof text - 4);
    length = sizeof text - 1;
  }
  const std::size_t words = length / sizeof(std::uint64_t) + 1;  // with the terminating NUL
  std::memset(text + length, 0, words * sizeof(std::uint64_t) - length);
  for (std::size_t i = 0; i < words; ++i) {
    std::uint64_t word;
    std::memcpy(&word, text + i * sizeof word, sizeof word);
    d.label[i].store(word, std::memory_order_relaxed);
  }
}

void load_label(const Details& d, char* out) noexcept {
  for (std::size_t i = 0; i < label_words; ++i) {
    const std::uint64_t word = d.label[i].load(std::memory_order_relaxed);
    std::memcpy(out + i * sizeof word, &word, sizeof word);
    if (std::memchr(&word, 0, sizeof word) != nullptr) return;
  }
  out[FaultInfo::label_capacity - 1] = '\0';
}

// Takes the slot for writing if its sequence is still `seen` (even); then the caller owns it.
bool lock_slot(Range& r, std::uint32_t seen) noexcept {
  if (seen & 1u) return false;
  if (!r.sequence.compare_exchange_strong(seen, seen + 1, std::memory_order_acq_rel,
                                          std::memory_order_relaxed))
    return false;
  // Readers that see any store below must also see the odd sequence.
  std::atomic_thread_fence(std::memory_order_release);
  return true;
}

void unlock_slot(Range& r, std::uint32_t seen) noexcept {
  r.sequence.store(seen + 2, std::memory_order_release);
}

}  // namespace

void registry_add(const std::byte* begin, std::size_t length, const char* label,
                  std::uint64_t file_offset) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  if (b == 0 || length == 0) return;
  const std::size_t home = home_of(b);
  for (std::size_t probe = 0; probe < max_probe; ++probe) {
    const std::size_t i = (home + probe) & (slot_count - 1);
    Range& r = ranges[i];
    const std::uint32_t seen = r.sequence.load(std::memory_order_relaxed);
    if (r.begin.load(std::memory_order_relaxed) != 0 || !lock_slot(r, seen)) continue;
    details[i].file_offset.store(file_offset, std::memory_order_relaxed);
    store_label(details[i], label);
    r.end.store(b + length, std::memory_order_relaxed);
    r.begin.store(b, std::memory_order_relaxed);
    unlock_slot(r, seen);
    return;
  }
  overflows.fetch_add(1, std::memory_order_relaxed);
}

void registry_remove(const std::byte* begin) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  if (b == 0) return;
  const std::size_t home = home_of(b);
  for (std::size_t probe = 0; probe < max_probe; ++probe) {
    Range& r = ranges[(home + probe) & (slot_count - 1)];
    if (r.begin.load(std::memory_order_relaxed) != b) continue;
    // A live slot has one owner, the mapping's, and adds only take slots whose begin is 0 (by
    // CAS on the sequence, which this odd store makes fail): no lock needed.
    const std::uint32_t seen = r.sequence.load(std::memory_order_relaxed);
    r.sequence.store(seen + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    r.begin.store(0, std::memory_order_relaxed);
    r.end.store(0, std::memory_order_relaxed);
    r.sequence.store(seen + 2, std::memory_order_release);
    return;
  }
}

bool registry_find(const void* address, FaultInfo& fault) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  for (std::size_t i = 0; i < slot_count; ++i) {
    Range& r = ranges[i];
    if (r.begin.load(std::memory_order_relaxed) == 0) continue;
    for (int attempt = 0; attempt < 4; ++attempt) {
      const std::uint32_t before = r.sequence.load(std::memory_order_acquire);
      if (before & 1u) continue;  // a writer is in there; look again
      const std::uintptr_t begin = r.begin.load(std::memory_order_relaxed);
      const std::uintptr_t end = r.end.load(std::memory_order_relaxed);
      if (begin == 0 || a < begin || a >= end) break;
      const std::uint64_t offset = details[i].file_offset.load(std::memory_order_relaxed);
      load_label(details[i], fault.label);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (r.sequence.load(std::memory_order_relaxed) != before) continue;  // torn: read again
      fault.file_offset = offset + (a - begin);
      return true;
    }
  }
  return false;
}

std::size_t registry_overflows() noexcept {
  return overflows.load(std::memory_order_relaxed);
}

std::size_t registry_capacity() noexcept {
  return slot_count;
}

}  // namespace mmapxx::detail
