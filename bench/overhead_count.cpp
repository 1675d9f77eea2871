// overhead_count: the user-space instructions each row of `mmbench --scenario overhead` executes
// per operation, for raw syscalls, Boost.Interprocess and mmapxx. Timings on a shared host swing
// 2x; instruction counts do not, so this is the load-independent measure of wrapper overhead.
//
// Run it under callgrind (bench/overhead_count.sh does, and prints the table): each row's loop
// is collected alone and dumped under the row's name. A syscall counts as one instruction, so the
// figures are what the wrapper adds around the same kernel work. Outside valgrind it just runs.
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mmapxx/mmapxx.hpp>
#include <stdexcept>
#include <string>
#include <vector>

// valgrind's client requests, where its headers are installed; without them the program still
// builds and runs, and overhead_count.sh falls back to nothing (it needs valgrind anyway).
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name) (void)(name)
#endif

namespace {

using mmapxx::Access;
using mmapxx::MappedFile;
namespace bip = boost::interprocess;

volatile std::size_t sink = 0;  // keeps the compiler from dropping a view nobody reads

const std::byte* raw_map(int fd, std::size_t& size) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error("fstat");
  size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap");
  return static_cast<const std::byte*>(p);
}

// One warm-up call (lazy binding, first-use statics), then `n` collected calls dumped as `name`.
// OVERHEAD_ROW=<name> runs only that row and collects the whole run, for a profile by function
// (valgrind --tool=callgrind, then callgrind_annotate).
template <class Op>
void row(const char* name, int n, Op op) {
  if (const char* only = std::getenv("OVERHEAD_ROW")) {
    if (std::string(only) == name)
      for (int i = 0; i < n; ++i) op();
    return;
  }
  op();
  CALLGRIND_ZERO_STATS;
  CALLGRIND_TOGGLE_COLLECT;
  for (int i = 0; i < n; ++i) op();
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_DUMP_STATS_AT(name);
}

std::string make_file(const std::string& path, std::size_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0)
    throw std::runtime_error("creating " + path);
  std::vector<char> data(size, 'x');
  if (::pwrite(fd, data.data(), size, 0) != static_cast<ssize_t>(size))
    throw std::runtime_error("writing " + path);
  ::close(fd);
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp";
  // A path of typical length (longer than std::string's inline buffer), as in mmbench.
  const std::string small =
      make_file(dir + "/mmapxx-overhead-count-" + std::to_string(::getpid()) + "-small.bin", 4096);
  const std::string big =
      make_file(dir + "/mmapxx-overhead-count-" + std::to_string(::getpid()) + "-big.bin", 8 << 20);
  const char* small_c = small.c_str();

  row("path/raw", n, [&] {
    const int fd = ::open(small_c, O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open");
    std::size_t len = 0;
    const std::byte* p = raw_map(fd, len);
    sink = sink + static_cast<std::size_t>(p[0]);
    ::munmap(const_cast<std::byte*>(p), len);
    ::close(fd);
  });
  row("path/boost", n, [&] {
    bip::file_mapping fm(small_c, bip::read_only);
    bip::mapped_region r(fm, bip::read_only);
    sink = sink + static_cast<std::size_t>(static_cast<const char*>(r.get_address())[0]);
  });
  row("path/mmapxx-string", n, [&] {
    MappedFile<Access::Read> f(small);
    sink = sink + static_cast<std::size_t>(f.data()[0]);
  });
  row("path/mmapxx-cstr", n, [&] {
    MappedFile<Access::Read> f(small_c);
    sink = sink + static_cast<std::size_t>(f.data()[0]);
  });
  row("path/mmapxx-noexcept", n, [&] {
    std::error_code ec;
    auto f = MappedFile<Access::Read>::open(small, {}, ec);
    sink = sink + static_cast<std::size_t>(f.data()[0]);
  });
  row("path/mmapxx-open-ec", n, [&] {
    std::error_code ec;
    auto f = MappedFile<Access::Read>::open(small, ec);
    sink = sink + static_cast<std::size_t>(f.data()[0]);
  });

  const int fd = ::open(small_c, O_RDONLY | O_CLOEXEC);
  row("fd/raw", n, [&] {
    std::size_t len = 0;
    const std::byte* p = raw_map(fd, len);
    sink = sink + static_cast<std::size_t>(p[0]);
    ::munmap(const_cast<std::byte*>(p), len);
  });
  row("fd/mmapxx", n, [&] {
    MappedFile<Access::Read> f(fd, {}, "bench");
    sink = sink + static_cast<std::size_t>(f.data()[0]);
  });
  ::close(fd);

  {
    MappedFile<Access::Write> file(small);
    row("protect/raw", n, [&] {
      ::mprotect(file.data(), 4096, PROT_READ);
      sink = sink + static_cast<std::size_t>(file.data()[0]);
      ::mprotect(file.data(), 4096, PROT_READ | PROT_WRITE);
    });
    row("protect/mmapxx", n, [&] {
      auto guard = file.protect(mmapxx::Protection::Read);
      sink = sink + static_cast<std::size_t>(file.data()[0]);
    });
  }

  {
    const MappedFile<Access::Read> view(big, {.populate = true});
    row("residency/raw", n / 10 + 1, [&] {
      std::vector<unsigned char> bits(view.size() / 4096);
      ::mincore(const_cast<std::byte*>(view.data()), view.size(), bits.data());
      std::size_t resident = 0;
      for (unsigned char b : bits) resident += b & 1;
      sink = sink + resident;
    });
    row("residency/mmapxx", n / 10 + 1, [&] { sink = sink + view.residency().resident; });
  }

  ::unlink(small.c_str());
  ::unlink(big.c_str());
  std::printf("%d ops per row (residency: %d)\n", n, n / 10 + 1);
  return 0;
}
