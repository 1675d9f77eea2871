// What the fault translation files share. Everything here marked "handler-safe" is called from
// the signal handler: no allocation, no locks, no lazily-created thread_local, no exceptions.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmapxx/fault.hpp"

namespace mmapxx::detail {

// Installs the SIGSEGV/SIGBUS handler once per process; returns 0 or the errno of sigaction.
int install_fault_handler() noexcept;

// Handler-safe. When `address` lies in a registered mapping, fills in fault.label and
// fault.file_offset and returns true.
bool registry_find(const void* address, FaultInfo& fault) noexcept;
// Ranges that could not be registered because the table was full (they are never claimed).
std::size_t registry_overflows() noexcept;
std::size_t registry_capacity() noexcept;

// Handler-safe. Offers a fault to the repair handlers whose region holds its address; true when
// one of them asked for the access to be retried.
bool dispatch_repair(const FaultEvent& fault) noexcept;

}  // namespace mmapxx::detail
