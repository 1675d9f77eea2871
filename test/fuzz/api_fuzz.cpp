// libFuzzer target: random sequences of mmapxx calls on scratch files, checked after every call
// against the files' bytes (pread), for the kinds of error thrown, and, after every input, for
// leaked descriptors, mappings and shm names. A defect prints "fuzz defect: ..." and aborts.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mmapxx/mmapxx.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api_adapter.hpp"

namespace {

using namespace mmapxx;
namespace fs = std::filesystem;

constexpr std::size_t kMiB = std::size_t{1} << 20;
constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
// Larger views are only touched in bounded windows (residency, populate and trackers cost
// memory per page: a fuzzer must not run the machine out of memory).
constexpr std::size_t kBigView = 64 * kMiB;
constexpr std::size_t kWindow = 16 * kMiB;

[[noreturn]] void defect(const char* format, ...) {
  std::va_list args;
  va_start(args, format);
  std::fputs("fuzz defect: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::abort();
}

// ---- the process's scratch space ----------------------------------------------------------

struct Env {
  std::string dir;             // scratch files live here
  std::string shm_prefix;      // every shm name this process makes starts with it
  bool private_tmpfs = false;  // dir and /dev/shm are small tmpfs mounts only this process sees
};

Env& env();

Env make_env() {
  Env e;
  std::string pattern = (fs::temp_directory_path() / "mmapxx-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) defect("mkdtemp: %s", std::strerror(errno));
  e.dir = pattern;
  e.shm_prefix = "/mmapxx-fuzz-" + std::to_string(::getpid()) + "-";
  // In a private mount namespace (root, single-threaded: libFuzzer calls us before it starts
  // threads) a 64 MiB tmpfs bounds what a huge resize can allocate, and a private /dev/shm
  // makes the name count exact. Elsewhere sizes are capped instead (see pick_backed_size).
  if (::unshare(CLONE_NEWNS) == 0 &&
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
      ::mount("tmpfs", e.dir.c_str(), "tmpfs", 0, "size=64m,mode=0700") == 0 &&
      ::mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,mode=1777") == 0)
    e.private_tmpfs = true;
  std::atexit([] {
    std::error_code ignored;
    if (env().private_tmpfs) ::umount2(env().dir.c_str(), MNT_DETACH);
    fs::remove_all(env().dir, ignored);
  });
  return e;
}

Env& env() {
  // Never destroyed: make_env's atexit cleanup runs after static destructors would have.
  static Env* const e = new Env(make_env());
  return *e;
}

std::size_t count_dir(const char* path, const std::string& prefix = {}) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(path, ec))
    if (prefix.empty() || ("/" + entry.path().filename().string()).rfind(prefix, 0) == 0) ++n;
  return n;
}

struct Counts {
  std::size_t fds = 0;
  std::size_t named_maps = 0;  // mappings of our files, shm objects, memfds and /dev/zero
  std::size_t all_maps = 0;
  std::size_t shm_names = 0;
  bool operator==(const Counts&) const = default;
};

Counts counts() {
  Counts c;
  c.fds = count_dir("/proc/self/fd");
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    ++c.all_maps;
    if (line.find(env().dir) != std::string::npos || line.find("/dev/shm/") != std::string::npos ||
        line.find("/memfd:mmapxx-fuzz") != std::string::npos ||
        line.find("/dev/zero") != std::string::npos)
      ++c.named_maps;
  }
  c.shm_names = count_dir("/dev/shm", env().private_tmpfs ? std::string{} : env().shm_prefix);
  return c;
}

// ---- reading the input --------------------------------------------------------------------

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool more() const { return pos_ < size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  bool flag() { return byte() & 1; }

  // Sizes and offsets: small values, page multiples, and values near the limits of 64 bits.
  std::uint64_t size() {
    static constexpr std::uint64_t edges[] = {0,
                                              1,
                                              4095,
                                              4096,
                                              4097,
                                              8192,
                                              65536,
                                              kMiB,
                                              kMax,
                                              kMax - 10,
                                              kMax - 4095,
                                              kMax - 4096,
                                              kMax / 2,
                                              kMax / 2 + 1,
                                              1ull << 47,
                                              1ull << 40,
                                              1ull << 32,
                                              3ull << 20,
                                              (1ull << 63) - 4096,
                                              2ull << 20};
    const std::uint8_t b = byte();
    const std::uint64_t v = b & 63;
    switch (b >> 6) {
      case 0:
        return v;
      case 1:
        return v * 1021 + byte();
      case 2:
        return v * page_size();
      default:
        return edges[v % std::size(edges)];
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A size the kernel will have to back (file growth, shm, memfd, populate): bounded unless the
// scratch space is a private 64 MiB tmpfs, so the fuzzer cannot fill a disk or the memory.
// Values whose offset sum overflows, or >= 2^63, are kept: they must fail before any syscall.
std::uint64_t backed(std::uint64_t n, std::uint64_t offset = 0, bool memory = false) {
  const bool overflows = n > std::numeric_limits<std::uint64_t>::max() - offset;
  if (overflows || n >= (1ull << 63)) return n;
  if (!memory && env().private_tmpfs) return n;
  return n % (16 * kMiB);
}

// ---- checks -------------------------------------------------------------------------------

void check_error(const std::error_code& ec, const char* call) {
  if (!ec) return;
  if (ec.value() == 0 || ec.message().empty()) defect("%s: an empty error_code", call);
}

// Runs a throwing call: only mmapxx::Error or another std::system_error may come out.
template <class F>
bool throws_only_errors(const char* call, F&& f) {
  try {
    f();
    return true;
  } catch (const FaultError& e) {
    defect("%s: a FaultError outside guarded(): %s", call, e.what());
  } catch (const Error& e) {
    if (e.code().value() == 0 || e.operation().empty() || std::strlen(e.what()) == 0)
      defect("%s: an Error without operation, code or message: '%s'", call, e.what());
  } catch (const std::system_error&) {
  } catch (const std::exception& e) {
    defect("%s: threw something other than std::system_error: %s", call, e.what());
  } catch (...) {
    defect("%s: threw a non-exception", call);
  }
  return false;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) defect("stat %s: %s", path.c_str(), std::strerror(errno));
  return static_cast<std::uint64_t>(st.st_size);
}

std::string pread_all(const std::string& path, std::uint64_t offset, std::size_t n) {
  std::string bytes(n, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) defect("open %s: %s", path.c_str(), std::strerror(errno));
  const ssize_t got = ::pread(fd, bytes.data(), n, static_cast<off_t>(offset));
  ::close(fd);
  if (got != static_cast<ssize_t>(n)) defect("pread %s: short read", path.c_str());
  return bytes;
}

// ---- what one input plays with ------------------------------------------------------------

using AnyFile = std::variant<std::monostate, MappedFile<Access::Read>, MappedFile<Access::Write>,
                             MappedFile<Access::CopyOnWrite>>;

struct Slot {
  AnyFile view;
  std::string path;
  bool private_dirty = false;  // CopyOnWrite pages written: the view may differ from the file
  bool writable = false;       // the pages allow writes now
  bool empty() const { return std::holds_alternative<std::monostate>(view); }
};

struct State {
  std::string files[2];
  Slot slots[3];
  AnonymousRegion anon;
  bool anon_populate = false;
  SharedMemoryObject shm;
  SealedMemory sealed;
};

template <class F>
void visit_view(Slot& s, F&& f) {
  std::visit(
      [&](auto& v) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) f(v);
      },
      s.view);
}

// The view's bytes that lie inside the file must equal the file's.
void verify(Slot& s) {
  if (s.empty() || s.private_dirty) return;
  visit_view(s, [&](auto& v) {
    if (!v) return;
    const std::uint64_t size = file_size(s.path);
    if (v.offset() >= size) return;
    const std::size_t n = std::min<std::uint64_t>({v.size(), size - v.offset(), 256 * 1024});
    const std::string expected = pread_all(s.path, v.offset(), n);
    bool equal = false;
    try {
      equal = guarded([&] { return std::memcmp(v.data(), expected.data(), n) == 0; });
    } catch (const FaultError& e) {
      defect("reading a view inside its file faulted: %s", e.what());
    }
    if (!equal)
      defect("view of %s at offset %llu differs from the file's bytes", s.path.c_str(),
             static_cast<unsigned long long>(v.offset()));
  });
}

// Picks a [offset, length) range over a view of `size` bytes; bounded windows on big views.
std::pair<std::size_t, std::size_t> pick_range(Reader& r, std::size_t size) {
  std::size_t offset = r.size();
  std::size_t length = r.flag() ? whole : r.size();
  if (size > kBigView) {
    offset %= size;
    length = std::min<std::size_t>(length, kWindow);
    if (offset > size - length) offset = size - length;
  }
  return {offset, length};
}

// PopulateWrite breaks copy-on-write (docs: flags.hpp): the copied pages of a CopyOnWrite view
// keep the bytes of that moment and stop following later changes to the file. Even when it
// fails: the pages before the one that failed (EFAULT past end of file) are copied already.
template <class V>
void copied_privately(Advice advice, const V&, Slot* slot) {
  if (slot != nullptr && advice == Advice::PopulateWrite &&
      std::is_same_v<V, MappedFile<Access::CopyOnWrite>>)
    slot->private_dirty = true;
}

template <class V>
void common_ops(Reader& r, V& v, Slot* slot) {
  const char* label = v.label();
  std::error_code ec;
  const auto range = pick_range(r, v.size());
  const std::size_t offset = range.first;
  const std::size_t length = range.second;
  switch (r.byte() % 7) {
    case 0: {  // out-of-range enum values too: they must be refused
      const auto advice = static_cast<Advice>(r.byte() % 14);
      v.advise(advice, offset, length, ec);
      check_error(ec, "advise");
      copied_privately(advice, v, slot);
      break;
    }
    case 1:
      v.advise_unchecked(static_cast<UncheckedAdvice>(r.byte() % 4), offset, length, ec);
      check_error(ec, "advise_unchecked");
      if (slot != nullptr && !ec && std::is_same_v<V, MappedFile<Access::CopyOnWrite>>)
        slot->private_dirty = true;  // dropped private pages read the file again: unknown mix
      break;
    case 2: {
      const auto protection = static_cast<Protection>(r.byte() % 8);
      auto guard = v.protect(protection, offset, length, ec);
      check_error(ec, "protect");
      if (!ec && has(protection, Protection::Read) && slot != nullptr && r.flag()) {
        guard.release();  // permanent: only with Read, so the view stays comparable
        slot->writable = has(protection, Protection::Write) && (offset == 0 && length == whole);
      }
      break;
    }
    case 3: {
      Residency res = v.residency(offset, length, ec);
      check_error(ec, "residency");
      if (!ec && res.resident > res.total()) defect("residency: more resident than pages");
      break;
    }
    case 4: {
      auto words = v.template as<std::uint64_t>(ec);
      if (!ec && words.size() * sizeof(std::uint64_t) != v.size())
        defect("as<uint64_t>: %zu elements over %zu bytes", words.size(), v.size());
      if (ec && v.size() % 8 == 0 && reinterpret_cast<std::uintptr_t>(v.data()) % 8 == 0)
        defect("as<uint64_t> refused a view that fits");
      throws_only_errors("as<T>", [&] { (void)v.template as<std::uint32_t>(); });
      break;
    }
    case 5: {
      const auto advice = static_cast<Advice>(r.byte() % 14);
      throws_only_errors("advise (throwing)", [&] { v.advise(advice, offset, length); });
      copied_privately(advice, v, slot);
      break;
    }
    default:
      if constexpr (requires { v.flush(SyncPolicy::Sync, 0, 0, ec); }) {
        v.flush(static_cast<SyncPolicy>(r.byte() % 4), offset, length, ec);
        check_error(ec, "flush");
      }
      break;
  }
  (void)label;
}

// The page of the view at `at` lies wholly past the end of the file: touching it is SIGBUS.
bool past_eof_page(std::uint64_t view_offset, std::size_t at, const std::string& path) {
  const std::uint64_t size = file_size(path);
  const std::uint64_t page = page_size();
  const std::uint64_t file_at = view_offset + at;
  return file_at / page * page >= (size + page - 1) / page * page;
}

template <class V>
void write_to(Reader& r, V& v, Slot& slot) {
  if (!v || v.size() == 0 || !slot.writable) return;
  const std::size_t at = r.size() % std::min(v.size(), kWindow);
  const std::byte value{r.byte()};
  const bool tracked = r.flag();
  std::optional<WriteTracker> tracker;
  if (tracked && v.size() <= kBigView)
    if (!throws_only_errors("WriteTracker", [&] { tracker.emplace(v.bytes()); })) return;
  try {
    guarded([&] { *static_cast<volatile std::byte*>(v.data() + at) = value; });
  } catch (const FaultError& e) {
    // Only a page past the end of the file may fault (issue 10 item 1: this hung forever).
    if (!past_eof_page(v.offset(), at, slot.path))
      defect("a write inside the file faulted: %s", e.what());
    return;
  }
  if (past_eof_page(v.offset(), at, slot.path))
    defect("a write to a page past the end of the file did not fault");
  // Page 0 is the page holding data(), which may start inside it (a view at an unaligned offset).
  const std::size_t page =
      (at + reinterpret_cast<std::uintptr_t>(v.data()) % page_size()) / page_size();
  if (tracker && !tracker->dirty(page)) defect("WriteTracker missed a write to page %zu", page);
  if constexpr (V::access == Access::CopyOnWrite) slot.private_dirty = true;
}

template <class V>
void write_ops(Reader& r, V& v, Slot& slot) {
  if constexpr (V::writable) write_to(r, v, slot);
}

template <Access A>
void map_slot(Reader& r, Slot& slot, const std::string& path) {
  std::error_code ec;
  const std::uint64_t offset = r.size();
  const std::optional<std::size_t> length =
      r.flag() ? std::nullopt : std::optional<std::size_t>(r.size());
  const bool populate = r.flag() && length.value_or(0) <= kBigView;
  const auto huge = static_cast<HugePages>(r.byte() % 3);
  const bool no_reserve = r.flag();
  auto view = fuzz::open_existing<A>(path, offset, length, populate, huge, no_reserve, ec);
  check_error(ec, "MappedFile::open");
  if (ec) {
    if (view) defect("a failed open returned a mapped view");
    return;
  }
  if (length && view.size() != *length)
    defect("asked for %zu bytes, got %zu", *length, view.size());
  slot.view = std::move(view);
  slot.path = path;
  slot.private_dirty = false;
  slot.writable = A != Access::Read;
}

void resize_slot(Reader& r, Slot& slot) {
  visit_view(slot, [&](auto& v) {
    if (!v) return;
    const std::uint64_t before_file = file_size(slot.path);
    const std::size_t before = v.size();
    const std::size_t n = backed(r.size(), v.offset());
    std::error_code ec;
    if (!fuzz::resize_view(v, n, ec)) return;
    check_error(ec, "resize");
    if (ec) {
      if (v.size() != before) defect("a failed resize changed size() from %zu", before);
      return;
    }
    if (n > std::numeric_limits<std::uint64_t>::max() - v.offset())
      defect("resize(%zu) at offset %llu succeeded although offset()+n overflows 64 bits", n,
             static_cast<unsigned long long>(v.offset()));
    if (v.size() != n) defect("resize(%zu) left size() == %zu", n, v.size());
    if (file_size(slot.path) < before_file)
      defect("resizing a view shrank its file from %llu to %llu bytes",
             static_cast<unsigned long long>(before_file),
             static_cast<unsigned long long>(file_size(slot.path)));
    // Resize keeps every page's protection (docs/core.md); only a view mapped afresh from empty
    // starts writable again.
    if (before == 0) slot.writable = true;
  });
}

void map_fd(Reader& r, Slot& slot, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) defect("open %s: %s", path.c_str(), std::strerror(errno));
  std::error_code ec;
  const std::uint64_t offset = r.size();
  const std::size_t length = r.size();
  auto view = fuzz::open_fd<Access::Write>(fd, offset, length, ec);
  ::close(fd);
  check_error(ec, "MappedFile::open(fd)");
  if (ec) return;
  slot.view = std::move(view);
  slot.path = path;
  slot.private_dirty = false;
  slot.writable = true;
}

