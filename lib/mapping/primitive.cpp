#include "mapping/primitive.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>

#include "base/messages.hpp"
#include "mapping/registry.hpp"
#include "mapping/reservation.hpp"
#include "mmapxx/reservation.hpp"

namespace mmapxx::detail {

namespace {

constexpr std::size_t huge_page_size = std::size_t{2} << 20;  // x86-64 and arm64 default

static_assert(PROT_READ == 1 && PROT_WRITE == 2 && PROT_EXEC == 4,
              "Protection's values are Linux's PROT_* bits");

Failure map_failure(const MapRequest& request, int code) {
  std::string detail = range_detail(request.offset, request.length);
  if (request.huge_pages == HugePages::Explicit && code == ENOMEM)
    detail += "; no huge pages free: reserve some in /proc/sys/vm/nr_hugepages";
  return make_failure("mmap", code, std::move(detail));
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

int to_prot(Protection protection) noexcept {
  return static_cast<int>(protection);
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

PageSpan pages_of(const std::byte* data, std::size_t size) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(data);
  const auto begin = align_down(address, std::uintptr_t{page_size()});
  const auto end = align_up(address + size, std::uintptr_t{page_size()});
  return {reinterpret_cast<std::byte*>(begin), end - begin};
}

Failure map_view(const MapRequest& request, View& out) noexcept {
  const std::uint64_t aligned_offset = align_down(request.offset, std::uint64_t{page_size()});
  const std::size_t head = static_cast<std::size_t>(request.offset - aligned_offset);
  std::size_t length = align_up(head + request.length, page_size());
  int flags = request.flags;
  // Advice must reach the pages before they are faulted in, so with advice the population is a
  // separate madvise; without, MAP_POPULATE does it in the one mmap call.
  const bool advised = request.advice || request.huge_pages == HugePages::Transparent;
  if (request.populate && !advised) flags |= MAP_POPULATE;
  if (request.no_reserve) flags |= MAP_NORESERVE;
  if (request.huge_pages == HugePages::Explicit) {
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
    Failure failure = map_failure(request, code);
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
    return make_failure(operation, code, range_detail(request.offset, request.length));
  };
  if (request.huge_pages == HugePages::Transparent && ::madvise(base, length, MADV_HUGEPAGE) != 0)
    return undo("madvise");
  if (request.advice && ::madvise(base, length, to_madvise(*request.advice)) != 0)
    return undo("madvise");
  // Writable mappings populate for writing, as MAP_POPULATE does (it breaks private COW too).
  const int populate = request.prot & PROT_WRITE ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  if (request.populate && advised && ::madvise(base, length, populate) != 0) return undo("madvise");
  if (request.locked && ::mlock(base, length) != 0) return undo("mlock");

  registry_add(static_cast<std::byte*>(base), length, request.label, aligned_offset);
  out.data = static_cast<std::byte*>(base) + head;
  // Huge pages round the mapping up; the rounding is usable memory (only anonymous memory gets
  // here).
  out.size = request.huge_pages == HugePages::Explicit ? length : request.length;
  return {};
}

void unmap_view(View view) noexcept {
  if (view.data == nullptr) return;
  const PageSpan pages = pages_of(view.data, view.size);
  registry_remove(pages.begin);
  // A view placed in a reservation goes back to reserved, so nobody else can map there.
  if (!reservation_release(pages.begin, pages.length)) ::munmap(pages.begin, pages.length);
}

Failure remap_view(View& view, std::size_t new_size, const char* label,
                   std::uint64_t file_offset) noexcept {
  const PageSpan old_pages = pages_of(view.data, view.size);
  const std::size_t head = static_cast<std::size_t>(view.data - old_pages.begin);
  const std::size_t new_length = align_up(head + new_size, page_size());
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
    if (moved == MAP_FAILED) {
      const int code = errno;
      registry_add(old_pages.begin, old_pages.length, label, file_offset - head);
      return make_failure("mremap", code,
                          "from " + std::to_string(view.size) + " to " + std::to_string(new_size));
    }
    registry_add(static_cast<std::byte*>(moved), new_length, label, file_offset - head);
    view.data = static_cast<std::byte*>(moved) + head;
  }
  view.size = new_size;
  return {};
}

}  // namespace mmapxx::detail
