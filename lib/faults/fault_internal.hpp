// What the fault translation files share. Everything here marked "handler-safe" is called from
// the signal handler: no allocation, no locks, no lazily-created thread_local, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mapping/registry.hpp"
#include "mmapxx/fault.hpp"

namespace mmapxx::detail {

// Installs the SIGSEGV/SIGBUS handler once per process; returns 0 or the errno of sigaction.
int install_fault_handler() noexcept;

// Handler-safe. Offers a fault to the repair handlers whose region holds its address; true when
// one of them asked for the access to be retried.
bool dispatch_repair(const FaultEvent& fault) noexcept;

}  // namespace mmapxx::detail
