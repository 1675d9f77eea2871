// The one map primitive (map_view, unmap_view, remap_view) behind include/mmapxx/mapping.hpp.
#include "mapping/primitive.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string_view>
#include <vector>

#include "base/messages.hpp"
#include "mapping/registry.hpp"
#include "mapping/reservation.hpp"
#include "mmapxx/reservation.hpp"

namespace mmapxx::detail {

namespace {

constexpr std::size_t huge_page_size = std::size_t{2} << 20;  // x86-64 and arm64 default

static_assert(PROT_READ == 1 && PROT_WRITE == 2 && PROT_EXEC == 4,
              "Protection's values are Linux's PROT_* bits");

constexpr const char* no_huge_pages =
    "; no huge pages free: reserve some in /proc/sys/vm/nr_hugepages";

Failure map_failure(const char* operation, const MapRequest& request, int code) {
  Failure failure = range_failure(operation, code, request.offset, request.length);
  // mmap reports a failed reservation as ENOMEM; populating unreserved huge pages as ENOMEM or
  // EFAULT (where the access would have raised SIGBUS).
  if (request.huge_pages == HugePages::Explicit && (code == ENOMEM || code == EFAULT))
    failure.detail += no_huge_pages;
  return failure;
}

std::string address_text(const void* address) {
  char text[2 + 16 + 1];
  std::snprintf(text, sizeof text, "%p", address);
  return text;
}

Failure placement_taken(const MapRequest& request, std::size_t length) {
  const auto* begin = static_cast<const std::byte*>(request.placement.address);
  return make_failure("mmap", EEXIST,
                      "the range [" + address_text(begin) + ", " + address_text(begin + length) +
                          ") is already mapped (MAP_FIXED_NOREPLACE)");
}

// Resolves request.placement into mmap's address argument and flags.
Failure place(const MapRequest& request, std::size_t length, int& flags, void*& hint,
              std::byte*& placed) {
  const Placement& placement = request.placement;
  if (placement.reservation && placement.address)
    return invalid_argument("mmap", "a placement names a reservation or an address, not both");
  if (placement.reservation) {
    if (Failure f = reservation_claim(placement, length, request.prot, flags, placed)) return f;
    hint = placed;
    flags |= MAP_FIXED;  // over pages the reservation holds for this view alone
  } else if (placement.address) {
    if (reinterpret_cast<std::uintptr_t>(placement.address) % page_size() != 0)
      return invalid_argument(
          "mmap", "address " + address_text(placement.address) + " is not page-aligned");
    hint = placement.address;
    flags |= MAP_FIXED_NOREPLACE;
  }
  return {};
}

}  // namespace

Failure lock_failure(int code, std::uint64_t offset, std::size_t length) noexcept {
  Failure failure = range_failure("mlock", code, offset, length);
  if (code != ENOMEM && code != EPERM && code != EAGAIN) return failure;
  rlimit limit{};
  if (::getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return failure;
  char text[48] = "unlimited";
  if (limit.rlim_cur != RLIM_INFINITY)
    std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(limit.rlim_cur));
  failure.detail += "; RLIMIT_MEMLOCK is ";
  failure.detail += text;
  failure.detail += " (ulimit -l; CAP_IPC_LOCK lifts it)";
  return failure;
}

int to_madvise(Advice advice) noexcept {
  switch (advice) {
    case Advice::Normal:
      return MADV_NORMAL;
    case Advice::Sequential:
      return MADV_SEQUENTIAL;
    case Advice::Random:
      return MADV_RANDOM;
    case Advice::WillNeed:
      return MADV_WILLNEED;
    case Advice::HugePage:
      return MADV_HUGEPAGE;
    case Advice::NoHugePage:
      return MADV_NOHUGEPAGE;
    case Advice::PopulateRead:
      return MADV_POPULATE_READ;
    case Advice::PopulateWrite:
      return MADV_POPULATE_WRITE;
    case Advice::DontFork:
      return MADV_DONTFORK;
    case Advice::DoFork:
      return MADV_DOFORK;
    case Advice::DontDump:
      return MADV_DONTDUMP;
    case Advice::DoDump:
      return MADV_DODUMP;
  }
  return -1;
}

namespace {

// A request with no option beyond prot and flags: one mmap, then the registry.
bool plain(const MapRequest& request) noexcept {
  return !request.populate && !request.advice && !request.locked &&
         request.huge_pages == HugePages::None && !request.no_reserve &&
         !request.placement.reservation && !request.placement.address;
}

void register_view(std::byte* base, std::size_t length, const MapRequest& request,
                   std::uint64_t aligned_offset) noexcept {
  if (request.label_length != SIZE_MAX)
    registry_add(base, length, request.label, request.label_length, aligned_offset);
  else
    registry_add(base, length, request.label, aligned_offset);
}

}  // namespace

// Every option (populate, advice, lock, huge pages, placement): kept out of map_view so that the
// plain case runs in a small frame.
[[gnu::noinline]] static Failure map_options(const MapRequest& request, View& out) noexcept;

Failure map_view(const MapRequest& request, View& out) noexcept {
  if (!plain(request)) return map_options(request, out);
  return map_plain(request.length, request.offset, request.prot, request.flags, request.fd,
                   request.label, request.label_length, out);
}

Failure map_plain_failure(std::size_t length, std::uint64_t offset, int code) noexcept {
  if (code == 0)
    return invalid_argument("mmap", "length %zu is larger than any mapping can be (PTRDIFF_MAX)",
                            length);
  return range_failure("mmap", code, offset, length);
}

static Failure map_options(const MapRequest& request, View& out) noexcept {
  if (request.length > max_view_size)
    return invalid_argument("mmap", "length %zu is larger than any mapping can be (PTRDIFF_MAX)",
                            request.length);
  const std::uint64_t aligned_offset = align_down(request.offset, std::uint64_t{page_size()});
  const std::size_t head = static_cast<std::size_t>(request.offset - aligned_offset);
  std::size_t length = align_up(head + request.length, page_size());
  int flags = request.flags;
  const bool explicit_huge = request.huge_pages == HugePages::Explicit;
  // Unreserved huge pages are allocated at first touch, which raises SIGBUS when none is free:
  // only populating them now (which reports the shortage as an error) makes that safe.
  if (explicit_huge && request.no_reserve && !request.populate)
    return invalid_argument(
        "mmap",
        "huge_pages: Explicit with no_reserve would raise SIGBUS at first touch "
        "when no huge page is free: add populate, or drop no_reserve (huge "
        "pages are reserved in /proc/sys/vm/nr_hugepages)");
  // Advice must reach the pages before they are faulted in, so with advice the population is a
  // separate madvise; without, MAP_POPULATE does it in the one mmap call. Explicit huge pages
  // always populate with madvise: MAP_POPULATE ignores a failure to allocate them.
  // A private file view (CopyOnWrite) is populated for reading: MAP_POPULATE would write-fault
  // every page of a writable private mapping, copying the whole view into anonymous memory and
  // cutting it off from the file before anything was written.
  const bool private_file = (flags & MAP_PRIVATE) && !(flags & MAP_ANONYMOUS) && request.fd >= 0;
  const bool advised = request.advice || request.huge_pages == HugePages::Transparent ||
                       explicit_huge || private_file;
  if (request.populate && !advised) flags |= MAP_POPULATE;
  if (request.no_reserve) flags |= MAP_NORESERVE;
  if (explicit_huge) {
    if (!(flags & MAP_ANONYMOUS))
      return invalid_argument("mmap", "huge_pages: Explicit (MAP_HUGETLB) is for anonymous memory");
    flags |= MAP_HUGETLB;
    length = align_up(length, huge_page_size);
  }
  void* hint = nullptr;
  std::byte* placed = nullptr;  // inside a reservation: give back, never munmap
  if (Failure f = place(request, length, flags, hint, placed)) return f;
  void* base =
      ::mmap(hint, length, request.prot, flags, request.fd, static_cast<off_t>(aligned_offset));
  if (base == MAP_FAILED) {
    const int code = errno;
    if (code == EEXIST && request.placement.address) return placement_taken(request, length);
    Failure failure = map_failure("mmap", request, code);
    if (placed) {
      reservation_unclaim(placed, length);
      if (code == ENOMEM)
        failure.detail +=
            "; each view inside a reservation adds up to two VMAs: vm.max_map_count may be reached";
    }
    return failure;
  }
  if (request.placement.address && base != hint) {
    // Kernels before 4.17 ignore MAP_FIXED_NOREPLACE and treat the address as a hint, which
    // they honour whenever the range is free: elsewhere means taken.
    ::munmap(base, length);
    return placement_taken(request, length);
  }

  const auto undo = [&](const char* operation) {
    const int code = errno;
    if (!placed || !reservation_release(placed, length)) ::munmap(base, length);
    if (operation == std::string_view("mlock"))
      return lock_failure(code, request.offset, request.length);
    return map_failure(operation, request, code);
  };
  if (request.huge_pages == HugePages::Transparent && ::madvise(base, length, MADV_HUGEPAGE) != 0)
    return undo("madvise");
  if (request.advice && ::madvise(base, length, to_madvise(*request.advice)) != 0)
    return undo("madvise");
  // Writable mappings populate for writing, as MAP_POPULATE does; private file views for reading.
  const int populate =
      request.prot & PROT_WRITE && !private_file ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  if (request.populate && advised && ::madvise(base, length, populate) != 0) return undo("madvise");
  if (request.locked && ::mlock(base, length) != 0) return undo("mlock");

  register_view(static_cast<std::byte*>(base), length, request, aligned_offset);
  out.data = static_cast<std::byte*>(base) + head;
  out.size = request.length;
  out.mapped = length;
  return {};
}

namespace {

// The pages under a view, for a page size `page`: those its bytes touch, or `mapped` when the map
// primitive recorded more (huge pages).
inline PageSpan mapped_pages(const View& view, std::size_t page) noexcept {
  PageSpan pages = pages_of(view.data, view.size, page);
  if (view.mapped != 0) pages.length = view.mapped;
  return pages;
}

// release_pages while a reservation exists: a view placed in one goes back to reserved, so that
// nobody else can map there.
[[gnu::noinline, gnu::cold]] void release_reserved(std::byte* begin, std::size_t length) noexcept {
  if (!reservation_release_placed(begin, length)) ::munmap(begin, length);
}

// unmap_view once the range left the registry: munmap, or back to its reservation.
inline void release_pages(std::byte* begin, std::size_t length) noexcept {
  if (reservations_live.load(std::memory_order_relaxed) != 0) [[unlikely]]
    return release_reserved(begin, length);
  sys::munmap(begin, length);
}

// unmap_view when another thread is registering or unregistering a range at the same moment.
[[gnu::noinline, gnu::cold]] void unmap_contended(std::byte* begin, std::size_t length) noexcept {
  registry_remove_contended(reinterpret_cast<std::uintptr_t>(begin));
  release_pages(begin, length);
}

// The page size as unmap_view reads it: a plain load, where page_size() checks its static's guard
// and may call (a call that is not in tail position costs unmap_view a frame). 0 until the first
// unmap.
std::atomic<std::size_t> unmap_page_size{0};

[[gnu::noinline, gnu::cold]] void unmap_first(std::byte* data, std::size_t size,
                                              std::size_t mapped) noexcept {
  unmap_page_size.store(page_size(), std::memory_order_relaxed);
  unmap_view(data, size, mapped);
}

}  // namespace

void unmap_view(std::byte* data, std::size_t size, std::size_t mapped) noexcept {
  if (data == nullptr) return;
  const std::size_t page = unmap_page_size.load(std::memory_order_relaxed);
  if (page == 0) [[unlikely]]
    return unmap_first(data, size, mapped);
  const PageSpan pages = mapped_pages({data, size, mapped}, page);
  // Every call below is in tail position: no frame, no saved registers.
  if (!registry_try_remove(pages.begin)) [[unlikely]]
    return unmap_contended(pages.begin, pages.length);
  release_pages(pages.begin, pages.length);
}

namespace {

// One kernel memory area (VMA) under a view: mremap can grow only one at a time.
struct Piece {
  std::byte* begin = nullptr;
  std::size_t length = 0;
};

// Parses the "start-end" hex pair that opens a /proc/self/maps line.
bool parse_range(const char* line, const char* stop, std::uintptr_t& start, std::uintptr_t& end) {
  std::uintptr_t* field = &start;
  start = end = 0;
  for (const char* c = line; c != stop; ++c) {
    const char ch = *c;
    if (ch == '-' && field == &start) {
      field = &end;
    } else if (ch >= '0' && ch <= '9') {
      *field = *field * 16 + static_cast<std::uintptr_t>(ch - '0');
    } else if (ch >= 'a' && ch <= 'f') {
      *field = *field * 16 + static_cast<std::uintptr_t>(ch - 'a' + 10);
    } else {
      return field == &end && ch == ' ';
    }
  }
  return false;
}

// The VMAs covering [pages.begin, pages.begin + pages.length), in address order, from
// /proc/self/maps. Only the slow path of remap_view reads it.
Failure pieces_of(PageSpan pages, std::vector<Piece>& out) noexcept {
  const int fd = ::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_failure("open", errno, "/proc/self/maps");
  const auto first = reinterpret_cast<std::uintptr_t>(pages.begin);
  const std::uintptr_t last = first + pages.length;
  char buffer[8192];  // a line is at most ~100 bytes plus a path of at most PATH_MAX
  std::size_t filled = 0;
  bool done = false;
  try {
    while (!done) {
      const ssize_t got = ::read(fd, buffer + filled, sizeof buffer - filled);
      if (got < 0) {
        if (errno == EINTR) continue;
        const int code = errno;
        ::close(fd);
        return make_failure("read", code, "/proc/self/maps");
      }
      filled += static_cast<std::size_t>(got);
      std::size_t consumed = 0;
      for (;;) {
        const char* line = buffer + consumed;
        const char* newline = static_cast<const char*>(::memchr(line, '\n', filled - consumed));
        if (newline == nullptr) break;
        consumed = static_cast<std::size_t>(newline - buffer) + 1;
        std::uintptr_t start = 0, end = 0;
        if (!parse_range(line, newline, start, end) || end <= first) continue;
        if (start >= last) {
          done = true;
          break;
        }
        start = start < first ? first : start;
        end = end > last ? last : end;
        out.push_back({reinterpret_cast<std::byte*>(start), end - start});
      }
      if (consumed == 0 && filled == sizeof buffer) {
        ::close(fd);
        return make_failure("read", EOVERFLOW, "/proc/self/maps: line too long");
      }
      std::memmove(buffer, buffer + consumed, filled - consumed);
      filled -= consumed;
      if (got == 0) done = true;
    }
  } catch (const std::bad_alloc&) {
    ::close(fd);
    return make_failure("mremap", ENOMEM, "no memory to list the view's memory areas");
  }
  ::close(fd);
  // The view is mapped in full, so the pieces must tile it; anything else is a view that is not
  // ours (a caller unmapped part of it).
  std::uintptr_t expected = first;
  for (const Piece& piece : out) {
    if (reinterpret_cast<std::uintptr_t>(piece.begin) != expected) break;
    expected += piece.length;
  }
  if (expected != last) return make_failure("mremap", EFAULT, "part of the view is not mapped");
  return {};
}

// Grows a view that spans several VMAs (after protect, advise or write tracking on part of it):
// mremap can grow only one VMA, so each piece moves, unchanged, to the same place in a fresh
// reservation and the last one grows into the tail. Nothing is copied; every page keeps its
// protection, advice and contents, for private, shared and file-backed memory alike.
Failure grow_split(PageSpan old_pages, std::size_t new_length, std::byte*& moved) noexcept {
  std::vector<Piece> pieces;
  if (Failure f = pieces_of(old_pages, pieces)) return f;
  void* reserved =
      ::mmap(nullptr, new_length, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return make_failure("mmap", errno, "reserving the resized view");
  auto* target = static_cast<std::byte*>(reserved);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const Piece piece = pieces[i];
    const std::size_t at = static_cast<std::size_t>(piece.begin - old_pages.begin);
    const std::size_t grown =
        i + 1 == pieces.size() ? piece.length + (new_length - old_pages.length) : piece.length;
    if (::mremap(piece.begin, piece.length, grown, MREMAP_MAYMOVE | MREMAP_FIXED, target + at) !=
        MAP_FAILED)
      continue;
    const int code = errno;
    // Put back what moved (its old place is free: it was ours a moment ago) and give back the
    // rest of the reservation; the view is then as it was.
    for (std::size_t j = 0; j < i; ++j) {
      const std::size_t back = static_cast<std::size_t>(pieces[j].begin - old_pages.begin);
      ::mremap(target + back, pieces[j].length, pieces[j].length, MREMAP_MAYMOVE | MREMAP_FIXED,
               pieces[j].begin);
    }
    ::munmap(target + at, new_length - at);
    return make_failure("mremap", code, "moving the view's memory areas");
  }
  moved = target;
  return {};
}

}  // namespace

Failure remap_view(View& view, std::size_t new_size, const char* label, std::uint64_t file_offset,
                   std::size_t granule) noexcept {
  if (granule == 0) granule = page_size();
  const PageSpan old_pages = mapped_pages(view, page_size());
  const std::size_t head = static_cast<std::size_t>(view.data - old_pages.begin);
  // head < one page, so head + new_size + granule cannot wrap once this holds.
  if (new_size > max_view_size)
    return invalid_argument("mremap", "size %zu is larger than any mapping can be (PTRDIFF_MAX)",
                            new_size);
  const std::size_t new_length = align_up(head + new_size, granule);
  Failure in_place;
  if (new_length != old_pages.length &&
      reservation_resize(old_pages.begin, old_pages.length, new_length, in_place)) {
    // Inside a reservation the view grows and shrinks where it is: it never moves.
    if (in_place) return in_place;
    registry_remove(old_pages.begin);
    registry_add(old_pages.begin, new_length, label, file_offset - head);
  } else if (new_length != old_pages.length) {
    // Unregister first: once mremap has freed the old range, another thread may map and
    // register something at the same address.
    registry_remove(old_pages.begin);
    void* moved = ::mremap(old_pages.begin, old_pages.length, new_length, MREMAP_MAYMOVE);
    int code = moved == MAP_FAILED ? errno : 0;
    // EFAULT: the view is several VMAs (shrinking handles that; growing does not).
    if (code == EFAULT && new_length > old_pages.length) {
      std::byte* grown = nullptr;
      Failure failure = grow_split(old_pages, new_length, grown);
      if (!failure) {
        moved = grown;
        code = 0;
      } else if (failure.code != EFAULT) {
        registry_add(old_pages.begin, old_pages.length, label, file_offset - head);
        return failure;
      }
    }
    if (code != 0) {
      registry_add(old_pages.begin, old_pages.length, label, file_offset - head);
      return make_failure("mremap", code, "from %zu to %zu", view.size, new_size);
    }
    registry_add(static_cast<std::byte*>(moved), new_length, label, file_offset - head);
    view.data = static_cast<std::byte*>(moved) + head;
  }
  view.size = new_size;
  view.mapped = new_length;
  return {};
}

}  // namespace mmapxx::detail
