// shared_anonymous: the slides' mmap_shared_anonymous.c, the answer to "can we do the same without
// a file?". Shared anonymous memory is inherited by fork and stays shared: the child sees the
// parent's 'b's and the parent sees the child's 'c's. (A private region would not be shared.)
#include <cstdio>

#include "course.hpp"
#include "mmapxx/mmapxx.hpp"

int main() {
  try {
    mmapxx::AnonymousRegion region(2 * mmapxx::page_size(), {.shared = true});
    course::fill(region.bytes(), 'a');
    return course::parent_and_child(region.bytes());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shared_anonymous: %s\n", e.what());
    return 1;
  }
}
