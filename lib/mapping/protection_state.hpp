// What a mapping knows about its pages' protection (include/mmapxx/mapping.hpp,
// protection_guard.hpp): its base protection plus layers set by set_protection() on parts and by
// live guards.
#pragma once

#include <sys/mman.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "base/syscall.hpp"
#include "mmapxx/flags.hpp"

namespace mmapxx::detail {

// Layers are byte offsets from the page holding the view's first byte, page-aligned, so they
// stay true when resize() moves the view. A later layer lies over earlier ones; a page's
// protection is that of the topmost layer holding it, else the base. Permanent layers come from
// set_protection() on part of the view or a guard's release(); guard layers live as long as their
// guard. Ending a guard removes its layer and re-applies what the layers left say, so guards may
// nest and end in any order. Calls on one mapping from several threads take `lock`.
struct ProtectionState {
  // The record's lock: an atomic flag, so that an uncontended lock and unlock are one atomic
  // exchange and one store (a pthread mutex is ~35 instructions each way, and a guard takes the
  // lock twice). It is held for a few stores and at most the mprotect calls of one change; a
  // waiter (another thread changing the same mapping's protection at that moment) yields.
  class Lock {
   public:
    void lock() noexcept {
      while (held_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
    }
    void unlock() noexcept { held_.store(false, std::memory_order_release); }

   private:
    std::atomic<bool> held_{false};
  };

  struct Layer {
    std::size_t begin = 0;
    std::size_t end = 0;
    Protection protection = Protection::None;
    std::uint64_t guard = 0;  // the guard's id; 0 for a permanent layer
  };

  Lock lock;
  std::atomic<Protection> base{Protection::None};
  std::vector<Layer> layers;
  std::uint64_t next_guard = 1;
  std::size_t view_length = 0;  // bytes of the view's pages, as of the last call that set a layer
  std::byte* pages = nullptr;   // where offset 0 is now (resize() may move it)
  std::size_t guards = 0;       // live guards pointing here
  bool orphaned = false;        // the mapping is gone: the last guard deletes the record

  // A guard is done with the record: deletes it when it was the last user of an orphaned one.
  // Call with `lock` held; `hold` is that lock's owner and is released first.
  static void drop_guard(ProtectionState* state, std::unique_lock<Lock>& hold) noexcept {
    --state->guards;
    if (state->orphaned && state->guards == 0) {
      hold.unlock();
      delete state;
    }
  }

  // The protection of the page at `offset` (page-aligned); call with `lock` held.
  Protection at(std::size_t offset) const noexcept {
    for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer)
      if (layer->begin <= offset && offset < layer->end) return layer->protection;
    return base.load(std::memory_order_relaxed);
  }

  // mprotects [begin, end) (offsets; `pages` is the address of offset 0) to what the layers say,
  // one call per run of equal protection: one call when nothing else lies over the range. Call
  // with `lock` held. Returns 0 or mprotect's errno. The usual end of a lone guard (no layer
  // left: the base, in one call) is inline, syscall included; several layers go through
  // apply_runs.
  [[gnu::always_inline]] int apply(std::byte* pages, std::size_t begin,
                                   std::size_t end) const noexcept {
    if (end == begin) return 0;
    if (layers.empty()) [[likely]] {
      return sys::status(sys::mprotect(pages + begin, end - begin,
                                       static_cast<int>(base.load(std::memory_order_relaxed))));
    }
    return apply_runs(pages, begin, end);
  }
  int apply_runs(std::byte* pages, std::size_t begin, std::size_t end) const noexcept;

  // Room for one more layer, allocated only when the record is full (it keeps its capacity).
  // False when out of memory. Call with `lock` held.
  bool reserve_layer() noexcept {
    if (layers.size() < layers.capacity()) [[likely]]
      return true;
    try {
      layers.reserve(layers.size() + 1);
    } catch (const std::bad_alloc&) {
      return false;
    }
    return true;
  }

  // Records a permanent change: drops the layers (permanent or a guard's) it covers entirely; over
  // the whole view it becomes the base. Call with `lock` held. May throw std::bad_alloc.
  void set(std::size_t begin, std::size_t end, Protection protection);

  // Removes the layer of guard `id`; call with `lock` held.
  void remove_guard(std::uint64_t id) noexcept {
    for (auto layer = layers.end(); layer != layers.begin();) {
      --layer;
      if (layer->guard == id) {
        layers.erase(layer);
        return;
      }
    }
  }
};

}  // namespace mmapxx::detail
