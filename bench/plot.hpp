// PNG charts with gnuplot: one image per scenario, throughput (or time) per method and size.
#pragma once

#include <string>

#include "results.hpp"

namespace mmbench {

// Writes DIR/<scenario>.dat, .gp and .png; returns the number of charts made.
int write_plots(const std::string& dir, const Context& ctx);

}  // namespace mmbench
