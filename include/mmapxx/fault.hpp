/// @file
/// Faults become exceptions: a SIGBUS or SIGSEGV inside a mapping made by mmapxx, during a
/// guarded() call, ends that call with a FaultError instead of killing the process. Every other
/// fault goes to whatever handled it before mmapxx (by default: the process dies with that
/// signal, as it would have without mmapxx).
///
/// Also: repair-and-resume handlers (RepairHandler), called inside the signal handler to fix a
/// fault (mprotect, map a page) and let the access run again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <type_traits>
#include <utility>

#include "mmapxx/error.hpp"

namespace mmapxx {

/// What the signal handler records about a fault it claimed. Trivially copyable on purpose: the
/// handler fills it in without allocating.
struct FaultInfo {
  /// Bytes of `label`, including its terminating NUL.
  static constexpr std::size_t label_capacity = 256;

  int signal = 0;                 ///< SIGSEGV or SIGBUS
  int code = 0;                   ///< si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, ...
  void* address = nullptr;        ///< si_addr: the byte the access touched
  std::uint64_t file_offset = 0;  ///< offset of `address` in the file (in the region if anonymous)
  /// The mapping's path or name when it was mapped; a long one keeps its tail, after "...".
  char label[label_capacity] = {};
};

/// errno is EFAULT; what() reads like
/// "SIGBUS: /data/x: Bad address (address=0x7f..., file offset=8192, BUS_ADRERR)".
class FaultError : public Error {
 public:
  /// Builds the error from what the handler recorded (allocates the message).
  explicit FaultError(const FaultInfo& fault);

  /// SIGSEGV or SIGBUS.
  int signal() const noexcept { return signal_; }
  /// The fault's si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, ...
  int si_code() const noexcept { return si_code_; }
  /// The byte the faulting access touched (si_addr).
  void* address() const noexcept { return address_; }
  /// The mapping's path or name (FaultInfo::label); the same as path().
  const std::string& mapping_label() const noexcept { return path(); }
  /// The offset of address() in the mapped file (in the region, for anonymous memory).
  std::uint64_t file_offset() const noexcept { return file_offset_; }

