// protect_on_fault: the slides' mprotect exercise. A page allows no access at all; the first
// write to it faults, and a repair handler (the course's "traitant") makes the page readable and
// writable, after which the write runs again and succeeds. Later accesses do not fault.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "mmapxx/mmapxx.hpp"

namespace {

// A signal handler may only call async-signal-safe functions: write(2), not printf.
void say(const char* text) {
  [[maybe_unused]] const auto n = ::write(STDOUT_FILENO, text, std::strlen(text));
}

// The "traitant". Runs inside the SIGSEGV handler, for faults in the page only.
mmapxx::Repair traitant(const mmapxx::FaultEvent& fault, void* page) noexcept {
  char line[] = "Traitant : signal reçu ??\n";
  char* digits = std::strstr(line, "??");
  digits[0] = static_cast<char>('0' + fault.signal / 10 % 10);
  digits[1] = static_cast<char>('0' + fault.signal % 10);
  say(line);
  // PROT_READ with PROT_WRITE: some processors read a cache line before writing it; without
  // read permission the repeated write would fault again, forever.
  const int ret = ::mprotect(page, mmapxx::page_size(), PROT_READ | PROT_WRITE);
  say(ret == 0 ? "résultat mprotect : 0\n" : "résultat mprotect : -1\n");
  return ret == 0 ? mmapxx::Repair::Retry : mmapxx::Repair::Decline;
}

}  // namespace

int main() {
  // Line buffering, so printf's lines and the handler's write(2)s come out in order.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    mmapxx::AnonymousRegion region(mmapxx::page_size());
    auto no_access = region.protect(mmapxx::Protection::None);  // PROT_NONE until repaired
    const mmapxx::RepairHandler handler(region.bytes(), traitant, region.data());

    // volatile: each access really happens here, as written.
    volatile char* base = reinterpret_cast<char*>(region.data());
    std::printf("première écriture : c\n");
    base[0] = 'c';  // faults once; the handler repairs the page and the write runs again
    std::printf("lecture : %c\n", base[0]);
    std::printf("seconde écriture : d\n");
    base[0] = 'd';  // no fault now
    std::printf("lecture : %c\n", base[0]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "protect_on_fault: %s\n", e.what());
    return 1;
  }
}
