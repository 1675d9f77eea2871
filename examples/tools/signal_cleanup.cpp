// Named temporaries removed on SIGINT, SIGTERM, SIGHUP (signal_cleanup.hpp).
#include "signal_cleanup.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace mmtools {

namespace {

// A lock-free atomic is safe in a handler; the flag is set only once the path is complete.
struct Slot {
  std::atomic<bool> pending{false};
  char path[PATH_MAX + 1];
};
static_assert(std::atomic<bool>::is_always_lock_free);
Slot slots[max_cleanup_threads];
thread_local std::size_t own_slot = 0;

extern "C" void remove_pending(int sig) {
  for (Slot& slot : slots)
    if (slot.pending.load(std::memory_order_acquire)) ::unlink(slot.path);
  // SA_RESETHAND restored the default action: the re-raised signal ends us as it would have.
  ::raise(sig);
}

constexpr int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};

}  // namespace

void install_signal_cleanup() {
  struct sigaction action {};
  action.sa_handler = remove_pending;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : cleanup_signals) ::sigaction(sig, &action, nullptr);
}

void use_signal_cleanup_slot(std::size_t slot) noexcept {
  own_slot = slot < max_cleanup_threads ? slot : 0;
}

void set_signal_cleanup(const std::string& path) noexcept {
  Slot& slot = slots[own_slot];
  slot.pending.store(false, std::memory_order_release);
  if (path.empty() || path.size() > PATH_MAX) return;
  std::memcpy(slot.path, path.c_str(), path.size() + 1);
  slot.pending.store(true, std::memory_order_release);
}

SignalsHeld::SignalsHeld() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : cleanup_signals) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalsHeld::~SignalsHeld() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : cleanup_signals) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace mmtools
