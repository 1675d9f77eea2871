// What mmtouch does to a file's pages: count them, bring them in, drop them, lock them. Memory
// stays bounded whatever the file's size: counts come from mmapxx::page_cache_stats (cachestat,
// or mincore over 1 GiB windows), touching maps 64 MiB windows one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "mmapxx/mapped_file.hpp"
#include "residency_report.hpp"

namespace mmtools {

using ReadMap = mmapxx::MappedFile<mmapxx::Access::Read>;

// Every call works on bytes [begin, end) of the file: begin is page-aligned, end at most the size
// (mmtouch -p; the whole file otherwise).

// Writes back dirty pages (fdatasync), then asks the kernel to drop the range's clean pages
// (POSIX_FADV_DONTNEED). Pages mapped by any process, this one included, stay: call it before
// mapping the file.
void evict(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end);

// Brings every page of the range into the page cache, 64 MiB mapped window at a time
// (MADV_POPULATE_READ, or one load per page on kernels before 5.14), calling progress(bytes done)
// after each window. A file truncated meanwhile is a Failure, never a SIGBUS.
void touch(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
           const std::function<void(std::uint64_t)>& progress);

// Maps the range and mlocks it in 64 MiB steps (each mlock holds the process's mm lock for one
// step only). The pages stay locked while the returned mapping lives.
ReadMap lock(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end);

// Counts the range's pages in the page cache; with `chart`, also per chart character (60 more
// counts). cachestat sees the whole page cache; the mincore fallback sees it only for files this
// process could open for writing, otherwise only pages mapped here (so does fincore).
FileResidency measure(int fd, const std::string& name, std::uint64_t begin, std::uint64_t end,
                      bool chart);

}  // namespace mmtools
