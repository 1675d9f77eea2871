// The strongest baselines a reader of a file could pick instead of mapping: O_DIRECT pread and
// io_uring (buffered and O_DIRECT) at queue depths 1, 8 and 32. io_uring needs liburing at build
// time (MMBENCH_HAVE_URING) and a kernel that allows it; O_DIRECT needs a file system that has
// it (not tmpfs). Whatever is missing is skipped with a note, never faked.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace mmbench {

// Random 4 KiB reads at `offsets` (multiples of 4 KiB): O_DIRECT pread, then io_uring buffered
// and O_DIRECT at depths 1, 8, 32. Appends to `methods`; adds a note for each part skipped.
void add_direct_random_methods(const std::string& path,
                               std::shared_ptr<std::vector<std::uint64_t>> offsets,
                               std::vector<Method>& methods, std::vector<std::string>& notes);

// Sequential whole-file reads: O_DIRECT read(2) 1 MiB, io_uring O_DIRECT 128 KiB at depth 8.
void add_direct_sequential_methods(const std::string& path, std::size_t size,
                                   std::vector<Method>& methods, std::vector<std::string>& notes);

// Whether O_DIRECT opens work for files in this directory's file system.
bool direct_io_works(const std::string& path);

}  // namespace mmbench
