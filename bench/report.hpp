// Writing results: the stdout table, CSV, JSON.
#pragma once

#include <string>

#include "machine.hpp"
#include "results.hpp"

namespace mmbench {

void print_machine(const MachineInfo& machine);
void print_files(const std::vector<FileNote>& notes);
void print_table(const Context& ctx);
void print_checks(const Context& ctx);
void write_csv(const std::string& path, const Context& ctx);
void write_json(const std::string& path, const Context& ctx, const MachineInfo& machine,
                const std::vector<FileNote>& files);

}  // namespace mmbench
