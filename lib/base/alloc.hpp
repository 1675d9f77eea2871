// Allocation inside noexcept calls: std::bad_alloc becomes a Failure (ENOMEM) instead of
// std::terminate (the errors are those of include/mmapxx/error.hpp).
#pragma once

#include <cerrno>
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

// Runs a Failure-returning body that may allocate (messages, names) inside a noexcept function.
// The body's Failure, or ENOMEM naming `operation` (without a detail: there is no memory for
// one) when the body ran out of memory. The body must leave nothing open when it throws.
// With `code`: the body only builds the message of a failure whose errno is already known, so
// running out of memory keeps that errno and loses only the detail.
template <class Body>
Failure no_throw(const char* operation, Body&& body, int code = ENOMEM) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Failure{operation, code, {}};
  }
}

}  // namespace mmapxx::detail
