#include "scenarios.hpp"
namespace mmbench {
void scenario_cold(Context&) {}
}  // namespace mmbench