 private:
  int signal_;
  int si_code_;
  void* address_;
  std::uint64_t file_offset_;
};

/// @cond INTERNAL
// What guarded() is built on; not for callers.
namespace detail {
/// Runs body(context) with translation armed on this thread. Returns false, with `fault` filled
/// in, when a fault in a registered mapping ended the call. Exceptions from body pass through.
/// Throws Error if the handler or this thread's signal stack cannot be set up.
bool run_guarded(void (*body)(void*), void* context, FaultInfo& fault);
/// Throws FaultError(fault). If memory is too short to build its message, throws instead a
/// FaultError built when the handler was installed, whose what() says the details were lost
/// (signal() is right; si_code(), address() and file_offset() read 0): never std::bad_alloc.
[[noreturn]] void throw_fault(const FaultInfo& fault);
}  // namespace detail
/// @endcond

/// Calls f(). A SIGSEGV/SIGBUS in a mapping created by mmapxx, raised by this thread during the
/// call, abandons f and throws FaultError (from normal code, after the signal handler has jumped
/// back here). Faults anywhere else are not touched. Calls nest; the innermost one catches.
///
/// The cost of abandoning f: it is left by siglongjmp, so destructors of the objects f (and what
/// it called) created and that were alive at the fault are NOT run; memory they own leaks, locks
/// they hold stay held. Keep f to plain loads, stores and memcpy on trivial data, or use the
/// noexcept primitives below (copy_from, copy_to), which hold nothing across the access.
/// guarded() itself keeps nothing non-trivially-destructible between its jump point and f.
///
/// Errors: FaultError (an Error, errno EFAULT) for a caught fault; even when the heap is exhausted
/// it is a FaultError (one made in advance, see detail::throw_fault), never std::bad_alloc. Error
/// when the handler or the thread's signal stack cannot be set up (sigaction, sigaltstack, mmap).
/// Exceptions thrown by f pass through. After a caught fault the signal mask is what it was when
/// f faulted, even if a handler installed after mmapxx's chained to it without SA_NODEFER.
/// Cost: a sigsetjmp that does not save the mask (no syscall) when nothing faults; the fault path
/// adds one pthread_sigmask.
template <class F>
decltype(auto) guarded(F&& f) {
  using Result = std::invoke_result_t<F&&>;
  using Callable = std::remove_reference_t<F>;
  FaultInfo fault;
  if constexpr (std::is_void_v<Result>) {
    auto body = [](void* p) { std::invoke(std::forward<F>(*static_cast<Callable*>(p))); };
    void* const context = const_cast<void*>(static_cast<const void*>(std::addressof(f)));
    if (!detail::run_guarded(body, context, fault)) detail::throw_fault(fault);
  } else if constexpr (std::is_reference_v<Result>) {
    struct Context {
      Callable* f;
      std::remove_reference_t<Result>* result;
    } context{std::addressof(f), nullptr};
    auto body = [](void* p) {
      auto& c = *static_cast<Context*>(p);
      c.result = std::addressof(std::invoke(std::forward<F>(*c.f)));
    };
    if (!detail::run_guarded(body, &context, fault)) detail::throw_fault(fault);
    return static_cast<Result>(*context.result);
  } else {
    // Lives in this frame, outside the jump: a fault leaves it empty, never half-destroyed.
    struct Context {
      Callable* f;
      std::optional<Result> result;
    } context{std::addressof(f), std::nullopt};
    auto body = [](void* p) {
      auto& c = *static_cast<Context*>(p);
      c.result.emplace(std::invoke(std::forward<F>(*c.f)));
    };
    if (!detail::run_guarded(body, &context, fault)) detail::throw_fault(fault);
    return Result(std::move(*context.result));
  }
}

/// memcpy from a mapping (copy_from) or into one (copy_to) that survives the file being
/// truncated under it: returns {} when all src.size() bytes were copied, EFAULT when a fault in a
/// mapping stopped it (the destination then holds an unspecified prefix; `fault` says where),
/// invalid_argument when dst is smaller than src. Faults outside mmapxx mappings are not caught.
std::error_code copy_from(std::span<const std::byte> mapped_src, std::span<std::byte> dst) noexcept;
/// Same as copy_from(mapped_src, dst); on EFAULT, `fault` says where the copy stopped.
std::error_code copy_from(std::span<const std::byte> mapped_src, std::span<std::byte> dst,
                          FaultInfo& fault) noexcept;
/// memcpy of src into a mapping that survives a fault there (a truncated file, a full disk under
/// a sparse file): {} when all src.size() bytes were copied, EFAULT when a fault in a mapping
/// stopped it (the destination then holds an unspecified prefix), invalid_argument when
/// mapped_dst is smaller than src. Faults outside mmapxx mappings are not caught.
std::error_code copy_to(std::span<const std::byte> src, std::span<std::byte> mapped_dst) noexcept;
/// Same as copy_to(src, mapped_dst); on EFAULT, `fault` says where the copy stopped.
std::error_code copy_to(std::span<const std::byte> src, std::span<std::byte> mapped_dst,
                        FaultInfo& fault) noexcept;

// ---- Repair and resume ----------------------------------------------------------------------

/// What a repair function learns about the fault.
struct FaultEvent {
  int signal = 0;           ///< SIGSEGV or SIGBUS
  int code = 0;             ///< si_code: SEGV_MAPERR, SEGV_ACCERR, BUS_ADRERR, ...
  void* address = nullptr;  ///< si_addr: the byte the access touched
};

/// What a RepairFunction answers.
enum class Repair {
  Retry,    ///< the cause is fixed (say, the page was made writable): run the access again
  Decline,  ///< not mine: try the next handler, then guarded() translation, then the previous one
};

/// Runs INSIDE the signal handler, possibly on any thread, possibly concurrently: it must be
/// async-signal-safe (no malloc, no locks, no iostreams, no exceptions; mprotect, mmap, atomics
/// are fine) and must not leave by longjmp. Claim only what you can fix: return Retry only after
/// really fixing the cause (check fault.signal and fault.code: an mprotect cannot fix a SIGBUS),
/// Decline otherwise. A Retry that fixed nothing does not loop: when the thread's next fault is at
/// the same address again, with no registration change or rearmed() call in between, that fault
/// is not offered to repair functions but goes on to guarded() translation or the previous
/// handler.
using RepairFunction = Repair (*)(const FaultEvent& fault, void* context) noexcept;

/// While alive, faults (sent by the kernel, not by kill) whose address lies in `region` are first
/// offered to `function(fault, context)`. Registering installs the process's handler if needed.
/// The destructor unregisters and waits for calls in progress on other threads to return.
///
/// Any number of handlers may be alive at once: the process-wide table grows (by mmap, outside
/// the signal handler) when full, and is read lock-free by the signal handler. Errors:
/// invalid_argument for an empty region or a null function (before any syscall); the errno of
/// sigaction or mmap (ENOMEM) when the handler cannot be installed or the table cannot grow; the
/// RepairHandler is then inactive. Cost: registering scans the table for a free slot; a fault
/// scans the live registrations.
class RepairHandler {
 public:
  /// An inactive handler (nothing registered).
  RepairHandler() noexcept = default;
  /// Registers `function(fault, context)` for faults in `region` (see the class comment).
  RepairHandler(std::span<const std::byte> region, RepairFunction function,
                void* context = nullptr);
  /// Same; errors go to ec (the handler is then inactive).
  static RepairHandler make(std::span<const std::byte> region, RepairFunction function,
                            void* context, std::error_code& ec) noexcept;

  /// Takes over the registration; `other` becomes inactive.
  RepairHandler(RepairHandler&& other) noexcept : slot_(std::exchange(other.slot_, -1)) {}
  /// Unregisters this handler (as reset()), then takes over `other`'s registration.
  RepairHandler& operator=(RepairHandler&& other) noexcept;
  RepairHandler(const RepairHandler&) = delete;
  RepairHandler& operator=(const RepairHandler&) = delete;
  ~RepairHandler() { reset(); }

  void reset() noexcept;  ///< unregister now
  /// Whether a registration is alive.
  bool active() const noexcept { return slot_ >= 0; }

  /// Says that the cause of faults was deliberately put back in place (say, pages write-protected
  /// again), so that a fault at an address repaired before counts as new and is offered to repair
  /// functions again (see RepairFunction on loops). One atomic increment; no syscall.
  static void rearmed() noexcept;

 private:
  detail::Failure attach(std::span<const std::byte> region, RepairFunction function,
                         void* context) noexcept;
  long slot_ = -1;
};

}  // namespace mmapxx
