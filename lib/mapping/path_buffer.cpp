// The path buffer a thread reuses (mapping/path_buffer.hpp).
#include "mapping/path_buffer.hpp"

#include <cxxabi.h>

extern "C" void* __dso_handle;  // this library's: its threads' ends run while it is loaded

namespace mmapxx::detail {

constinit thread_local SparePath spare_path{};

namespace {

void end_spare_path(void* spare) noexcept {
  auto* s = static_cast<SparePath*>(spare);
  s->get().~basic_string();
  s->live = false;
}

}  // namespace

void start_spare_path() noexcept {
  new (spare_path.bytes) std::string();
  if (__cxxabiv1::__cxa_thread_atexit(end_spare_path, &spare_path, &__dso_handle) == 0)
    spare_path.live = true;
  else
    spare_path.get().~basic_string();
}

}  // namespace mmapxx::detail
