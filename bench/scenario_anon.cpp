#include "scenarios.hpp"
namespace mmbench {
void scenario_anon(Context&) {}
}  // namespace mmbench
