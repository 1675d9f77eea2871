// The protection record of a mapping (lib/mapping/protection_state.hpp), behind set_protection(),
// protect() and ProtectionGuard (include/mmapxx/mapping.hpp, protection_guard.hpp).
#include "mapping/protection_state.hpp"

#include <sys/mman.h>

#include <algorithm>

#include "mapping/primitive.hpp"

namespace mmapxx::detail {

int ProtectionState::apply_runs(std::byte* pages, std::size_t begin,
                                std::size_t end) const noexcept {
  std::size_t run = begin;
  Protection run_protection = Protection::None;
  for (std::size_t at = begin; at < end;) {
    // The topmost layer holding `at` decides; a higher layer starting later ends the run.
    Protection protection = base.load(std::memory_order_relaxed);
    std::size_t next = end;
    for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
      if (layer->begin <= at && at < layer->end) {
        protection = layer->protection;
        next = std::min(next, layer->end);
        break;
      }
      if (layer->begin > at) next = std::min(next, layer->begin);
    }
    if (at != begin && protection != run_protection) {
      if (const int code =
              sys::status(sys::mprotect(pages + run, at - run, to_prot(run_protection))))
        return code;
      run = at;
    }
    run_protection = protection;
    at = next;
  }
  if (end == begin) return 0;
  return sys::status(sys::mprotect(pages + run, end - run, to_prot(run_protection)));
}

void ProtectionState::set(std::size_t begin, std::size_t end, Protection protection) {
  std::erase_if(layers, [&](const Layer& l) { return begin <= l.begin && l.end <= end; });
  if (begin == 0 && end >= view_length) {
    base.store(protection, std::memory_order_relaxed);
    layers.clear();
    return;
  }
  layers.push_back({begin, end, protection, 0});
}

}  // namespace mmapxx::detail