// A region just made must be usable: first and last page (issue 10 item 3: an explicit
// huge-page region without reserved pages was "made" and then SIGBUS on first touch).
void touch_fresh(AnonymousRegion& a, const char* how) {
  if (!a || a.size() == 0) return;
  try {
    guarded([&] {
      *static_cast<volatile std::byte*>(a.data()) = std::byte{1};
      *static_cast<volatile std::byte*>(a.data() + a.size() - 1) = std::byte{2};
    });
  } catch (const FaultError& e) {
    defect("%s of %zu bytes succeeded but its memory faults: %s", how, a.size(), e.what());
  }
}

void anonymous_ops(Reader& r, State& s) {
  std::error_code ec;
  switch (r.byte() % 4) {
    case 0: {
      AnonymousOptions options;
      options.shared = r.flag();
      options.dev_zero = r.flag();
      options.populate = r.flag();
      options.huge_pages = static_cast<HugePages>(r.byte() % 3);
      options.no_reserve = r.flag();
      std::uint64_t n = r.size();
      // Populated or unreserved-free regions are backed now: bounded.
      if (options.populate || !options.no_reserve) n = backed(n, 0, true);
      s.anon = AnonymousRegion::create(n, options, ec);
      s.anon_populate = options.populate;
      check_error(ec, "AnonymousRegion::create");
      if (!ec) {
        if (!fuzz::anonymous_size_ok(s.anon.size(), n))
          defect("AnonymousRegion(%llu).size() == %zu", static_cast<unsigned long long>(n),
                 s.anon.size());
        touch_fresh(s.anon, "AnonymousRegion::create");
      }
      break;
    }
    case 1: {
      if (!s.anon) return;
      const std::size_t n = backed(r.size(), 0, true);
      const bool had_first = s.anon.size() > 0;
      const std::byte first = had_first ? s.anon.data()[0] : std::byte{};
      s.anon.resize(n, ec);
      check_error(ec, "AnonymousRegion::resize");
      if (!ec && n > 0 && had_first && s.anon.data()[0] != first)
        defect("AnonymousRegion::resize lost the first byte");
      break;
    }
    case 2:
      if (s.anon) common_ops(r, s.anon, nullptr);
      break;
    default: {
      if (!s.anon || s.anon.size() == 0 || s.anon.size() > kBigView) return;
      std::optional<WriteTracker> tracker;
      if (!throws_only_errors("WriteTracker", [&] { tracker.emplace(s.anon.bytes()); })) return;
      const std::size_t at = r.size() % s.anon.size();
      try {
        guarded([&] { *static_cast<volatile std::byte*>(s.anon.data() + at) = std::byte{7}; });
      } catch (const FaultError& e) {
        defect("a tracked write to anonymous memory faulted: %s", e.what());
      }
      if (!tracker->dirty(at / page_size())) defect("WriteTracker missed an anonymous write");
      break;
    }
  }
}

