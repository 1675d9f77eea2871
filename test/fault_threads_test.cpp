// Threads: each faulting thread gets its own exception, on its own signal stack, while other
// threads map and unmap.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "fault_support.hpp"

using namespace mmapxx;
using namespace mmapxx::test;

TEST_CASE("8 threads faulting at once each get their own FaultError") {
  constexpr int threads = 8;
  constexpr int rounds = 200;
  TruncatedFile t(threads + 1, page_size());
  std::atomic<bool> stop{false};
  // Meanwhile the registry churns: mappings come and go on another thread.
  std::thread churn([&] {
    while (!stop.load()) {
      AnonymousRegion a(page_size());
      AnonymousRegion b(3 * page_size());
      store(b.data(), std::byte{1});
    }
  });
  std::vector<int> good(threads, 0);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      for (int round = 0; round < rounds; ++round) {
        const std::size_t offset = (1 + i) * page_size() + round;
        const std::byte* p = t.file.data() + offset;
        try {
          guarded([&] { load(p); });
        } catch (const FaultError& e) {
          if (e.address() == p && e.file_offset() == offset && e.signal() == SIGBUS &&
              e.mapping_label() == t.path)
            ++good[i];
        }
        // And a private mapping of this thread's own, made and faulted while others do the same.
        AnonymousRegion mine(2 * page_size());
        auto none = mine.protect(Protection::None, page_size(), page_size());
        try {
          guarded([&] { store(mine.data() + page_size() + round, std::byte{1}); });
        } catch (const FaultError& e) {
          if (e.address() == mine.data() + page_size() + round && e.signal() == SIGSEGV) ++good[i];
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  churn.join();
  for (int i = 0; i < threads; ++i) CHECK(good[i] == 2 * rounds);
}

TEST_CASE("copy_from survives truncation on many threads") {
  TruncatedFile t(4, 2 * page_size());
  std::atomic<int> faults{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i)
    workers.emplace_back([&] {
      std::vector<std::byte> buffer(4 * page_size());
      for (int round = 0; round < 100; ++round) {
        if (copy_from(t.file.bytes().first(2 * page_size()), buffer)) return;
        if (copy_from(t.file.bytes(), buffer) == std::error_code(EFAULT, std::generic_category()))
          ++faults;
      }
    });
  for (auto& w : workers) w.join();
  CHECK(faults == 400);
}

TEST_CASE("a guarded thread gets an alternate signal stack") {
  bool has_stack = false;
  std::thread thread([&] {
    guarded([] {});
    stack_t current{};
    ::sigaltstack(nullptr, &current);
    has_stack = !(current.ss_flags & SS_DISABLE) && current.ss_size >= 16 * 1024;
  });
  thread.join();
  CHECK(has_stack);
}
