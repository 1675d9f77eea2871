// RAII mprotect: a byte range gets a new protection for a scope, then the previous one back.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>

#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"

namespace mmapxx {

namespace detail {
class MappingCore;
}

class ProtectionGuard {
 public:
  ProtectionGuard() noexcept = default;
  // Changes the pages covering `range` (aligned outward inside) to `protection`; the destructor
  // sets them back to `restore_to`. Usually made by a mapping's protect(), which knows
  // `restore_to`.
  ProtectionGuard(std::span<const std::byte> range, Protection protection, Protection restore_to);
  static ProtectionGuard make(std::span<const std::byte> range, Protection protection,
                              Protection restore_to, std::error_code& ec) noexcept;

  ProtectionGuard(ProtectionGuard&& other) noexcept;
  ProtectionGuard& operator=(ProtectionGuard&& other) noexcept;
  ProtectionGuard(const ProtectionGuard&) = delete;
  ProtectionGuard& operator=(const ProtectionGuard&) = delete;
  ~ProtectionGuard();  // restores; never throws (a failure there is ignored, as munmap's would be)

  void restore();  // restore now, reporting failure
  void restore(std::error_code& ec) noexcept;
  void release() noexcept { length_ = 0; }  // keep the new protection for good

  bool active() const noexcept { return length_ != 0; }
  Protection restore_to() const noexcept { return restore_to_; }

 private:
  friend class detail::MappingCore;
  // Adopts pages whose protection the caller already changed.
  ProtectionGuard(std::byte* begin, std::size_t length, Protection restore_to) noexcept
      : begin_(begin), length_(length), restore_to_(restore_to) {}
  detail::Failure apply(std::span<const std::byte> range, Protection protection,
                        Protection restore_to) noexcept;

  std::byte* begin_ = nullptr;  // page-aligned
  std::size_t length_ = 0;      // whole pages
  Protection restore_to_ = Protection::None;
};

}  // namespace mmapxx
