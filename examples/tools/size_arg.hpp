// Sizes on the command line ("4096", "64K", "1M", "5G") and sizes for people ("1.5 GiB").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mmtools {

// Plain bytes, or a number followed by K, M or G (powers of 1024, either case). Anything else,
// including overflow past 2^64, gives nullopt.
std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

std::string human_size(std::uint64_t bytes);

}  // namespace mmtools
