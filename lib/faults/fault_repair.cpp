// Repair handlers (mmapxx/fault.hpp): a growable table the signal handler reads without locks.
//
// Slots live in chunks that never move and are never freed: chunk k holds 64 << k slots, so 40
// chunk pointers give room for more registrations than memory could hold, and a RepairHandler's
// slot number stays valid for its whole life. Chunks are added (outside the handler, under a
// mutex) only when every existing slot is taken; the handler walks the published chunks.
//
// A slot goes free -> claimed (being filled) -> live -> retiring -> free. The handler announces
// itself in `calls` BEFORE it checks that the slot is live; the owner marks it retiring BEFORE it
// waits for `calls` to drop to zero. Both sides use sequentially consistent operations, so either
// the handler sees "retiring" and backs off, or the owner sees the call and waits for it: a
// repair function never runs after its RepairHandler is gone.
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <new>
#include <thread>

#include "faults/fault_internal.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {

enum State : int { Free, Claimed, Live, Retiring };

struct Slot {
  std::atomic<int> state{Free};
  std::atomic<int> calls{0};
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};
  std::atomic<RepairFunction> function{nullptr};
  std::atomic<void*> context{nullptr};
};

constexpr std::size_t first_chunk = 64;
constexpr std::size_t max_chunks = 40;

constexpr std::size_t chunk_size(std::size_t k) noexcept {
  return first_chunk << k;
}

std::atomic<Slot*> chunks[max_chunks];
std::atomic<std::size_t> chunk_count{0};
std::mutex growing;
std::atomic<int> live_slots{0};
std::atomic<std::uint64_t> epoch{1};

Slot* slot_at(long index) noexcept {
  auto i = static_cast<std::size_t>(index);
  for (std::size_t k = 0;; ++k) {
    if (i < chunk_size(k)) return &chunks[k].load()[i];
    i -= chunk_size(k);
  }
}

// A new chunk of slots, mapped (so that a failure is an errno and not an exception) and never
// unmapped: the handler may be reading it.
detail::Failure new_chunk(std::size_t k, Slot*& chunk) noexcept {
  detail::MapRequest request;
  request.length = chunk_size(k) * sizeof(Slot);
  request.prot = PROT_READ | PROT_WRITE;
  request.flags = MAP_PRIVATE | MAP_ANONYMOUS;
  request.label = "mmapxx repair handler table";
  detail::View view;
  if (detail::Failure failure = detail::map_view(request, view)) return failure;
  chunk = new (view.data) Slot[chunk_size(k)];
  return {};
}

// A repair function that faults itself must not be offered that fault again (it would recurse
// until the signal stack runs out).
[[gnu::tls_model("initial-exec")]] thread_local bool repairing = false;

}  // namespace

namespace detail {

std::uint64_t repair_epoch() noexcept {
  return epoch.load(std::memory_order_acquire);
}

bool dispatch_repair(const FaultEvent& fault) noexcept {
  if (repairing || live_slots.load(std::memory_order_acquire) == 0) return false;
  const auto a = reinterpret_cast<std::uintptr_t>(fault.address);
  const std::size_t count = chunk_count.load(std::memory_order_acquire);
  for (std::size_t k = 0; k < count; ++k) {
    Slot* const chunk = chunks[k].load(std::memory_order_acquire);
    for (std::size_t i = 0; i < chunk_size(k); ++i) {
      Slot& slot = chunk[i];
      if (slot.state.load(std::memory_order_relaxed) != Live) continue;
      slot.calls.fetch_add(1);
      Repair outcome = Repair::Decline;
      if (slot.state.load() == Live && a >= slot.begin.load(std::memory_order_relaxed) &&
          a < slot.end.load(std::memory_order_relaxed)) {
        repairing = true;
        std::atomic_signal_fence(std::memory_order_seq_cst);
        outcome = slot.function.load(std::memory_order_relaxed)(
            fault, slot.context.load(std::memory_order_relaxed));
        std::atomic_signal_fence(std::memory_order_seq_cst);
        repairing = false;
      }
      slot.calls.fetch_sub(1, std::memory_order_release);
      if (outcome == Repair::Retry) return true;
    }
  }
  return false;
}

}  // namespace detail

detail::Failure RepairHandler::attach(std::span<const std::byte> region, RepairFunction function,
                                      void* context) noexcept {
  if (region.empty()) return detail::invalid_argument("RepairHandler", "region: empty");
  if (function == nullptr) return detail::invalid_argument("RepairHandler", "function: null");
  if (const int code = detail::install_fault_handler())
    return detail::make_failure("sigaction", code, "installing the fault handler");
  const auto begin = reinterpret_cast<std::uintptr_t>(region.data());
  const auto claim = [&](Slot& slot, long index) {
    int expected = Free;
    if (!slot.state.compare_exchange_strong(expected, Claimed)) return false;
    slot.begin.store(begin, std::memory_order_relaxed);
    slot.end.store(begin + region.size(), std::memory_order_relaxed);
    slot.function.store(function, std::memory_order_relaxed);
    slot.context.store(context, std::memory_order_relaxed);
    slot.state.store(Live);
    live_slots.fetch_add(1);
    epoch.fetch_add(1);
    slot_ = index;
    return true;
  };
  for (;;) {
    const std::size_t count = chunk_count.load(std::memory_order_acquire);
    long index = 0;
    for (std::size_t k = 0; k < count; ++k) {
      Slot* const chunk = chunks[k].load(std::memory_order_acquire);
      for (std::size_t i = 0; i < chunk_size(k); ++i, ++index)
        if (claim(chunk[i], index)) return {};
    }
    // Every slot was taken: add a chunk as big as all the others together (unless another
    // thread just did), then look again.
    const std::lock_guard<std::mutex> lock(growing);
    if (chunk_count.load() != count) continue;
    if (count == max_chunks)
      return detail::make_failure("RepairHandler", ENOMEM, "too many repair handlers alive");
    Slot* chunk = nullptr;
    if (detail::Failure failure = new_chunk(count, chunk)) return failure;
    chunks[count].store(chunk, std::memory_order_release);
    chunk_count.store(count + 1, std::memory_order_release);
  }
}

RepairHandler::RepairHandler(std::span<const std::byte> region, RepairFunction function,
                             void* context) {
  if (detail::Failure failure = attach(region, function, context)) detail::raise(failure, "");
}

RepairHandler RepairHandler::make(std::span<const std::byte> region, RepairFunction function,
                                  void* context, std::error_code& ec) noexcept {
  RepairHandler handler;
  detail::report(handler.attach(region, function, context), ec);
  return handler;
}

RepairHandler& RepairHandler::operator=(RepairHandler&& other) noexcept {
  if (this != &other) {
    reset();
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

void RepairHandler::rearmed() noexcept {
  epoch.fetch_add(1);
}

void RepairHandler::reset() noexcept {
  if (slot_ < 0) return;
  Slot& slot = *slot_at(slot_);
  slot.state.store(Retiring);
  live_slots.fetch_sub(1);
  // A call in progress on another thread is short (it is a signal handler): wait it out.
  while (slot.calls.load() != 0) std::this_thread::yield();
  slot.state.store(Free);
  epoch.fetch_add(1);
  slot_ = -1;
}

}  // namespace mmapxx
