// Scan helpers other scenarios reuse.
#pragma once

#include <mmapxx/mmapxx.hpp>

#include "content.hpp"

namespace mmbench {

// Scans a mapped file while both cores pre-fault it ahead of the consumer.
void scan_populate_two_cores(const mmapxx::MappedFile<mmapxx::Access::Read>& file, Sink& sink);

}  // namespace mmbench
