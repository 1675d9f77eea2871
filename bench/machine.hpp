// The machine the numbers came from: printed with every run and stored with the results.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mmbench {

using MachineInfo = std::vector<std::pair<std::string, std::string>>;

MachineInfo machine_info(const std::string& dir);
std::string load_average();  // /proc/loadavg

}  // namespace mmbench
