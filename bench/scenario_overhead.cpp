// Wrapper overhead: each mmapxx call against the same syscalls written in plain C++ (and
// Boost.Interprocess where it has the operation). A run is a batch of operations, so the
// clock's own cost vanishes; rows report time per operation and time relative to raw syscalls.
#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::MappedFile;

// The syscalls MappedFile<Read>(fd) makes: fstat, mmap; and munmap at the end.
const std::byte* raw_map(int fd, std::size_t& size, int extra_flags = 0) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error("fstat");
  size = static_cast<std::size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | extra_flags, fd, 0);
  if (p == MAP_FAILED) throw std::runtime_error("mmap");
  return static_cast<const std::byte*>(p);
}

// Every mmapxx row has the library's goal: at most 1.02x the raw syscalls (`mmapxx_goal`), and
// at most 1.00x Boost.Interprocess where Boost is the baseline.
Method batch(std::string name, int count, std::function<void(Sink&)> one,
             double mmapxx_goal = 1.02) {
  std::optional<double> goal;
  if (name.rfind("mmapxx", 0) == 0) goal = mmapxx_goal;
  return {std::move(name),
          [count, one = std::move(one)](Sink& s) {
            for (int i = 0; i < count; ++i) one(s);
          },
          goal};
}

// The group's baseline a second time in each round, as its own row: its ratios to the first run
// are what noise is in that group, the spread a method with no overhead at all shows.
std::vector<Method> with_noise_row(std::vector<Method> methods) {
  Method again = methods.front();
  again.name += ", again";
  again.goal.reset();
  methods.push_back(std::move(again));
  return methods;
}

// Consumes the view only in verify mode: the timed operation is map+unmap, not a scan.
void check_view(Sink& s, const std::byte* data, std::size_t size) {
  if (s.checksum) s.consume(data, size);
}

}  // namespace

