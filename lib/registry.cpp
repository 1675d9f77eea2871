// Placeholder until fault translation (issue 4) keeps a real registry of mapped ranges.
#include "primitive.hpp"

namespace mmapxx::detail {

void registry_add(const std::byte*, std::size_t, const char*, std::uint64_t) noexcept {}
void registry_remove(const std::byte*) noexcept {}

}  // namespace mmapxx::detail
