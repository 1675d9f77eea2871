// Faults at the edges: repairs that cannot fix a fault (no hang), a chaining handler that leaves
// the signal blocked, tens of thousands of live mappings, and an exhausted heap.
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

// Runs body in a child that SIGALRM kills after `seconds`: a hang becomes a failed check.
int run_with_watchdog(const std::function<int()>& body, unsigned seconds = 10) {
  return run_in_child([&] {
    ::alarm(seconds);
    return body();
  });
}

bool exited_with(int status, int code) {
  return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

// A writable mapping of 4 pages over a file cut back to 1 page: writes past page 0 are SIGBUS.
struct TruncatedWritable {
  TempDir dir;
  std::string path = dir.file("cut.bin");
  MappedFile<Access::Write> file;
  TruncatedWritable() {
    write_file(path, pattern(4 * page_size()));
    file = MappedFile<Access::Write>(path);
    if (::truncate(path.c_str(), static_cast<off_t>(page_size())) != 0)
      throw std::runtime_error("truncate failed");
  }
};

int guarded_store_throws(std::byte* p) {
  try {
    guarded([&] { store(p, std::byte{1}); });
  } catch (const FaultError& e) {
    return e.signal() == SIGBUS && e.address() == p ? 0 : 2;
  }
  return 1;
}

Repair always_retry(const FaultEvent&, void* context) noexcept {
  ++*static_cast<int*>(context);
  return Repair::Retry;  // claims to have fixed it, fixes nothing
}

}  // namespace

TEST_CASE("a WriteTracker over pages past the end of its file: guarded() throws, no hang") {
  for (const WriteTracking how : {WriteTracking::Mprotect, WriteTracking::Automatic}) {
    INFO("mechanism " << static_cast<int>(how));
    const int status = run_with_watchdog([how] {
      TruncatedWritable t;
      WriteTracker tracker(t.file.bytes(), Protection::Read | Protection::Write, how);
      store(t.file.data(), std::byte{2});  // inside the file: tracked as usual
      if (!tracker.dirty(0)) return 3;
      return guarded_store_throws(t.file.data() + 2 * page_size());
    });
    CHECK(exited_with(status, 0));
  }
}

TEST_CASE("a repair that answers Retry without fixing anything does not loop forever") {
  const int status = run_with_watchdog([] {
    TruncatedWritable t;
    int calls = 0;
    RepairHandler handler(t.file.bytes(), always_retry, &calls);
    const int result = guarded_store_throws(t.file.data() + 3 * page_size());
    if (result != 0) return result;
    // Offered once, retried once, then not offered again for the same fault.
    if (calls != 1) return 10 + calls;
    // The next fault at the same address is offered again (once), after a rearm or not.
    RepairHandler::rearmed();
    if (guarded_store_throws(t.file.data() + 3 * page_size()) != 0) return 4;
    return calls == 2 ? 0 : 20 + calls;
  });
  CHECK(exited_with(status, 0));
}

TEST_CASE("a chaining handler without SA_NODEFER: two guarded faults in a row are both caught") {
  CHECK(run_fresh("chaining-handler-without-nodefer") == 0);
}

TEST_CASE("no fixed capacity: a fault in the last of 50,000 live mappings is caught") {
  // Each is its own registry entry (the kernel may merge neighbours into one area, which is
  // fine). The registry used to stop at 4,096.
  const int status = run_with_watchdog(
      [] {
        constexpr std::size_t count = 50000;
        // Mapped before the table grows: its range and label (a long path: not copied, pointed
        // to) move into every bigger table.
        TruncatedFile first;
        std::vector<AnonymousRegion> regions;
        regions.reserve(count);
        for (std::size_t i = 0; i + 2 < count; ++i) regions.emplace_back(page_size());
        TruncatedFile last;
        for (const TruncatedFile* t : {&last, &first}) {
          const std::byte* past = t->file.data() + 2 * page_size();
          try {
            guarded([&] { load(past); });
            return 1;
          } catch (const FaultError& e) {
            if (e.address() != past || e.mapping_label() != t->path) return 2;
          }
        }
        return 0;
      },
      60);
  CHECK(exited_with(status, 0));
}

TEST_CASE("with the heap exhausted, guarded() still throws a FaultError, not std::bad_alloc") {
  if (sanitized) {  // their allocators abort when the heap is exhausted, before mmapxx could act
    std::printf("skipped: heap exhaustion under a sanitizer's allocator\n");
    return;
  }
  const int status = run_with_watchdog([] {
    TruncatedFile t;
    const std::byte* past = t.file.data() + 2 * page_size();
    try {  // installs the handler and this thread's signal stack while memory is plentiful
      guarded([&] { load(past); });
    } catch (const FaultError&) {
    }
    // Cap the address space at what is in use now plus 64 MiB, then fill the heap: big blocks
    // first, then ever smaller ones, down to the smallest malloc.
    struct rlimit limit {};
    ::getrlimit(RLIMIT_AS, &limit);
    unsigned long long vm_pages = 0;
    if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(statm, "%llu", &vm_pages) != 1) vm_pages = 0;
      std::fclose(statm);
    }
    if (vm_pages == 0) return 6;
    const struct rlimit tight { vm_pages *page_size() + (64ull << 20), limit.rlim_max };
    if (::setrlimit(RLIMIT_AS, &tight) != 0) return 5;
    void* chain = nullptr;
    for (std::size_t size = 1 << 20; size >= sizeof(void*); size /= 2)
      while (void* block = std::malloc(size)) {
        *static_cast<void**>(block) = chain;
        chain = block;
      }
    int result = 1;
    try {
      guarded([&] { load(past); });
    } catch (const FaultError& e) {
      result = e.signal() == SIGBUS ? 0 : 2;
    } catch (const std::bad_alloc&) {
      result = 3;
    } catch (...) {
      result = 4;
    }
    while (chain != nullptr) {
      void* next = *static_cast<void**>(chain);
      std::free(chain);
      chain = next;
    }
    return result;
  });
  CHECK(exited_with(status, 0));
}
