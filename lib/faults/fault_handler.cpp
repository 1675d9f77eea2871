// The process's SIGSEGV/SIGBUS handler and the guarded-call frames it jumps back to.
//
// The handler only decides, then jumps (siglongjmp) or returns; the exception is thrown later in
// run_guarded's caller. It claims a fault only when all of these hold: this thread is inside a
// guarded call, the kernel sent the signal (si_code > 0), and the address is in a registered
// mapping. Anything else goes to the action that was installed before ours, exactly as if we
// were not there. Repair handlers get the first look at kernel-sent faults.
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "faults/fault_internal.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx::detail {

namespace {

struct GuardFrame {
  sigjmp_buf jump;
  GuardFrame* previous;
  FaultInfo* fault;
  RegistryHit hit;  // where the handler found the range; its label is read after the jump
  // The faulting code's signal mask, from the handler's ucontext: restored after the jump, since
  // a handler that chained to ours without SA_NODEFER left the signal blocked.
  sigset_t mask;
  bool mask_saved;
};

// Initial-exec TLS of trivial type: the handler may read it without any lazy allocation.
[[gnu::tls_model("initial-exec")]] thread_local GuardFrame* current_guard = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local bool signal_stack_ready = false;
// The last fault a repair function answered Retry to, and the re-arm epoch then: the same address
// faulting again in the same epoch means the repair fixed nothing (no progress), so it is not
// offered to repair again but goes on to translation or the previous handler.
[[gnu::tls_model("initial-exec")]] thread_local void* last_retry_address = nullptr;
[[gnu::tls_model("initial-exec")]] thread_local std::uint64_t last_retry_epoch = 0;

struct sigaction previous_segv;
struct sigaction previous_bus;

const struct sigaction& previous_for(int signal) noexcept {
  return signal == SIGBUS ? previous_bus : previous_segv;
}

void restore_default(int signal) noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal, &action, nullptr);
}

