// The registry of mapped ranges that fault translation may claim (mapping/registry.hpp).
//
// Writers are map/unmap on any thread; the reader is the signal handler, which must never wait.
// So: a table of slots, each a seqlock (its sequence is odd while a writer owns it), every field
// an atomic. A writer finds its slot by hashing the range's first address and probing a few
// neighbours. Writers serialise on a spin lock (a handful of stores each, never held across a
// syscall except the rare growth), which keeps growth simple; the handler takes no lock.
//
// No fixed capacity: when the table is half full, or a range finds no free slot near its hash,
// a table twice as big is mapped, every live range copied in, and the new table published with
// one atomic store. Old tables are never unmapped, because a handler may still be scanning one;
// as sizes double, all of them together are smaller than the current one (the bound: 2x). The
// handler scans every slot of the table it loaded, which is fine on a path that only runs when a
// fault happened. mmap is called directly here: this is the registry of the map primitive.
//
// Labels are not copied unless short: a map costs a few stores for it, not a copy of the path.
// So the handler never reads one (its owner may free it meanwhile, on another thread); the
// guarded() call that jumped back reads it in normal code, under the writers' lock, which no
// range can leave while it is held.
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <new>
#include <thread>

#include "mapping/registry.hpp"

namespace mmapxx::detail {

// A slot's label: a short one in `words` (NUL-terminated, `pointer` null), a longer one where
// its owner keeps it (see registry_add).
struct RegistryDetails {
  std::atomic<std::uint64_t> words[registry_inline_label / sizeof(std::uint64_t)];
  std::atomic<const char*> pointer;
  std::atomic<std::size_t> length;
};

namespace {

constexpr std::size_t first_slot_count = 4096;  // a power of two, as every later size
constexpr std::size_t max_probe = registry_max_probe;
constexpr std::size_t label_words = registry_inline_label / sizeof(std::uint64_t);

using Range = RegistryRange;
using Details = RegistryDetails;
using Table = RegistryTable;

Range first_ranges[first_slot_count];
Details first_details[first_slot_count];
Table first_table{first_slot_count, 0, first_ranges, first_details};
std::atomic<std::size_t> unregistered{0};

}  // namespace

std::atomic<RegistryTable*> registry_table{&first_table};
std::atomic_flag registry_writing = ATOMIC_FLAG_INIT;

namespace {

void lock_writers() noexcept {
  while (registry_writing.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
}
void unlock_writers() noexcept {
  registry_writing.clear(std::memory_order_release);
}

// fork() waits for a writer in progress, so a child never inherits the lock held by a thread it
// does not have. Registered when the library is loaded (before any thread of the program can map
// through it), not checked on every lock.
[[maybe_unused]] const bool fork_safe =
    ::pthread_atfork(lock_writers, unlock_writers, unlock_writers) == 0;

// Stores `length` bytes of `label` (length < registry_inline_label) and a terminating NUL as whole
// words, zero-padded: a bounded copy, no scan beyond the known length, no byte loop. Reads no byte
// outside label[0, length): the last word is the (overlapping) word that ends the label, shifted; a
// label shorter than a word is put together from overlapping 4-byte or 1-byte pieces.
[[gnu::always_inline]] inline void store_words(Details& d, const char* label,
                                               std::size_t length) noexcept {
  static_assert(std::endian::native == std::endian::little, "words are assembled little-endian");
  const std::size_t full = length / sizeof(std::uint64_t);
  const std::size_t rest = length % sizeof(std::uint64_t);
  std::uint64_t last = 0;
  if (full != 0) [[likely]] {
    // Two words a round (a path is a handful of words): fewer loop instructions than one a round,
    // without the dispatch of a fully unrolled copy.
    std::size_t i = 0;
#pragma GCC unroll 1
    for (; i + 2 <= full; i += 2) {
      std::uint64_t words[2];
      std::memcpy(words, label + i * sizeof last, sizeof words);
      d.words[i].store(words[0], std::memory_order_relaxed);
      d.words[i + 1].store(words[1], std::memory_order_relaxed);
    }
    if (i != full) {
      std::uint64_t word;
      std::memcpy(&word, label + i * sizeof word, sizeof word);
      d.words[i].store(word, std::memory_order_relaxed);
    }
    if (rest != 0) {
      std::memcpy(&last, label + length - sizeof last, sizeof last);
      last >>= 8 * (sizeof last - rest);
    }
  } else if (length >= 4) {
    std::uint32_t low;
    std::uint32_t high;
    std::memcpy(&low, label, 4);
    std::memcpy(&high, label + length - 4, 4);
    last = low | std::uint64_t{high} << (8 * (length - 4));  // overlapping bytes agree
  } else if (length != 0) {
    const auto byte = [label](std::size_t i) {
      return std::uint64_t{static_cast<unsigned char>(label[i])} << (8 * i);
    };
    last = byte(0) | byte(length / 2) | byte(length - 1);
  }
  d.words[full].store(last, std::memory_order_relaxed);
}

// The label as stored: copied when short, else pointed to.
[[gnu::always_inline]] inline void store_label(Details& d, const char* label,
                                               std::size_t length) noexcept {
  if (length < registry_inline_label) {
    store_words(d, label, length);
    d.pointer.store(nullptr, std::memory_order_relaxed);
  } else {
    d.pointer.store(label, std::memory_order_relaxed);
    d.length.store(length, std::memory_order_relaxed);
  }
}

// Under the writers' lock: the slot's label into `out` (FaultInfo::label_capacity bytes), its
// tail after "..." when too long (the file name is the useful part of a long path).
void load_label(const Details& d, char* out) noexcept {
  const char* const pointer = d.pointer.load(std::memory_order_relaxed);
  if (pointer == nullptr) {
    for (std::size_t i = 0; i < label_words; ++i) {
      const std::uint64_t word = d.words[i].load(std::memory_order_relaxed);
      std::memcpy(out + i * sizeof word, &word, sizeof word);
    }
    out[registry_inline_label - 1] = '\0';
    return;
  }
  const std::size_t length = d.length.load(std::memory_order_relaxed);
  constexpr std::size_t capacity = FaultInfo::label_capacity;
  if (length < capacity) {
    std::memcpy(out, pointer, length);
    out[length] = '\0';
  } else {
    std::memcpy(out, "...", 3);
    std::memcpy(out + 3, pointer + length - (capacity - 4), capacity - 4);
    out[capacity - 1] = '\0';
  }
}

[[gnu::always_inline]] inline void fill(Table& t, std::size_t i, std::uintptr_t begin,
                                        std::uintptr_t end, std::uint64_t file_offset,
                                        const Details* label_from, const char* label,
                                        std::size_t label_length) noexcept {
  Range& r = t.ranges[i];
  registry_lock_slot(r);
  r.file_offset.store(file_offset, std::memory_order_relaxed);
  if (label_from != nullptr) {
    Details& d = t.details[i];
    for (std::size_t w = 0; w < label_words; ++w)
      d.words[w].store(label_from->words[w].load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
    d.pointer.store(label_from->pointer.load(std::memory_order_relaxed), std::memory_order_relaxed);
    d.length.store(label_from->length.load(std::memory_order_relaxed), std::memory_order_relaxed);
  } else {
    store_label(t.details[i], label, label_length);
  }
  r.end.store(end, std::memory_order_relaxed);
  r.begin.store(begin, std::memory_order_relaxed);
  registry_unlock_slot(r);
  ++t.used;
}

// Under the writers' lock. The slot a range can take in `t`, or slot_count if none is free.
[[gnu::always_inline]] inline std::size_t free_slot(const Table& t, std::uintptr_t begin) noexcept {
  const std::size_t home = registry_home(t, begin);
  for (std::size_t probe = 0; probe < max_probe; ++probe) {
    const std::size_t i = (home + probe) & (t.slot_count - 1);
    if (t.ranges[i].begin.load(std::memory_order_relaxed) == 0) return i;
  }
  return t.slot_count;
}

// Under the writers' lock. A table at least twice as big holding every live range of `old`, or
// nullptr when memory is short.
Table* grown(const Table& old) noexcept {
  for (std::size_t slots = old.slot_count * 2; slots != 0 && slots <= (std::size_t{1} << 40);
       slots *= 2) {
    const std::size_t bytes =
        sizeof(Table) + slots * sizeof(Range) + slots * sizeof(Details) + alignof(Details);
    void* memory =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    // Zero-filled memory is a valid "all free" state for these atomics.
    auto* t = new (memory) Table{slots, 0, nullptr, nullptr};
    t->ranges = new (static_cast<std::byte*>(memory) + sizeof(Table)) Range[slots];
    t->details = new (t->ranges + slots) Details[slots];
    bool complete = true;
    for (std::size_t i = 0; i < old.slot_count && complete; ++i) {
      const std::uintptr_t b = old.ranges[i].begin.load(std::memory_order_relaxed);
      if (b == 0) continue;
      const std::size_t slot = free_slot(*t, b);
      if (slot == t->slot_count) {
        complete = false;
        break;
      }
      fill(*t, slot, b, old.ranges[i].end.load(std::memory_order_relaxed),
           old.ranges[i].file_offset.load(std::memory_order_relaxed), &old.details[i], nullptr, 0);
    }
    if (complete) return t;
    ::munmap(memory, bytes);  // never published: nobody can be reading it
  }
  return nullptr;
}

// Under the writers' lock: publishes a bigger table holding every range of `t`, and the slot
// `begin` takes in it; nullptr when memory is short (the range is then counted unregistered: its
// faults are not claimed). Kept out of registry_add, whose frame stays small.
[[gnu::noinline, gnu::cold]] Table* grow(const Table& t, std::uintptr_t begin,
                                         std::size_t& slot) noexcept {
  Table* const bigger = grown(t);
  if (bigger == nullptr) {
    unregistered.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  // The old table stays mapped (a handler may be scanning it) but is no longer written.
  registry_table.store(bigger, std::memory_order_release);
  slot = free_slot(*bigger, begin);
  if (slot == bigger->slot_count) {
    unregistered.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  return bigger;
}

// registry_add and registry_remove are leaf functions in the common case (no frame, no saved
// registers): everything that needs a call (waiting for another writer, growing the table) is a
// cold function reached by a tail call, which takes over the lock.

// Under the writers' lock, which it releases: registry_add when the table must grow, or when no
// slot near the range's hash is free.
[[gnu::noinline, gnu::cold]] void add_locked_slow(std::uintptr_t b, std::size_t length,
                                                  const char* label, std::size_t label_length,
                                                  std::uint64_t file_offset) noexcept {
  Table* t = registry_table.load(std::memory_order_relaxed);
  std::size_t slot = t->used * 2 < t->slot_count ? free_slot(*t, b) : t->slot_count;
  if (slot == t->slot_count) t = grow(*t, b, slot);
  if (t != nullptr) fill(*t, slot, b, b + length, file_offset, nullptr, label, label_length);
  unlock_writers();
}

// Under the writers' lock, which it releases: the whole of registry_add but the lock.
[[gnu::always_inline]] inline void add_locked(std::uintptr_t b, std::size_t length,
                                              const char* label, std::size_t label_length,
                                              std::uint64_t file_offset) noexcept {
  Table& t = *registry_table.load(std::memory_order_relaxed);
  if (t.used * 2 < t.slot_count) [[likely]] {
    const std::size_t i = free_slot(t, b);
    if (i != t.slot_count) [[likely]] {
      Range& r = t.ranges[i];
      // The range first and the label last: fewer values live across the copy. A reader sees
      // the odd sequence until all of it is there.
      registry_lock_slot(r);
      r.end.store(b + length, std::memory_order_relaxed);
      r.file_offset.store(file_offset, std::memory_order_relaxed);
      r.begin.store(b, std::memory_order_relaxed);
      ++t.used;
      store_label(t.details[i], label, label_length);
      registry_unlock_slot(r);
      unlock_writers();
      return;
    }
  }
  return add_locked_slow(b, length, label, label_length, file_offset);
}

// registry_add when another writer holds the lock.
[[gnu::noinline, gnu::cold]] void add_contended(std::uintptr_t b, std::size_t length,
                                                const char* label, std::size_t label_length,
                                                std::uint64_t file_offset) noexcept {
  lock_writers();
  add_locked(b, length, label, label_length, file_offset);
}

}  // namespace

void registry_add(const std::byte* begin, std::size_t length, const char* label,
                  std::uint64_t file_offset) noexcept {
  registry_add(begin, length, label, label ? std::strlen(label) : 0, file_offset);
}

void registry_add(const std::byte* begin, std::size_t length, const char* label,
                  std::size_t label_length, std::uint64_t file_offset) noexcept {
  const auto b = reinterpret_cast<std::uintptr_t>(begin);
  if (b == 0 || length == 0) [[unlikely]]
    return;
  if (registry_writing.test_and_set(std::memory_order_acquire)) [[unlikely]]
    return add_contended(b, length, label, label_length, file_offset);
  add_locked(b, length, label, label_length, file_offset);
}

void registry_remove_contended(std::uintptr_t b) noexcept {
  lock_writers();
  registry_remove_locked(b);
}

bool registry_find(const void* address, std::uint64_t& file_offset, RegistryHit& hit) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  const Table& t = *registry_table.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < t.slot_count; ++i) {
    Range& r = t.ranges[i];
    if (r.begin.load(std::memory_order_relaxed) == 0) continue;
    for (int attempt = 0; attempt < 4; ++attempt) {
      const std::uint32_t before = r.sequence.load(std::memory_order_acquire);
      if (before & 1u) continue;  // a writer is in there; look again
      const std::uintptr_t begin = r.begin.load(std::memory_order_relaxed);
      const std::uintptr_t end = r.end.load(std::memory_order_relaxed);
      if (begin == 0 || a < begin || a >= end) break;
      const std::uint64_t offset = r.file_offset.load(std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (r.sequence.load(std::memory_order_relaxed) != before) continue;  // torn: read again
      file_offset = offset + (a - begin);
      hit = RegistryHit{begin, end};
      return true;
    }
  }
  return false;
}

void registry_label(const RegistryHit& hit, char* out) noexcept {
  lock_writers();
  // Looked up again, not remembered from the handler: a bigger table may have taken the range over.
  const Table& t = *registry_table.load(std::memory_order_relaxed);
  const std::size_t slot = registry_slot_of(t, hit.begin);
  if (slot != t.slot_count && t.ranges[slot].end.load(std::memory_order_relaxed) == hit.end)
    load_label(t.details[slot], out);
  else
    std::memcpy(out, "(unmapped since the fault)", 27);
  unlock_writers();
}

std::size_t registry_unregistered() noexcept {
  return unregistered.load(std::memory_order_relaxed);
}

}  // namespace mmapxx::detail
