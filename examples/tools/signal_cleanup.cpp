#include "signal_cleanup.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

namespace mmtools {

namespace {

char pending_path[PATH_MAX + 1];
volatile std::sig_atomic_t pending = 0;

extern "C" void remove_pending(int sig) {
  if (pending) ::unlink(pending_path);
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

void set_signal_cleanup(const std::string& path) noexcept {
  pending = 0;
  if (path.empty() || path.size() > PATH_MAX) return;
  std::memcpy(pending_path, path.c_str(), path.size() + 1);
  pending = 1;
}

SignalsHeld::SignalsHeld() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : cleanup_signals) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

SignalsHeld::~SignalsHeld() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : cleanup_signals) sigaddset(&set, sig);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace mmtools
