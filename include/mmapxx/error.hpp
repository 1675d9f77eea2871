// Errors: every failure is an mmapxx::Error (a std::system_error) that names the operation, the
// path or object name, and errno; every throwing call has a noexcept overload taking
// std::error_code&.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace mmapxx {

class Error : public std::system_error {
 public:
  // what() reads "op: path: strerror (detail)"; empty parts are left out.
  Error(std::string operation, std::string path, std::error_code code, std::string detail = {});

  const std::string& operation() const noexcept { return operation_; }
  const std::string& path() const noexcept { return path_; }
  const std::string& detail() const noexcept { return detail_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string operation_;
  std::string path_;
  std::string detail_;
  std::string message_;
};

namespace detail {

// The library's internal error currency: which call failed, with which errno, and why. Cheap to
// pass around; turned into an Error or a std::error_code only at the API boundary.
struct Failure {
  const char* operation = nullptr;
  int code = 0;
  std::string detail;

  explicit operator bool() const noexcept { return code != 0; }
};

Failure make_failure(const char* operation, int code, std::string detail = {}) noexcept;
Failure invalid_argument(const char* operation, std::string detail) noexcept;

[[noreturn]] void raise(const Failure& failure, std::string_view path);
// Sets ec from failure (cleared when there is none); returns true when there was a failure.
bool report(const Failure& failure, std::error_code& ec) noexcept;

}  // namespace detail
}  // namespace mmapxx
