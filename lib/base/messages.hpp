// Pieces of error details that several subsystems format the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// "offset=O, length=L"; a length of `whole` (the to-the-end sentinel) reads "to the end", never
// as 18446744073709551615. Callers that know the view's size should pass the resolved length.
// The same detail in a Failure, without allocating.
Failure range_failure(const char* operation, int code, std::uint64_t offset,
                      std::size_t length) noexcept;

}  // namespace mmapxx::detail
