#include "machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

#include "files.hpp"
#include "source_version.hpp"

namespace mmbench {

namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return in || !line.empty() ? line : "unknown";
}

std::string cpuinfo_field(const std::string& field) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field, 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "unknown";
}

std::string meminfo_total() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("MemTotal:", 0) == 0) {
      const long kib = std::stol(line.substr(9));
      return std::to_string(kib / 1024 / 1024) + " GiB";
    }
  return "unknown";
}

}  // namespace

std::string load_average() {
  return first_line("/proc/loadavg");
}

MachineInfo machine_info(const std::string& dir) {
  utsname u{};
  uname(&u);
  MachineInfo info;
  info.emplace_back("kernel", std::string(u.sysname) + " " + u.release + " " + u.machine);
  info.emplace_back("cpu", cpuinfo_field("model name"));
  info.emplace_back("cores", std::to_string(sysconf(_SC_NPROCESSORS_ONLN)));
  info.emplace_back("memory", meminfo_total());
  info.emplace_back("thp enabled", first_line("/sys/kernel/mm/transparent_hugepage/enabled"));
  info.emplace_back("thp defrag", first_line("/sys/kernel/mm/transparent_hugepage/defrag"));
  info.emplace_back("dir", dir);
  info.emplace_back("dir filesystem", filesystem_type(dir));
  // Other work on the machine skews every number: say how busy it was.
  info.emplace_back("load average", load_average());
  info.emplace_back("source", MMBENCH_SOURCE);
  info.emplace_back("compiler", __VERSION__);
#ifdef NDEBUG
  info.emplace_back("assertions", "off");
#else
  info.emplace_back("assertions", "on");
#endif
  return info;
}

}  // namespace mmbench
