// What the tests share: a temporary directory that removes itself, and counts of this process's
// descriptors and mappings, read from /proc, to prove that error paths leak nothing.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

#include "mmapxx/error.hpp"

namespace mmapxx::test {

// The message of the Error a call throws, or "(no error)": for tests that pin messages verbatim.
inline std::string what_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool mlock_is_real = false;  // ASan intercepts mlock() as a no-op
#else
inline constexpr bool mlock_is_real = true;
#endif

// ASan and TSan reserve terabytes of address space for shadow memory and die when their own
// mmap fails: tests that exhaust the heap under RLIMIT_AS skip themselves there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool shadow_memory = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool shadow_memory = true;
#else
inline constexpr bool shadow_memory = false;
#endif
#else
inline constexpr bool shadow_memory = false;
#endif

class TempDir {
 public:
  // `base` defaults to $TMPDIR or /tmp; tests that need a real disk (page-cache eviction does
  // nothing on tmpfs) pass "/var/tmp".
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string pattern = (base / "mmapxx-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Bytes 'a'..'z' repeated: byte i is 'a' + i % 26, so any offset's expected value is known.
inline std::string pattern(std::size_t size, std::size_t start = 0) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (start + i) % 26);
  return s;
}

inline std::size_t count_entries(const char* dir) {
  std::size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

inline std::size_t open_fd_count() {
  return count_entries("/proc/self/fd");
}

// Under valgrind the count is meaningless (valgrind maps and unmaps memory of its own between
// any two calls), so it reads 0 there: mapping leaks are checked by the ordinary runs, valgrind
// checks memory errors.
inline bool under_valgrind() {
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "vgpreload") != nullptr;
}

// Plain read(2), no iostream: callers count with every descriptor taken, where UBSan's vptr
// check (which probes memory through a pipe) would misreport a failed ifstream.
inline std::size_t mapping_count() {
  if (under_valgrind()) return 0;
  const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  std::size_t n = 0;
  char buffer[4096];
  for (ssize_t got; (got = ::read(fd, buffer, sizeof buffer)) > 0;)
    for (ssize_t i = 0; i < got; ++i) n += buffer[i] == '\n';
  ::close(fd);
  return n;
}

// The permission string ("rw-p", "r--s", ...) of the /proc/self/maps line containing `address`.
inline std::string protection_at(const void* address) {
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::uintptr_t lo = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    std::uintptr_t hi = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    if (a >= lo && a < hi) return line.substr(line.find(' ') + 1, 4);
  }
  return "";
}

// Runs `body` in a forked child; returns its wait status. The child exits with body's return value.
inline int run_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 1;
    try {
      code = body();
    } catch (...) {
      code = 99;
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

}  // namespace mmapxx::test
