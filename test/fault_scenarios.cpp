// Scenarios that need a fresh process, where the program installs its own handling before
// mmapxx installs anything. Each returns 0 on success, or the number of the check that failed.
#include <setjmp.h>

#include <cstring>

#include "fault_support.hpp"

namespace mmapxx::test {

namespace {

sigjmp_buf back;

const std::byte* null_byte() {
  const std::byte* volatile null = nullptr;
  return null;
}
volatile sig_atomic_t seen_signal = 0;
volatile sig_atomic_t seen_code = 0;
void* volatile seen_address = nullptr;

void on_signal_with_info(int signal, siginfo_t* info, void*) {
  seen_signal = signal;
  seen_code = info->si_code;
  seen_address = info->si_addr;
  siglongjmp(back, 1);
}

void on_signal_plain(int signal) {
  seen_signal = signal;
  siglongjmp(back, 1);
}

void install_user_handler(bool with_info) {
  struct sigaction action {};
  if (with_info) {
    action.sa_sigaction = on_signal_with_info;
    action.sa_flags = SA_SIGINFO;
  } else {
    action.sa_handler = on_signal_plain;
  }
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGSEGV, &action, nullptr);
  ::sigaction(SIGBUS, &action, nullptr);
}

// Runs body; returns the signal the user's handler saw (0: none).
int user_handler_saw(const std::function<void()>& body) {
  seen_signal = 0;
  if (sigsetjmp(back, 1) == 0) body();
  return seen_signal;
}

int user_handlers(bool with_info) {
  install_user_handler(with_info);
  TruncatedFile t;
  const std::byte* past = t.file.data() + 2 * page_size();
  // Ours: translated, the user's handler never hears of it.
  bool translated = false;
  try {
    guarded([&] { load(past); });
  } catch (const FaultError& e) {
    translated = e.address() == past;
  }
  if (!translated || seen_signal != 0) return 1;
  // Not ours: a null dereference inside guarded.
  if (user_handler_saw([] { guarded([] { load(null_byte()); }); }) != SIGSEGV) return 2;
  if (with_info && (seen_code != SEGV_MAPERR || seen_address != nullptr)) return 3;
  // Not ours: a mapping fault outside guarded.
  if (user_handler_saw([&] { load(past); }) != SIGBUS) return 4;
  if (with_info && (seen_address != past || seen_code != BUS_ADRERR)) return 5;
  // Not ours: sent by a user, inside guarded.
  if (user_handler_saw([] { guarded([] { ::raise(SIGBUS); }); }) != SIGBUS) return 6;
  if (with_info && seen_code != SI_TKILL) return 7;
  // And translation still works afterwards.
  translated = false;
  try {
    guarded([&] { load(past + 1); });
  } catch (const FaultError& e) {
    translated = e.address() == past + 1;
  }
  return translated ? 0 : 8;
}

int ignored() {
  ::signal(SIGSEGV, SIG_IGN);
  ::signal(SIGBUS, SIG_IGN);
  guarded([] { ::raise(SIGBUS); });  // ignored, as it would be without mmapxx
  guarded([] { ::raise(SIGSEGV); });
  guarded([] { load(null_byte()); });  // the kernel kills
  return 10;
}

struct sigaction mmapxx_segv;
struct sigaction mmapxx_bus;

// A handler installed after mmapxx's that passes every fault on, like TSan's wrapper does. It is
// installed without SA_NODEFER: the kernel blocks the signal while it runs, and mmapxx's jump
// out of it skips the unblocking.
void chain_to_mmapxx(int signal, siginfo_t* info, void* context) {
  const struct sigaction& next = signal == SIGBUS ? mmapxx_bus : mmapxx_segv;
  next.sa_sigaction(signal, info, context);
}

int chaining_handler_without_nodefer() {
  TruncatedFile t;
  const std::byte* past = t.file.data() + 2 * page_size();
  try {
    guarded([&] { load(past); });  // installs mmapxx's handler
  } catch (const FaultError&) {
  }
  struct sigaction action {};
  action.sa_sigaction = chain_to_mmapxx;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;  // no SA_NODEFER
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGSEGV, &action, &mmapxx_segv);
  ::sigaction(SIGBUS, &action, &mmapxx_bus);
  for (int round = 0; round < 3; ++round) {
    try {
      guarded([&] { load(past + round); });
      return 1 + round;
    } catch (const FaultError& e) {
      if (e.address() != past + round) return 10 + round;
    }
    sigset_t now;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &now);
    if (sigismember(&now, SIGBUS) || sigismember(&now, SIGSEGV)) return 20 + round;
  }
  return 0;
}

}  // namespace

int run_scenario(const std::string& scenario) {
  if (scenario == "user-siginfo-handler") return user_handlers(true);
  if (scenario == "user-plain-handler") return user_handlers(false);
  if (scenario == "ignored") return ignored();
  if (scenario == "chaining-handler-without-nodefer") return chaining_handler_without_nodefer();
  return 100;
}

}  // namespace mmapxx::test
