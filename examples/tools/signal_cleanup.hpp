// Removing named temporaries when SIGINT, SIGTERM or SIGHUP ends the process, for filesystems
// without O_TMPFILE (where mmapxx::ReplacementFile falls back to a name). The handler only reads
// fixed buffers and flags, then re-raises the signal so it ends the process as it would have.
// One path at a time per thread, for at most max_cleanup_threads threads (mmcp -j).
#pragma once

#include <cstddef>
#include <string>

namespace mmtools {

inline constexpr std::size_t max_cleanup_threads = 64;

// Installs the handlers (SA_RESETHAND); call it before creating the temporary.
void install_signal_cleanup();
// Which of the max_cleanup_threads slots this thread's set_signal_cleanup fills (0 unless set;
// two threads must not share one).
void use_signal_cleanup_slot(std::size_t slot) noexcept;
// The path the handler unlinks for this thread; an empty path means nothing to remove.
void set_signal_cleanup(const std::string& path) noexcept;

// Blocks SIGINT, SIGTERM and SIGHUP in this thread for its lifetime: a commit (link, rename) is
// not cut in two by a handler running here.
class SignalsHeld {
 public:
  SignalsHeld() noexcept;
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;
};

}  // namespace mmtools