// Does what the kernel would have done had our handler not been installed.
void call_previous(int signal, siginfo_t* info, void* context) noexcept {
  const struct sigaction& previous = previous_for(signal);
  const bool with_info = (previous.sa_flags & SA_SIGINFO) != 0;
  const bool sent = info->si_code <= 0;  // kill, raise, sigqueue: it will not happen again
  if (!with_info && previous.sa_handler == SIG_IGN && sent) return;
  if (!with_info && (previous.sa_handler == SIG_DFL || previous.sa_handler == SIG_IGN)) {
    // The kernel resets an ignored synchronous fault to the default too. A fault recurs when we
    // return, now with the default action: the process dies of it, with a core if enabled.
    restore_default(signal);
    if (sent) ::raise(signal);  // not blocked: SA_NODEFER
    return;
  }
  // The previous handler runs with the mask it asked for, as the kernel would have set it.
  sigset_t block = previous.sa_mask;
  if (!(previous.sa_flags & SA_NODEFER)) sigaddset(&block, signal);
  sigset_t old;
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  if (previous.sa_flags & SA_RESETHAND) restore_default(signal);
  if (with_info)
    previous.sa_sigaction(signal, info, context);
  else
    previous.sa_handler(signal);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void on_fault(int signal, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  // Check and clear first: a fault while deciding (or in a handler we chain to) is not ours.
  GuardFrame* const frame = current_guard;
  current_guard = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (info->si_code > 0) {
    const std::uint64_t epoch = repair_epoch();
    const bool stuck = info->si_addr == last_retry_address && epoch == last_retry_epoch;
    last_retry_address = nullptr;
    if (!stuck && dispatch_repair(FaultEvent{signal, info->si_code, info->si_addr})) {
      last_retry_address = info->si_addr;
      last_retry_epoch = epoch;
      current_guard = frame;
      errno = saved_errno;
      return;
    }
    if (frame != nullptr && registry_find(info->si_addr, frame->fault->file_offset, frame->hit)) {
      frame->fault->signal = signal;
      frame->fault->code = info->si_code;
      frame->fault->address = info->si_addr;
      frame->mask_saved = context != nullptr;
      if (frame->mask_saved) frame->mask = static_cast<const ucontext_t*>(context)->uc_sigmask;
      current_guard = frame->previous;
      siglongjmp(frame->jump, 1);
    }
  }
  call_previous(signal, info, context);
  current_guard = frame;
  errno = saved_errno;
}

int install(int signal, struct sigaction& previous) noexcept {
  // Read the old action before ours is live, so the handler never sees a half-written copy.
  if (::sigaction(signal, nullptr, &previous) != 0) return errno;
  struct sigaction action {};
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  if (::sigaction(signal, &action, nullptr) != 0) return errno;
  return 0;
}

// The alternate stack a thread's handler runs on (threads do not inherit one), so that a stack
// overflow still reaches the handler, which passes it on. A guard page below catches a handler
// that overflows it: the kernel then kills the process instead of looping.
class SignalStack {
 public:
  int create() noexcept {
    const long minimum = ::sysconf(_SC_SIGSTKSZ);  // not a constant since glibc 2.34
    const std::size_t size = align_up(
        std::max<std::size_t>(64 * 1024, minimum > 0 ? static_cast<std::size_t>(minimum) : 0),
        page_size());
    MapRequest request;
    request.length = size + page_size();
    request.prot = PROT_READ | PROT_WRITE;
    request.flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK;
    request.label = "mmapxx signal stack";
    if (Failure failure = map_view(request, view_)) return failure.code;
    if (::mprotect(view_.data, page_size(), PROT_NONE) != 0) return fail(errno);
    stack_t stack{};
    stack.ss_sp = view_.data + page_size();
    stack.ss_size = size;
    if (::sigaltstack(&stack, nullptr) != 0) return fail(errno);
    return 0;
  }
  ~SignalStack() {
    if (view_.data == nullptr) return;
    stack_t current{};
    // Someone may have replaced it meanwhile; only take down our own.
    if (::sigaltstack(nullptr, &current) == 0 && current.ss_sp == view_.data + page_size()) {
      stack_t off{};
      off.ss_flags = SS_DISABLE;
      ::sigaltstack(&off, nullptr);
    }
    unmap_view(view_);
  }

 private:
  int fail(int code) noexcept {
    unmap_view(view_);
    view_ = {};
    return code;
  }
  View view_;
};

int prepare_thread() noexcept {
  if (const int code = install_fault_handler()) return code;
  if (signal_stack_ready) return 0;
  stack_t current{};
  if (::sigaltstack(nullptr, &current) != 0) return errno;
  if (!(current.ss_flags & SS_DISABLE)) {
    signal_stack_ready = true;  // the program's or a sanitizer's stack: use it
    return 0;
  }
  // Created on first use, outside the handler; its destructor runs at thread exit.
  static thread_local SignalStack stack;
  if (const int code = stack.create()) return code;
  signal_stack_ready = true;
  return 0;
}

// Our own handler runs with SA_NODEFER and leaves the mask alone, but one installed after ours
// that chains to it without SA_NODEFER has the kernel block the signal until it returns, which it
// never does: the jump skipped that. Put back the mask the guarded code had.
void restore_mask(const GuardFrame& frame) noexcept {
  if (frame.mask_saved) {
    ::pthread_sigmask(SIG_SETMASK, &frame.mask, nullptr);
    return;
  }
  sigset_t faults;  // no context given: at least unblock what a chaining handler blocked
  sigemptyset(&faults);
  sigaddset(&faults, SIGSEGV);
  sigaddset(&faults, SIGBUS);
  ::pthread_sigmask(SIG_UNBLOCK, &faults, nullptr);
}

}  // namespace

int install_fault_handler() noexcept {
  static const int error = [] {
    prepare_fault_errors();
    if (const int code = install(SIGSEGV, previous_segv)) return code;
    return install(SIGBUS, previous_bus);
  }();
  return error;
}

bool run_guarded(void (*body)(void*), void* context, FaultInfo& fault) {
  if (const int code = prepare_thread())
    raise(make_failure("guarded", code, "cannot install the fault handler or signal stack"), "");
  // Nothing with a destructor lives in this frame: the handler jumps back into it. The signal
  // mask is not saved (a syscall per call): with SA_NODEFER and an empty sa_mask, the handler
  // runs with the mask of the faulting code, which is the mask here.
  GuardFrame frame;
  frame.previous = current_guard;
  frame.fault = &fault;
  frame.mask_saved = false;
  if (sigsetjmp(frame.jump, 0) != 0) {  // the handler already unlinked the frame
    restore_mask(frame);  // the fault path only: one syscall, never on the normal path
    registry_label(frame.hit, fault.label);  // under the registry's lock: not in the handler
    return false;
  }
  current_guard = &frame;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  try {
    body(context);
  } catch (...) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    current_guard = frame.previous;
    throw;
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  current_guard = frame.previous;
  return true;
}

}  // namespace mmapxx::detail
