// The path buffer a thread reuses for MappedFile's copy of its path (mapping/mapped_file.cpp).
//
// A thread keeps the path buffer of the last MappedFile it destroyed, and the next one it makes
// takes it: a program mapping file after file pays no malloc/free for the path (about 150
// instructions, as many as the five syscalls' libc wrappers). One buffer of at most
// max_spare_path bytes stays per thread, freed when the thread ends (at exit for the main thread).
//
// The string sits in trivial initial-exec TLS, made on a thread's first use, with its end
// registered by hand: a thread_local std::string would bring the compiler's guard variable, whose
// every access is a __tls_get_addr call in a shared library.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <utility>

namespace mmapxx::detail {

inline constexpr std::size_t max_spare_path = 4096;

struct SparePath {
  alignas(std::string) unsigned char bytes[sizeof(std::string)];
  bool live;  // `bytes` holds a string, and its end at thread exit is registered
  std::string& get() noexcept { return *std::launder(reinterpret_cast<std::string*>(bytes)); }
};
[[gnu::tls_model("initial-exec"),
  gnu::visibility("hidden")]] extern constinit thread_local SparePath spare_path;

// A thread's first use: makes the string and registers its end (live stays false if that fails:
// no reuse on this thread then).
[[gnu::visibility("hidden"), gnu::cold]] void start_spare_path() noexcept;

// `length` bytes of `path` in a string, in the spare buffer when there is one.
inline std::string recycled_path(const char* path, std::size_t length) {
  if (!spare_path.live) [[unlikely]]
    start_spare_path();
  std::string s = spare_path.live ? std::move(spare_path.get()) : std::string();
  s.assign(path, length);
  return s;
}

// The same for a C string; an empty string for a null one (which the caller refuses).
inline std::string recycled_path(const char* path) {
  return path != nullptr ? recycled_path(path, std::strlen(path)) : std::string();
}

// Keeps `path`'s buffer for the next MappedFile. Only a buffer on the heap is worth keeping:
// std::string holds up to 15 (libstdc++) or 22 (libc++) bytes inside the object.
inline void recycle_path(std::string& path) noexcept {
  if (spare_path.live && path.capacity() >= 32 && path.capacity() <= max_spare_path)
    spare_path.get() = std::move(path);
}

}  // namespace mmapxx::detail