void scenario_overhead(Context& ctx) {
  const Config& cfg = ctx.config;
  const int reps = cfg.repeats(41);
  const bool verify = cfg.verify;
  const std::string small = ctx.files.file(4 * KiB, CacheState::Large);
  const std::size_t big_size = cfg.verify ? 8 * MiB : 64 * MiB;
  const std::string big = ctx.files.file(big_size, CacheState::Large);
  const auto fd_small = std::make_shared<Fd>(small, O_RDONLY);
  const auto fd_big = std::make_shared<Fd>(big, O_RDONLY);
  auto group = [&](std::string name, std::size_t size, double ops) {
    return Group{.scenario = "overhead",
                 .case_name = std::move(name),
                 .size = size,
                 .state = "large folios",
                 .unit = Unit::NsPerOp,
                 .work = ops,
                 .kind = RatioKind::Cost,
                 .repeats = reps};
  };
  namespace bip = boost::interprocess;
  // Every group carries its noise row.
  const auto run = [&ctx](const Group& g, std::vector<Method> methods) {
    ctx.run(g, with_noise_row(std::move(methods)));
  };
  // One map+unmap by path, as each library is used; both by-path groups time the same two.
  const auto mmapxx_by_path = [](std::string path) {
    return [path = std::move(path)](Sink& s) {
      MappedFile<Access::Read> f(path);
      check_view(s, f.data(), f.size());
    };
  };
  const auto boost_by_path = [](std::string path) {
    return [path = std::move(path)](Sink& s) {
      bip::file_mapping fm(path.c_str(), bip::read_only);
      bip::mapped_region r(fm, bip::read_only);
      check_view(s, static_cast<const std::byte*>(r.get_address()), r.get_size());
    };
  };

  for (auto [path, size] : {std::pair{small, 4 * KiB}, std::pair{big, big_size}}) {
    const int n = verify ? 1 : size <= 4 * KiB ? 2000 : 500;
    run(group("map+unmap by path", size, n),
        {batch("raw open+fstat+mmap+munmap", n,
               [path](Sink& s) {
                 const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
                 if (fd < 0) throw std::runtime_error("open");
                 std::size_t len = 0;
                 const std::byte* p = raw_map(fd, len);
                 check_view(s, p, len);
                 // munmap, then close: the fastest order, so the baseline is the best raw
                 // code. (Closing first makes munmap drop the file's last reference, and the
                 // kernel then releases the file on the way back to user space, which
                 // measured a few hundred ns slower; mmapxx and Boost unmap first too.)
                 ::munmap(const_cast<std::byte*>(p), len);
                 ::close(fd);
               }),
         batch("mmapxx MappedFile(path)", n, mmapxx_by_path(path)),
         batch("boost mapped_region", n, boost_by_path(path))});
  }
  // The same two against each other, Boost the baseline: each round's ratio is mmapxx's time over
  // Boost's, so "at or below Boost" reads off the spread directly, not from two ratios to raw.
  for (auto [path, size] : {std::pair{small, 4 * KiB}, std::pair{big, big_size}}) {
    const int n = verify ? 1 : size <= 4 * KiB ? 2000 : 500;
    run(group("map+unmap by path vs Boost", size, n),
        {batch("boost mapped_region", n, boost_by_path(path)),
         batch("mmapxx MappedFile(path)", n, mmapxx_by_path(path), 1.00)});
  }

  for (auto [fd, size] : {std::pair{fd_small, 4 * KiB}, std::pair{fd_big, big_size}}) {
    const int n = verify ? 1 : 2000;
    run(group("map+unmap by fd", size, n), {batch("raw fstat+mmap+munmap", n,
                                                  [fd](Sink& s) {
                                                    std::size_t len = 0;
                                                    const std::byte* p = raw_map(fd->get(), len);
                                                    check_view(s, p, len);
                                                    ::munmap(const_cast<std::byte*>(p), len);
                                                  }),
                                            batch("mmapxx MappedFile(fd)", n, [fd](Sink& s) {
                                              MappedFile<Access::Read> f(fd->get(), {}, "bench");
                                              check_view(s, f.data(), f.size());
                                            })});
  }

  {
    const int n = verify ? 1 : 10;
    run(group("map+populate+unmap", big_size, n),
        {batch("raw mmap(MAP_POPULATE)", n,
               [fd_big](Sink& s) {
                 std::size_t len = 0;
                 const std::byte* p = raw_map(fd_big->get(), len, MAP_POPULATE);
                 check_view(s, p, len);
                 ::munmap(const_cast<std::byte*>(p), len);
               }),
         batch("mmapxx populate=true", n, [fd_big](Sink& s) {
           MappedFile<Access::Read> f(fd_big->get(), {.populate = true}, "bench");
           check_view(s, f.data(), f.size());
         })});
  }

  {
    // A clean 4 KiB page: what is timed is the call, not the disk.
    const std::string path = ctx.files.temp_path("msync-4KiB");
    write_content_file(path, 4 * KiB, 4 * KiB);
    auto file = std::make_shared<MappedFile<Access::Write>>(path);
    // ext4 flushes the disk cache even for a clean range: milliseconds per call.
    const int n = verify ? 1 : cfg.quick ? 5 : 20;
    run(group("msync(MS_SYNC) clean", 4 * KiB, n),
        {batch("raw msync", n,
               [file](Sink& s) {
                 if (::msync(file->data(), file->size(), MS_SYNC) != 0)
                   throw std::runtime_error("msync");
                 check_view(s, file->data(), file->size());
               }),
         batch("mmapxx flush(Sync)", n, [file](Sink& s) {
           file->flush(mmapxx::SyncPolicy::Sync);
           check_view(s, file->data(), file->size());
         })});
    const int m = verify ? 1 : 2000;
    run(group("mprotect R then RW", 4 * KiB, m),
        {batch("raw mprotect x2", m,
               [file](Sink& s) {
                 // Both results checked, as the library checks them (and as the other raw rows
                 // do): unchecked, the second call compiles to a tail call, which returns
                 // straight to the caller, one return fewer than any code that looks at it.
                 if (::mprotect(file->data(), 4096, PROT_READ) != 0)
                   throw std::runtime_error("mprotect");
                 check_view(s, file->data(), file->size());
                 if (::mprotect(file->data(), 4096, PROT_READ | PROT_WRITE) != 0)
                   throw std::runtime_error("mprotect");
               }),
         batch("mmapxx ProtectionGuard", m,
               [file](Sink& s) {
                 auto guard = file->protect(mmapxx::Protection::Read);
                 check_view(s, file->data(), file->size());
               }),
         // Without the mapping's record (no nesting, no fault translation of the range): what
         // the record's lock and bookkeeping cost, beside the row above.
         batch("mmapxx ProtectionGuard, direct", m, [file](Sink& s) {
           mmapxx::ProtectionGuard guard(file->bytes(), mmapxx::Protection::Read,
                                         mmapxx::Protection::Read | mmapxx::Protection::Write);
           check_view(s, file->data(), file->size());
         })});
  }

  {
    auto view =
        std::make_shared<MappedFile<Access::Read>>(big, mmapxx::MapOptions{.populate = true});
    const int n = verify ? 1 : 200;
    run(group("residency (mincore)", big_size, n),
        {batch("raw mincore+count", n,
               [view](Sink& s) {
                 std::vector<unsigned char> bits(view->size() / 4096);
                 ::mincore(const_cast<std::byte*>(view->data()), view->size(), bits.data());
                 std::size_t resident = 0;
                 for (unsigned char b : bits) resident += b & 1;
                 if (s.checksum) s.value += resident;
               }),
         batch("mmapxx residency()", n, [view](Sink& s) {
           const mmapxx::Residency r = view->residency();
           if (s.checksum) s.value += r.resident;
         })});
  }
}

}  // namespace mmbench
