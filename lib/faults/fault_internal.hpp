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

// Handler-safe. Changes whenever a repair registration comes or goes or an owner re-arms (see
// RepairHandler::rearmed): the dispatcher's proof that a repeated fault is not a repair loop.
std::uint64_t repair_epoch() noexcept;

// Builds, while memory is plentiful, the FaultErrors detail::throw_fault falls back to when it
// cannot build one (called once, when the handler is installed).
void prepare_fault_errors() noexcept;

}  // namespace mmapxx::detail
