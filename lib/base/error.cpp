// Error, and the allocation-free Failure that lib/ passes around (include/mmapxx/error.hpp).
#include "mmapxx/error.hpp"

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <new>

#include "base/messages.hpp"
#include "mmapxx/mapping.hpp"

namespace mmapxx {

namespace {

// A NUL byte would end what() at the first one: show it as "\0" instead.
void append_escaped(std::string& message, std::string_view part) {
  for (char c : part) {
    if (c == '\0')
      message.append("\\0");
    else
      message.push_back(c);
  }
}

std::string compose(const std::string& operation, const std::string& path,
                    const std::error_code& code, const std::string& detail) {
  std::string message;
  append_escaped(message, operation);
  bool first = message.empty();
  for (const std::string& part : {path, code.message()}) {
    if (part.empty()) continue;
    if (!first) message.append(": ");
    first = false;
    append_escaped(message, part);
  }
  if (!detail.empty()) {
    message.append(" (");
    append_escaped(message, detail);
    message.append(")");
  }
  return message;
}

}  // namespace

Error::Error(std::string operation, std::string path, std::error_code code, std::string detail)
    : std::system_error(code),
      operation_(std::move(operation)),
      path_(std::move(path)),
      detail_(std::move(detail)),
      message_(compose(operation_, path_, code, detail_)) {}

namespace detail {

namespace {
constexpr std::string_view ellipsis = "...";

// Marks text that did not fit.
void mark_cut(char* text, std::size_t& size) noexcept {
  std::memcpy(text + FailureDetail::capacity - ellipsis.size(), ellipsis.data(), ellipsis.size());
  size = FailureDetail::capacity;
  text[size] = '\0';
}
}  // namespace

struct FailureFormatter {
  static void format(FailureDetail& out, const char* format, std::va_list args) noexcept {
    if (format == nullptr) {
      out.assign(std::string_view());
      return;
    }
    const int n = std::vsnprintf(out.text_, sizeof out.text_, format, args);
    if (n < 0) {
      out.text_[0] = '\0';
      out.size_ = 0;
    } else if (static_cast<std::size_t>(n) > FailureDetail::capacity) {
      std::size_t size = 0;
      mark_cut(out.text_, size);
      out.size_ = static_cast<std::uint16_t>(size);
    } else {
      out.size_ = static_cast<std::uint16_t>(n);
    }
  }
};

FailureDetail& FailureDetail::assign(std::string_view text) noexcept {
  size_ = 0;
  text_[0] = '\0';
  return append(text);
}

FailureDetail& FailureDetail::append(std::string_view text) noexcept {
  std::size_t size = size_;
  const std::size_t room = capacity - size;
  const std::size_t n = text.size() < room ? text.size() : room;
  if (n != 0) std::memcpy(text_ + size, text.data(), n);
  size += n;
  text_[size] = '\0';
  if (n < text.size()) mark_cut(text_, size);
  size_ = static_cast<std::uint16_t>(size);
  return *this;
}

Failure make_failure(const char* operation, int code) noexcept {
  Failure failure;
  failure.operation = operation;
  failure.code = code;
  return failure;
}

Failure make_failure(const char* operation, int code, const char* format, ...) noexcept {
  Failure failure;
  failure.operation = operation;
  failure.code = code;
  std::va_list args;
  va_start(args, format);
  FailureFormatter::format(failure.detail, format, args);
  va_end(args);
  return failure;
}

Failure invalid_argument(const char* operation, const char* format, ...) noexcept {
  Failure failure;
  failure.operation = operation;
  failure.code = EINVAL;
  std::va_list args;
  va_start(args, format);
  FailureFormatter::format(failure.detail, format, args);
  va_end(args);
  return failure;
}

Failure make_failure(const char* operation, int code, const std::string& detail) noexcept {
  Failure failure;
  failure.operation = operation;
  failure.code = code;
  failure.detail = detail;
  return failure;
}

Failure invalid_argument(const char* operation, const std::string& detail) noexcept {
  return make_failure(operation, EINVAL, detail);
}

Failure out_of_memory(const char* operation) noexcept {
  return make_failure(operation, ENOMEM, "out of memory");
}

void raise(const Failure& failure, std::string_view path) {
  throw Error(failure.operation ? failure.operation : "", std::string(path),
              std::error_code(failure.code, std::generic_category()),
              std::string(failure.detail.view()));
}

bool report(const Failure& failure, std::error_code& ec) noexcept {
  if (!failure) {
    ec.clear();
    return false;
  }
  ec.assign(failure.code, std::generic_category());
  return true;
}

Failure range_failure(const char* operation, int code, std::uint64_t offset,
                      std::size_t length) noexcept {
  if (length == whole)
    return make_failure(operation, code, "offset=%" PRIu64 ", to the end", offset);
  return make_failure(operation, code, "offset=%" PRIu64 ", length=%zu", offset, length);
}

void check_view_cast(const std::byte* data, std::size_t size, std::size_t element_size,
                     std::size_t element_alignment, const char* label) {
  if (size % element_size != 0)
    raise(invalid_argument("as", "size %zu is not a multiple of %zu, the element size", size,
                           element_size),
          label);
  if (reinterpret_cast<std::uintptr_t>(data) % element_alignment != 0)
    raise(invalid_argument("as", "data() is not aligned to %zu bytes, the element alignment",
                           element_alignment),
          label);
}

}  // namespace detail
}  // namespace mmapxx
