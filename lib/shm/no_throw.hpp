// no_throw: runs a Failure-returning body that may allocate (messages, names) inside a noexcept
// function, turning std::bad_alloc into ENOMEM instead of std::terminate.
#pragma once

#include <cerrno>
#include <new>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

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
