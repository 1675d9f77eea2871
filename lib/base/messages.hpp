// Pieces of error details that several subsystems format the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mmapxx::detail {

std::string range_detail(std::uint64_t offset, std::size_t length);

}  // namespace mmapxx::detail
