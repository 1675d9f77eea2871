// Checks shared by the shared-memory types: names and modes are validated before any system call.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

// A POSIX shm name: "/" + 1..NAME_MAX bytes, no other "/", no NUL, not "/." or "/..".
Failure check_shm_name(const char* operation, const std::string& name) noexcept;
// Permission bits only (no setuid, setgid or sticky bit).
Failure check_shm_mode(const char* operation, unsigned mode) noexcept;
// `count` random characters from [a-z0-9] (getrandom), for names nobody can guess.
Failure random_suffix(std::size_t count, std::string& out) noexcept;
// Writes `name` into out[0, capacity) in double quotes with NUL shown as \0 and other control
// bytes, quotes and backslashes escaped (\xNN, \", \\), so a message holding it is never cut
// or garbled; a name too long for `capacity` ends in "...". Always NUL-terminated; no allocation.
void escape_into(char* out, std::size_t capacity, std::string_view name) noexcept;
// fchmod, so the mode does not depend on the umask.
Failure chmod_fd(int fd, unsigned mode) noexcept;
// "shmid 42", "socket 3": what an error names when there is no name but a number, formatted in
// place (no allocation).
struct NumberLabel {
  char text[48];
  NumberLabel(const char* prefix, long long number) noexcept;
};

}  // namespace mmapxx::detail
