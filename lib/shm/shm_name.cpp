// Name and mode rules of the shared-memory types, random suffixes
// (include/mmapxx/shared_memory.hpp).
#include "shm/shm_name.hpp"

#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdio>

#include "base/alloc.hpp"

namespace mmapxx::detail {

Failure check_shm_name(const char* operation, const std::string& name) noexcept {
  return no_throw(operation, [&]() -> Failure {
    if (name.empty()) return invalid_argument(operation, "name is empty");
    if (const std::size_t nul = name.find('\0'); nul != std::string::npos) {
      char shown[120];
      escape_into(shown, sizeof shown, name);
      return invalid_argument(operation, "name %s contains a NUL byte at index %zu", shown, nul);
    }
    if (name.front() != '/') return invalid_argument(operation, "name must start with '/'");
    if (name.size() == 1) return invalid_argument(operation, "name has nothing after '/'");
    if (name.find('/', 1) != std::string::npos)
      return invalid_argument(operation, "name contains a '/' after the first character");
    if (name == "/." || name == "/..")
      return invalid_argument(operation, "name must not be \"/.\" or \"/..\"");
    if (name.size() - 1 > NAME_MAX)
      return invalid_argument(operation, "name is %zu bytes after '/', more than NAME_MAX (%d)",
                              name.size() - 1, NAME_MAX);
    return {};
  });
}

Failure check_shm_mode(const char* operation, unsigned mode) noexcept {
  return no_throw(operation, [&]() -> Failure {
    if ((mode & ~0777u) != 0)
      return invalid_argument(operation, "mode %#o has bits outside 0777 (setuid, setgid, sticky)",
                              mode);
    return {};
  });
}

Failure random_suffix(std::size_t count, std::string& out) noexcept {
  return no_throw("getrandom", [&]() -> Failure {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[64];
    if (count > sizeof bytes) return invalid_argument("getrandom", "suffix too long");
    std::size_t got = 0;
    while (got < count) {
      const ssize_t n = ::getrandom(bytes + got, count - got, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return make_failure("getrandom", errno);
      }
      got += static_cast<std::size_t>(n);
    }
    out.clear();
    // 256 % 36 != 0 leaves a slight bias, harmless for collision avoidance.
    for (std::size_t i = 0; i < count; ++i) out += alphabet[bytes[i] % (sizeof alphabet - 1)];
    return {};
  });
}

void escape_into(char* out, std::size_t capacity, std::string_view name) noexcept {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t used = 0;
  const auto put = [&](char c) {
    if (used + 1 < capacity) out[used++] = c;
  };
  put('"');
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    if (used + 6 >= capacity) {  // room for the longest escape, the closing quote and NUL
      put('.'), put('.'), put('.');
      break;
    }
    if (byte == 0) {
      put('\\'), put('0');
    } else if (c == '"' || c == '\\') {
      put('\\'), put(c);
    } else if (byte < 0x20 || byte == 0x7f) {
      put('\\'), put('x'), put(hex[byte >> 4]), put(hex[byte & 15]);
    } else {
      put(c);
    }
  }
  put('"');
  out[used] = '\0';
}

NumberLabel::NumberLabel(const char* prefix, long long number) noexcept {
  std::snprintf(text, sizeof text, "%s %lld", prefix, number);
}

Failure chmod_fd(int fd, unsigned mode) noexcept {
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return make_failure("fchmod", errno);
  return {};
}

}  // namespace mmapxx::detail
