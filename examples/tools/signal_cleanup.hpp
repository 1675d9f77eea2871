// Removing a named temporary when SIGINT, SIGTERM or SIGHUP ends the process, for filesystems
// without O_TMPFILE (where mmapxx::ReplacementFile falls back to a name). The handler only reads
// a fixed buffer and a flag, then re-raises the signal so it ends the process as it would have.
// One path at a time per process.
#pragma once

#include <string>

namespace mmtools {

// Installs the handlers (SA_RESETHAND); call it before creating the temporary.
void install_signal_cleanup();
// The path the handler unlinks; an empty path means nothing to remove.
void set_signal_cleanup(const std::string& path) noexcept;

// Blocks SIGINT, SIGTERM and SIGHUP for its lifetime: a commit (link, rename) is not cut in two.
class SignalsHeld {
 public:
  SignalsHeld() noexcept;
  ~SignalsHeld();
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;
};

}  // namespace mmtools
