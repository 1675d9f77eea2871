// The system calls of the hot paths (map, unmap, protect, and the open, fstat and close around
// them), made inline in the library's own functions.
//
// Why not libc's wrappers: here (AMD EPYC, Linux 6.18 with its spectre_v2 and SRSO mitigations)
// the return predictor does not survive a trip into the kernel, so each return to a frame older
// than the syscall is mispredicted. libc's wrapper puts one such return between the syscall and
// the library's function: measured, one extra layer costs ~6 ns a call and two ~28 ns, while the
// same layers cost 1-2 ns without a syscall. With the syscall instruction inline, the library's
// function returns straight to its caller: as many returns as a raw libc call made from the
// caller's own code. These calls are not pthread cancellation points (libc's open and close are),
// so a cancellation cannot unwind between open and the bookkeeping after it.
//
// Each returns what the kernel does: the result, or -errno (in [-4095, -1]). Elsewhere than
// x86-64, and under a sanitizer (ASan, TSan and MSan learn of mmap and munmap through libc), the
// same functions call libc.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MMAPXX_LIBC_SYSCALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define MMAPXX_LIBC_SYSCALLS 1
#endif
#endif
#if !defined(MMAPXX_LIBC_SYSCALLS) && !defined(__x86_64__)
#define MMAPXX_LIBC_SYSCALLS 1
#endif

namespace mmapxx::detail::sys {

// Whether a result is an error (-errno) rather than a value (addresses and descriptors are never
// in the top 4095 values).
[[gnu::always_inline]] inline bool failed(long result) noexcept {
  return static_cast<unsigned long>(result) > -4096UL;
}
// The errno of a failed result.
[[gnu::always_inline]] inline int error_of(long result) noexcept {
  return static_cast<int>(-result);
}
// 0, or the errno of a failed result: for calls whose value is not needed (mprotect).
[[gnu::always_inline]] inline int status(long result) noexcept {
  return failed(result) ? error_of(result) : 0;
}

#ifndef MMAPXX_LIBC_SYSCALLS

// x86-64 Linux: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9; the instruction
// clobbers rcx and r11. One form per argument count, so that no unused register is loaded.
[[gnu::always_inline]] inline long call(long number, long a) noexcept {
  long result;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a) : "rcx", "r11", "memory");
  return result;
}
[[gnu::always_inline]] inline long call(long number, long a, long b) noexcept {
  long result;
  asm volatile("syscall" : "=a"(result) : "a"(number), "D"(a), "S"(b) : "rcx", "r11", "memory");
  return result;
}
[[gnu::always_inline]] inline long call(long number, long a, long b, long c) noexcept {
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c)
               : "rcx", "r11", "memory");
  return result;
}
[[gnu::always_inline]] inline long call(long number, long a, long b, long c, long d) noexcept {
  register long r10 asm("r10") = d;
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
               : "rcx", "r11", "memory");
  return result;
}
[[gnu::always_inline]] inline long call(long number, long a, long b, long c, long d, long e,
                                        long f) noexcept {
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  long result;
  asm volatile("syscall"
               : "=a"(result)
               : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return result;
}

[[gnu::always_inline]] inline long mmap(void* address, std::size_t length, int prot, int flags,
                                        int fd, off_t offset) noexcept {
  return call(SYS_mmap, reinterpret_cast<long>(address), static_cast<long>(length), prot, flags, fd,
              offset);
}
[[gnu::always_inline]] inline long munmap(void* address, std::size_t length) noexcept {
  return call(SYS_munmap, reinterpret_cast<long>(address), static_cast<long>(length));
}
[[gnu::always_inline]] inline long mprotect(void* address, std::size_t length, int prot) noexcept {
  return call(SYS_mprotect, reinterpret_cast<long>(address), static_cast<long>(length), prot);
}
[[gnu::always_inline]] inline long open(const char* path, int flags, unsigned mode) noexcept {
  return call(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path), flags, mode);
}
// x86-64's kernel struct stat is libc's.
[[gnu::always_inline]] inline long fstat(int fd, struct stat* out) noexcept {
  return call(SYS_fstat, fd, reinterpret_cast<long>(out));
}
[[gnu::always_inline]] inline long close(int fd) noexcept {
  return call(SYS_close, fd);
}

#else

[[gnu::always_inline]] inline long from_libc(long result) noexcept {
  return result == -1 ? -errno : result;
}
inline long mmap(void* address, std::size_t length, int prot, int flags, int fd,
                 off_t offset) noexcept {
  void* result = ::mmap(address, length, prot, flags, fd, offset);
  return result == MAP_FAILED ? -errno : reinterpret_cast<long>(result);
}
inline long munmap(void* address, std::size_t length) noexcept {
  return from_libc(::munmap(address, length));
}
inline long mprotect(void* address, std::size_t length, int prot) noexcept {
  return from_libc(::mprotect(address, length, prot));
}
inline long open(const char* path, int flags, unsigned mode) noexcept {
  return from_libc(::open(path, flags, mode));
}
inline long fstat(int fd, struct stat* out) noexcept {
  return from_libc(::fstat(fd, out));
}
inline long close(int fd) noexcept {
  return from_libc(::close(fd));
}

#endif

}  // namespace mmapxx::detail::sys
