// include/mmapxx/version.hpp agrees with the version Meson was given in project(), and
// mmapxx/mmapxx.hpp includes it.
#include <mmapxx/mmapxx.hpp>
#include <string>

static_assert(MMAPXX_VERSION_MAJOR >= 0 && MMAPXX_VERSION_MINOR >= 0 && MMAPXX_VERSION_PATCH >= 0);

int main() {
  const std::string from_numbers = std::to_string(MMAPXX_VERSION_MAJOR) + "." +
                                   std::to_string(MMAPXX_VERSION_MINOR) + "." +
                                   std::to_string(MMAPXX_VERSION_PATCH);
  return from_numbers == MMAPXX_VERSION_STRING &&
                 std::string(MMAPXX_VERSION_STRING) == MMAPXX_PROJECT_VERSION
             ? 0
             : 1;
}
