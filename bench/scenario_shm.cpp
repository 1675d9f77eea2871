#include "scenarios.hpp"
namespace mmbench {
void scenario_shm(Context&) {}
}  // namespace mmbench