template <class Object>
void check_object_view(Object& object, const char* what) {
  std::error_code ec;
  auto view = object.template map<Access::Read>({}, ec);
  check_error(ec, what);
  if (ec || view.size() == 0) return;
  const std::size_t n = std::min<std::size_t>(view.size(), 64 * 1024);
  std::string bytes(n, '\0');
  if (::pread(object.fd(), bytes.data(), n, 0) != static_cast<ssize_t>(n))
    defect("%s: pread failed", what);
  if (std::memcmp(view.data(), bytes.data(), n) != 0) defect("%s: view differs from pread", what);
}

void shm_ops(Reader& r, State& s) {
  std::error_code ec;
  switch (r.byte() % 4) {
    case 0:
      s.shm = SharedMemoryObject::create_unique(env().shm_prefix, 0600, ec);
      check_error(ec, "SharedMemoryObject::create_unique");
      if (!ec) s.shm.set_remove_on_destroy(true);
      break;
    case 1:
      if (!s.shm) return;
      s.shm.resize(backed(r.size(), 0, true), ec);
      check_error(ec, "SharedMemoryObject::resize");
      if (!ec) {
        auto view = s.shm.map<Access::Write>({}, ec);
        check_error(ec, "SharedMemoryObject::map");
        if (!ec && view.size() > 0) {
          view.data()[view.size() - 1] = std::byte{r.byte()};
          check_object_view(s.shm, "SharedMemoryObject");
        }
      }
      break;
    case 2:
      s.sealed = SealedMemory::create("mmapxx-fuzz", backed(r.size(), 0, true), ec);
      check_error(ec, "SealedMemory::create");
      break;
    default: {
      if (!s.sealed) return;
      const auto seals = static_cast<Seal>(r.byte() & 31);
      s.sealed.seal(seals, ec);
      check_error(ec, "SealedMemory::seal");
      const std::uint64_t before = s.sealed.size(ec);
      const std::uint64_t n = backed(r.size(), 0, true);
      s.sealed.resize(n, ec);
      check_error(ec, "SealedMemory::resize");
      const Seal now = s.sealed.seals();
      if (!ec && ((n < before && has(now, Seal::Shrink)) || (n > before && has(now, Seal::Grow))))
        defect("a sealed memfd changed size against its seals");
      check_object_view(s.sealed, "SealedMemory");
      break;
    }
  }
}

