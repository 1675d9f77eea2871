// Allocation inside noexcept calls: std::bad_alloc becomes a Failure (ENOMEM) instead of
// std::terminate (the errors are those of include/mmapxx/error.hpp).
#pragma once

#include <new>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// Runs `work` (which may allocate, e.g. copy a path or name) and reports std::bad_alloc as
// errc::not_enough_memory from `operation`. Use it in every noexcept overload that copies strings.
template <class Work>
Failure without_bad_alloc(const char* operation, Work work) noexcept {
  try {
    work();
  } catch (const std::bad_alloc&) {
    return out_of_memory(operation);
  }
  return {};
}

}  // namespace mmapxx::detail
