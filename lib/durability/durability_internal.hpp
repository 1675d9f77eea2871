// What the durability calls share inside the library (include/mmapxx/durability.hpp).
#pragma once

#include <string>

#include "mmapxx/error.hpp"

namespace mmapxx::detail {

Failure sync_data_fd(int fd) noexcept;       // fdatasync, retried on EINTR
Failure sync_directory_fd(int fd) noexcept;  // fsync, retried on EINTR
// invalid_argument for an empty path or one holding a NUL byte (which would cut it short).
Failure check_path(const char* operation, const std::string& path) noexcept;
// open(2) O_RDONLY | O_DIRECTORY | O_CLOEXEC, after check_path.
Failure open_directory(const std::string& path, int& fd) noexcept;

}  // namespace mmapxx::detail
