// PNG charts with gnuplot: one image per scenario, throughput (or time) per method and size, and
// for beyond one more per case and thread count: reads/s per slice, one line per method.
#pragma once

#include <string>

#include "results.hpp"

namespace mmbench {

// Writes DIR/<scenario>.dat, .gp and .png (and DIR/beyond-<case>--N-thread(s).*); returns the
// number of charts made.
int write_plots(const std::string& dir, const Context& ctx);

}  // namespace mmbench
