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

}  // namespace

int run_scenario(const std::string& scenario) {
  if (scenario == "user-siginfo-handler") return user_handlers(true);
  if (scenario == "user-plain-handler") return user_handlers(false);
  if (scenario == "ignored") return ignored();
  return 100;
}

}  // namespace mmapxx::test
