// Repair handlers: a fixed table the signal handler reads without locks.
//
// A slot goes free -> claimed (being filled) -> live -> retiring -> free. The handler announces
// itself in `calls` BEFORE it checks that the slot is live; the owner marks it retiring BEFORE it
// waits for `calls` to drop to zero. Both sides use sequentially consistent operations, so either
// the handler sees "retiring" and backs off, or the owner sees the call and waits for it: a
// repair function never runs after its RepairHandler is gone.
#include <atomic>
#include <cerrno>
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

Slot slots[RepairHandler::capacity];
std::atomic<int> live_slots{0};

// A repair function that faults itself must not be offered that fault again (it would recurse
// until the signal stack runs out).
[[gnu::tls_model("initial-exec")]] thread_local bool repairing = false;

}  // namespace

namespace detail {

bool dispatch_repair(const FaultEvent& fault) noexcept {
  if (repairing || live_slots.load(std::memory_order_acquire) == 0) return false;
  const auto a = reinterpret_cast<std::uintptr_t>(fault.address);
  for (Slot& slot : slots) {
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
  return false;
}

}  // namespace detail

detail::Failure RepairHandler::attach(std::span<const std::byte> region, RepairFunction function,
                                      void* context) noexcept {
  if (region.empty()) return detail::invalid_argument("RepairHandler", "region: empty");
  if (function == nullptr) return detail::invalid_argument("RepairHandler", "function: null");
  if (const int code = detail::install_fault_handler())
    return detail::make_failure("sigaction", code, "installing the fault handler");
  for (std::size_t i = 0; i < capacity; ++i) {
    Slot& slot = slots[i];
    int expected = Free;
    if (!slot.state.compare_exchange_strong(expected, Claimed)) continue;
    const auto begin = reinterpret_cast<std::uintptr_t>(region.data());
    slot.begin.store(begin, std::memory_order_relaxed);
    slot.end.store(begin + region.size(), std::memory_order_relaxed);
    slot.function.store(function, std::memory_order_relaxed);
    slot.context.store(context, std::memory_order_relaxed);
    slot.state.store(Live);
    live_slots.fetch_add(1);
    slot_ = static_cast<int>(i);
    return {};
  }
  return detail::make_failure("RepairHandler", ENOSPC,
                              "all " + std::to_string(capacity) + " repair slots are in use");
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

void RepairHandler::reset() noexcept {
  if (slot_ < 0) return;
  Slot& slot = slots[slot_];
  slot.state.store(Retiring);
  live_slots.fetch_sub(1);
  // A call in progress on another thread is short (it is a signal handler): wait it out.
  while (slot.calls.load() != 0) std::this_thread::yield();
  slot.state.store(Free);
  slot_ = -1;
}

}  // namespace mmapxx
