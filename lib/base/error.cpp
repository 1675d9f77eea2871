#include "mmapxx/error.hpp"

#include <cerrno>
#include <new>

#include "base/messages.hpp"
#include "mmapxx/mapping.hpp"

namespace mmapxx {

namespace {
std::string compose(const std::string& operation, const std::string& path,
                    const std::error_code& code, const std::string& detail) {
  std::string message = operation;
  for (const std::string& part : {path, code.message()}) {
    if (part.empty()) continue;
    if (!message.empty()) message.append(": ");
    message.append(part);
  }
  if (!detail.empty()) message.append(" (").append(detail).append(")");
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

Failure make_failure(const char* operation, int code, std::string detail) noexcept {
  return Failure{operation, code, std::move(detail)};
}

Failure invalid_argument(const char* operation, std::string detail) noexcept {
  return Failure{operation, EINVAL, std::move(detail)};
}

void raise(const Failure& failure, std::string_view path) {
  throw Error(failure.operation ? failure.operation : "", std::string(path),
              std::error_code(failure.code, std::generic_category()), failure.detail);
}

bool report(const Failure& failure, std::error_code& ec) noexcept {
  if (!failure) {
    ec.clear();
    return false;
  }
  ec.assign(failure.code, std::generic_category());
  return true;
}

std::string range_detail(std::uint64_t offset, std::size_t length) {
  return "offset=" + std::to_string(offset) + ", length=" + std::to_string(length);
}

void check_view_cast(const std::byte* data, std::size_t size, std::size_t element_size,
                     std::size_t element_alignment, const char* label) {
  if (size % element_size != 0)
    raise(invalid_argument("as", "size " + std::to_string(size) + " is not a multiple of " +
                                     std::to_string(element_size) + ", the element size"),
          label);
  if (reinterpret_cast<std::uintptr_t>(data) % element_alignment != 0)
    raise(invalid_argument("as", "data() is not aligned to " + std::to_string(element_alignment) +
                                     " bytes, the element alignment"),
          label);
}

}  // namespace detail
}  // namespace mmapxx
