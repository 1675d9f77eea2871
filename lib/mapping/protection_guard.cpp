#include "mmapxx/protection_guard.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {

detail::Failure change(std::byte* begin, std::size_t length, Protection protection) noexcept {
  if (length == 0) return {};
  if (::mprotect(begin, length, detail::to_prot(protection)) != 0)
    return detail::make_failure("mprotect", errno,
                                "length=" + std::to_string(length) + ", protection=" +
                                    std::to_string(static_cast<unsigned>(protection)));
  return {};
}

}  // namespace

detail::Failure ProtectionGuard::apply(std::span<const std::byte> range, Protection protection,
                                       Protection restore_to) noexcept {
  if (range.empty()) return {};
  const detail::PageSpan pages = detail::pages_of(range.data(), range.size());
  if (detail::Failure failure = change(pages.begin, pages.length, protection)) return failure;
  begin_ = pages.begin;
  length_ = pages.length;
  restore_to_ = restore_to;
  return {};
}

ProtectionGuard::ProtectionGuard(std::span<const std::byte> range, Protection protection,
                                 Protection restore_to) {
  if (detail::Failure failure = apply(range, protection, restore_to)) detail::raise(failure, "");
}

ProtectionGuard ProtectionGuard::make(std::span<const std::byte> range, Protection protection,
                                      Protection restore_to, std::error_code& ec) noexcept {
  ProtectionGuard guard;
  detail::report(guard.apply(range, protection, restore_to), ec);
  return guard;
}

ProtectionGuard::ProtectionGuard(ProtectionGuard&& other) noexcept
    : begin_(other.begin_),
      length_(std::exchange(other.length_, 0)),
      restore_to_(other.restore_to_) {}

ProtectionGuard& ProtectionGuard::operator=(ProtectionGuard&& other) noexcept {
  if (this != &other) {
    std::error_code ignored;
    restore(ignored);
    begin_ = other.begin_;
    length_ = std::exchange(other.length_, 0);
    restore_to_ = other.restore_to_;
  }
  return *this;
}

ProtectionGuard::~ProtectionGuard() {
  // One call, nothing after it: code that runs right after a syscall returns is the costly part.
  if (length_ != 0) ::mprotect(begin_, length_, detail::to_prot(restore_to_));
}

void ProtectionGuard::restore() {
  detail::Failure failure = change(begin_, length_, restore_to_);
  if (failure) detail::raise(failure, "");
  length_ = 0;
}

void ProtectionGuard::restore(std::error_code& ec) noexcept {
  if (!detail::report(change(begin_, length_, restore_to_), ec)) length_ = 0;
}

}  // namespace mmapxx