void step(Reader& r, State& s) {
  const std::uint8_t op = r.byte();
  Slot& slot = s.slots[(op >> 4) % 3];
  const std::string& path = s.files[(op >> 6) & 1];
  switch (op % 10) {
    case 0:
      switch (r.byte() % 3) {
        case 0:
          map_slot<Access::Read>(r, slot, path);
          break;
        case 1:
          map_slot<Access::Write>(r, slot, path);
          break;
        default:
          map_slot<Access::CopyOnWrite>(r, slot, path);
          break;
      }
      break;
    case 1:
      map_fd(r, slot, path);
      break;
    case 2:
      resize_slot(r, slot);
      break;
    case 3:
      visit_view(slot, [&](auto& v) { write_ops(r, v, slot); });
      break;
    case 4:
      visit_view(slot, [&](auto& v) { common_ops(r, v, &slot); });
      break;
    case 5: {  // the file changes under its views: shorter or longer
      const std::uint64_t n = r.size() % (256 * 1024);
      if (::truncate(path.c_str(), static_cast<off_t>(n)) != 0) defect("truncate failed");
      break;
    }
    case 6:
      anonymous_ops(r, s);
      break;
    case 7:
      shm_ops(r, s);
      break;
    case 8:
      slot.view = std::monostate{};
      break;
    default:
      throws_only_errors("MappedFile (throwing)", [&] {
        MapOptions options;
        options.offset = r.size();
        if (r.flag()) options.length = r.size();
        MappedFile<Access::Read> view(path, options);
      });
      break;
  }
  for (Slot& each : s.slots) verify(each);
}

