/// @file
/// Errors: every failure is an mmapxx::Error (a std::system_error) that names the operation, the
/// path or object name, and errno; every throwing call has a noexcept overload taking
/// std::error_code&.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace mmapxx {

/// The one exception type of mmapxx: a std::system_error (code() holds the errno, in
/// std::generic_category()) that also names the operation that failed (the syscall or call,
/// e.g. "mmap", "shm_open"), the path or object name it acted on, and a detail (the range, the
/// limit or the rule that refused). Every throwing call in mmapxx throws it (or FaultError, which
/// derives from it); the noexcept overloads report the same std::error_code in their `ec`.
class Error : public std::system_error {
 public:
  /// what() reads "op: path: strerror (detail)"; empty parts are left out. A NUL byte inside the
  /// path or the detail is shown as the two characters "\0", so it cannot cut the message short;
  /// path() and detail() return the text unchanged.
  Error(std::string operation, std::string path, std::error_code code, std::string detail = {});

  /// The failed operation, e.g. "mmap", "ftruncate", "shm_open" (empty if none was given).
  const std::string& operation() const noexcept { return operation_; }
  /// The file path or object name the operation acted on, unchanged (may be empty).
  const std::string& path() const noexcept { return path_; }
  /// Extra text: the byte range, the limit or the rule that refused (may be empty).
  const std::string& detail() const noexcept { return detail_; }
  /// "op: path: strerror (detail)", built once by the constructor; never allocates.
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string operation_;
  std::string path_;
  std::string detail_;
  std::string message_;
};

// ---- internal ----
// The library's own error currency, used by the inline code of the public headers.
/// @cond INTERNAL
namespace detail {

/// The detail text of a Failure, held inline so that building a failure never allocates (a noexcept
/// error path must work when the heap is exhausted). Longer text is cut at capacity and ends in
/// "...".
class FailureDetail {
 public:
  static constexpr std::size_t capacity = 200;  ///< bytes of text, without the terminating NUL

  FailureDetail() noexcept { text_[0] = '\0'; }
  FailureDetail(const char* text) noexcept { assign(text); }  // NOLINT: implicit on purpose
  FailureDetail(std::string_view text) noexcept { assign(text); }
  FailureDetail(const std::string& text) noexcept { assign(std::string_view(text)); }
  // Copying the empty detail of a success is two stores, not a call.
  FailureDetail(const FailureDetail& other) noexcept {
    text_[0] = '\0';
    if (other.size_ != 0) assign(other.view());
  }
  FailureDetail& operator=(const FailureDetail& other) noexcept {
    if (this == &other) return *this;
    if (other.size_ == 0) {
      size_ = 0;
      text_[0] = '\0';
      return *this;
    }
    return assign(other.view());
  }
  FailureDetail& operator=(std::string_view text) noexcept { return assign(text); }
  FailureDetail& operator=(const char* text) noexcept { return assign(text); }
  FailureDetail& operator=(const std::string& text) noexcept {
    return assign(std::string_view(text));
  }

  FailureDetail& assign(std::string_view text) noexcept;
  FailureDetail& assign(const char* text) noexcept {
    return assign(text ? std::string_view(text) : std::string_view());
  }
  FailureDetail& append(std::string_view text) noexcept;
  FailureDetail& operator+=(std::string_view text) noexcept { return append(text); }

  const char* c_str() const noexcept { return text_; }
  std::string_view view() const noexcept { return {text_, size_}; }
  operator std::string_view() const noexcept { return view(); }  // NOLINT
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  friend struct FailureFormatter;
  std::uint16_t size_ = 0;
  char text_[capacity + 1];
};

/// The library's internal error currency: which call failed, with which errno, and why. Building,
/// copying and returning one never allocates; it is turned into an Error or a std::error_code only
/// at the API boundary.
struct Failure {
  const char* operation = nullptr;
  int code = 0;
  FailureDetail detail{};

  explicit operator bool() const noexcept { return code != 0; }
};

/// The allocation-free forms: `format` is printf's, checked by the compiler. Use these.
[[gnu::format(printf, 3, 4)]] Failure make_failure(const char* operation, int code,
                                                   const char* format, ...) noexcept;
[[gnu::format(printf, 2, 3)]] Failure invalid_argument(const char* operation, const char* format,
                                                       ...) noexcept;
Failure make_failure(const char* operation, int code) noexcept;

/// To be converted to the printf forms above: building the std::string argument allocates in the
/// caller, which may be noexcept. Kept so that code written against them still compiles.
Failure make_failure(const char* operation, int code, const std::string& detail) noexcept;
Failure invalid_argument(const char* operation, const std::string& detail) noexcept;

/// The failure to report when an allocation in a noexcept function threw std::bad_alloc.
Failure out_of_memory(const char* operation) noexcept;

[[noreturn]] void raise(const Failure& failure, std::string_view path);
/// Sets ec from failure (cleared when there is none); returns true when there was a failure.
bool report(const Failure& failure, std::error_code& ec) noexcept;

}  // namespace detail
/// @endcond
}  // namespace mmapxx
