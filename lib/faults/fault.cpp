// FaultError's message, and the noexcept copies that survive a mapping shrinking under them.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "faults/fault_internal.hpp"
#include "mapping/primitive.hpp"

namespace mmapxx {

namespace {

const char* signal_name(int signal) noexcept {
  if (signal == SIGBUS) return "SIGBUS";
  if (signal == SIGSEGV) return "SIGSEGV";
  return "signal";
}

const char* code_name(int signal, int code) noexcept {
  if (signal == SIGSEGV) {
    switch (code) {
      case SEGV_MAPERR:
        return "SEGV_MAPERR";
      case SEGV_ACCERR:
        return "SEGV_ACCERR";
#ifdef SEGV_PKUERR
      case SEGV_PKUERR:
        return "SEGV_PKUERR";
#endif
    }
  } else if (signal == SIGBUS) {
    switch (code) {
      case BUS_ADRALN:
        return "BUS_ADRALN";
      case BUS_ADRERR:
        return "BUS_ADRERR";
      case BUS_OBJERR:
        return "BUS_OBJERR";
#ifdef BUS_MCEERR_AR
      case BUS_MCEERR_AR:
        return "BUS_MCEERR_AR";
#endif
    }
  }
  return nullptr;
}

std::string fault_detail(const FaultInfo& fault) {
  char text[128];
  const char* code = code_name(fault.signal, fault.code);
  if (code != nullptr)
    std::snprintf(text, sizeof text, "address=%p, file offset=%llu, %s", fault.address,
                  static_cast<unsigned long long>(fault.file_offset), code);
  else
    std::snprintf(text, sizeof text, "address=%p, file offset=%llu, si_code=%d", fault.address,
                  static_cast<unsigned long long>(fault.file_offset), fault.code);
  return text;
}

struct Copy {
  void* to;
  const void* from;
  std::size_t size;
};

std::error_code guarded_copy(Copy copy, FaultInfo& fault) noexcept {
  const auto body = [](void* p) {
    const auto& c = *static_cast<const Copy*>(p);
    std::memcpy(c.to, c.from, c.size);
  };
  try {
    if (detail::run_guarded(body, &copy, fault)) return {};
    return std::error_code(EFAULT, std::generic_category());
  } catch (const std::system_error& e) {  // setting up the handler failed
    return e.code();
  } catch (...) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

std::error_code copy_checked(std::span<const std::byte> src, std::span<std::byte> dst,
                             FaultInfo& fault) noexcept {
  if (dst.size() < src.size()) return std::make_error_code(std::errc::invalid_argument);
  if (src.empty()) return {};
  return guarded_copy(Copy{dst.data(), src.data(), src.size()}, fault);
}

// One per signal, shared by every thread: rethrowing an exception_ptr throws the same object
// again, with no copy and no allocation.
std::exception_ptr fallback_segv;
std::exception_ptr fallback_bus;

std::exception_ptr make_fallback(int signal) noexcept {
  try {
    FaultInfo info;
    info.signal = signal;
    std::memcpy(info.label, "(fault details lost: out of memory)", 36);
    return std::make_exception_ptr(FaultError(info));
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

namespace detail {

void prepare_fault_errors() noexcept {
  fallback_segv = make_fallback(SIGSEGV);
  fallback_bus = make_fallback(SIGBUS);
}

void throw_fault(const FaultInfo& fault) {
  std::exception_ptr fallback;
  try {
    throw FaultError(fault);
  } catch (const std::bad_alloc&) {
    fallback = fault.signal == SIGBUS ? fallback_bus : fallback_segv;
    if (!fallback) throw;
  }
  std::rethrow_exception(fallback);
}

}  // namespace detail

FaultError::FaultError(const FaultInfo& fault)
    : Error(signal_name(fault.signal), fault.label,
            std::error_code(EFAULT, std::generic_category()), fault_detail(fault)),
      signal_(fault.signal),
      si_code_(fault.code),
      address_(fault.address),
      file_offset_(fault.file_offset) {}

std::error_code copy_from(std::span<const std::byte> mapped_src, std::span<std::byte> dst,
                          FaultInfo& fault) noexcept {
  return copy_checked(mapped_src, dst, fault);
}

std::error_code copy_from(std::span<const std::byte> mapped_src,
                          std::span<std::byte> dst) noexcept {
  FaultInfo fault;
  return copy_checked(mapped_src, dst, fault);
}

std::error_code copy_to(std::span<const std::byte> src, std::span<std::byte> mapped_dst,
                        FaultInfo& fault) noexcept {
  return copy_checked(src, mapped_dst, fault);
}

std::error_code copy_to(std::span<const std::byte> src, std::span<std::byte> mapped_dst) noexcept {
  FaultInfo fault;
  return copy_checked(src, mapped_dst, fault);
}

}  // namespace mmapxx