void make_file(const std::string& path, std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, bytes.data(), size) != static_cast<ssize_t>(size))
    defect("cannot write %s", path.c_str());
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)env();
  // What lives for the whole process once used (the thread's alternate signal stack, the fault
  // handlers) is made now, so that the per-input counts see only what an input leaks.
  AnonymousRegion warm(page_size());
  WriteTracker tracker(warm.bytes());
  guarded([&] { *static_cast<volatile std::byte*>(warm.data()) = std::byte{1}; });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Counts before = counts();
  {
    State s;
    s.files[0] = env().dir + "/f0";
    s.files[1] = env().dir + "/f1";
    make_file(s.files[0], 4 * page_size() + 100);
    make_file(s.files[1], 3 * page_size());
    Reader r(data, size);
    for (int steps = 0; r.more() && steps < 64; ++steps) step(r, s);
  }
  const Counts after = counts();
  if (after.fds != before.fds) defect("%zu descriptors leaked", after.fds - before.fds);
  if (after.named_maps != before.named_maps) defect("a mapping leaked");
  if (after.shm_names != before.shm_names) defect("a shm name leaked");
#ifdef MMAPXX_FUZZ_REPLAY
  // Without sanitizer allocators the total is stable too: anonymous regions must not leak.
  if (after.all_maps != before.all_maps) defect("an anonymous mapping leaked");
#endif
  return 0;
}
