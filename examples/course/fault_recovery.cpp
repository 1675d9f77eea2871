// fault_recovery: the slides' setjmp/longjmp exercise, the mmapxx way. In the course, reading
// base[0] faults, the handler maps a fresh page holding 'A' and longjmps back so that the printf
// runs again. Here mmapxx::guarded() turns the fault into a FaultError exception in normal code
// (no longjmp of our own, no global jmp_buf), and the retry is an ordinary loop.
#include <cstdio>

#include "mmapxx/mmapxx.hpp"

int main() {
  try {
    // mmapxx translates faults in its own mappings only (a stray null pointer still kills the
    // process, as it should), so the first `base` is a page of ours that allows no access.
    mmapxx::AnonymousRegion forbidden(mmapxx::page_size());
    auto no_access = forbidden.protect(mmapxx::Protection::None);
    mmapxx::AnonymousRegion fresh;
    const volatile char* base = reinterpret_cast<const char*>(forbidden.data());

    for (;;) {
      try {
        const char c = mmapxx::guarded([&] { return base[0]; });
        std::printf("base[0] = %c\n", c);
        return 0;
      } catch (const mmapxx::FaultError& fault) {
        std::printf("faute : signal %d à l'adresse base : %s\n", fault.signal(),
                    fault.address() == base ? "oui" : "non");
        // The course handler's repair: a fresh page, holding 'A', becomes base.
        fresh = mmapxx::AnonymousRegion(mmapxx::page_size());
        fresh[0] = std::byte{'A'};
        base = reinterpret_cast<const char*>(fresh.data());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault_recovery: %s\n", e.what());
    return 1;
  }
}
