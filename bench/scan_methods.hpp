// Scan helpers other scenarios reuse.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <mmapxx/mmapxx.hpp>

#include "content.hpp"
#include "harness.hpp"
#include "io.hpp"

namespace mmbench {

// Scans a mapped file while both cores pre-fault it ahead of the consumer.
void scan_populate_two_cores(const mmapxx::MappedFile<mmapxx::Access::Read>& file, Sink& sink);

// A method that maps `path` with `options` and consumes the whole view.
Method map_and_scan(std::string name, std::string path, mmapxx::MapOptions options = {});

// for_each_chunk over `path`; `chose`, if set, receives the method it picked.
Method chunk_scan(std::string path, std::shared_ptr<mmapxx::ScanMethod> chose = nullptr);

// The one-shot scan group's methods ("read 128KiB" first: the baseline); `chose` receives the
// method for_each_chunk picked on its last run.
std::vector<Method> scan_methods(const std::string& path, std::size_t size,
                                 const std::vector<std::shared_ptr<Buffer>>& buffers,
                                 std::shared_ptr<mmapxx::ScanMethod> chose);

}  // namespace mmbench
