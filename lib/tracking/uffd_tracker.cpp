// The Userfaultfd mechanism of WriteTracker (mmapxx/write_tracker.hpp): userfaultfd
// write-protect in asynchronous mode, read back and re-armed with the PAGEMAP_SCAN ioctl.
//
// In asynchronous mode the kernel resolves a write-protect fault itself, by clearing the page's
// write-protect bit: nobody reads the userfaultfd, no signal is sent, no kernel memory area is
// split (the bit lives in the page table entry). PAGEMAP_SCAN reports the pages whose bit is
// clear (PAGE_IS_WRITTEN) and, with PM_SCAN_WP_MATCHING, sets it again on exactly those pages.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <new>

#include "base/linux_abi.hpp"
#include "mapping/primitive.hpp"
#include "tracking/tracker_backend.hpp"

namespace mmapxx::detail {

namespace {

class UffdTracker final : public TrackerBackend {
 public:
  int uffd = -1;
  int pagemap = -1;
  std::uintptr_t begin = 0;
  std::size_t pages = 0;
  std::size_t page_bytes = 0;
  bool registered = false;

  ~UffdTracker() override {
    if (registered) {
      // Unregistering also clears the write-protect bits the kernel set for us.
      uffdio_range range{begin, pages * page_bytes};
      ::ioctl(uffd, UFFDIO_UNREGISTER, &range);
    }
    if (pagemap >= 0) ::close(pagemap);
    if (uffd >= 0) ::close(uffd);
  }

  WriteTracking mechanism() const noexcept override { return WriteTracking::Userfaultfd; }
  std::size_t page_count() const noexcept override { return pages; }

  // Calls f(first_page, end_page) for each run of written pages in [first, last).
  template <class F>
  Failure scan(std::size_t first, std::size_t last, bool rearm, F&& f) const noexcept {
    page_region regions[256];
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.flags = rearm ? PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC : 0;
    arg.start = begin + first * page_bytes;
    arg.end = begin + last * page_bytes;
    arg.vec = reinterpret_cast<std::uintptr_t>(regions);
    arg.vec_len = sizeof regions / sizeof regions[0];
    arg.category_mask = PAGE_IS_WRITTEN;
    arg.return_mask = PAGE_IS_WRITTEN;
    for (;;) {
      const int found = ::ioctl(pagemap, PAGEMAP_SCAN, &arg);
      if (found < 0) return make_failure("ioctl", errno, "PAGEMAP_SCAN of the tracked region");
      for (int i = 0; i < found; ++i)
        if (!f((regions[i].start - begin) / page_bytes, (regions[i].end - begin) / page_bytes))
          return make_failure("WriteTracker", ENOMEM, "listing the dirty pages");
      if (arg.walk_end >= arg.end) return {};
      arg.start = arg.walk_end;
    }
  }

  Failure collect(std::vector<std::size_t>& out, bool rearm) noexcept override {
    return scan(0, pages, rearm, [&](std::size_t from, std::size_t to) {
      try {
        for (std::size_t page = from; page < to; ++page) out.push_back(page);
        return true;
      } catch (const std::bad_alloc&) {
        return false;
      }
    });
  }

  bool dirty(std::size_t page) const noexcept override {
    if (page >= pages) return false;
    bool written = false;
    if (scan(page, page + 1, false, [&](std::size_t, std::size_t) { return written = true; }))
      return false;
    return written;
  }

  Failure reset() noexcept override { return protect(); }

  Failure protect() const noexcept {
    uffdio_writeprotect wp{};
    wp.range = {begin, pages * page_bytes};
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    if (::ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
      return make_failure("ioctl", errno, "UFFDIO_WRITEPROTECT of the tracked region");
    return {};
  }
};

}  // namespace

Failure make_uffd_tracker(std::span<std::byte> region,
                          std::unique_ptr<TrackerBackend>& out) noexcept {
  auto tracker = std::unique_ptr<UffdTracker>(new (std::nothrow) UffdTracker);
  if (!tracker) return make_failure("WriteTracker", ENOMEM, "allocating the tracker");
  UffdTracker& t = *tracker;
  t.begin = reinterpret_cast<std::uintptr_t>(region.data());
  t.page_bytes = page_size();
  t.pages = region.size() / t.page_bytes;
  // User-mode-only faults need no privilege whatever vm.unprivileged_userfaultfd says.
  t.uffd =
      static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
  if (t.uffd < 0) return make_failure("userfaultfd", errno);
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
  if (::ioctl(t.uffd, UFFDIO_API, &api) != 0)  // EINVAL before Linux 6.7
    return make_failure("ioctl", errno, "UFFDIO_API with UFFD_FEATURE_WP_ASYNC");
  t.pagemap = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (t.pagemap < 0) return make_failure("open", errno, "/proc/self/pagemap");
  uffdio_register reg{};
  reg.range = {t.begin, region.size()};
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(t.uffd, UFFDIO_REGISTER, &reg) != 0)  // EINVAL: memory uffd-wp cannot track
    return make_failure("ioctl", errno, "UFFDIO_REGISTER in write-protect mode");
  t.registered = true;
  if (Failure failure = t.protect()) return failure;
  out = std::move(tracker);
  return {};
}

}  // namespace mmapxx::detail
