// What mmtouch does to a file's pages: count them, bring them in, drop them, lock them. Memory
// stays bounded whatever the file's size: counts come from mmapxx::page_cache_stats (cachestat,
// or mincore over 1 GiB windows), touching maps 64 MiB windows one at a time.
#pragma once

#include <string>

#include "mmapxx/mapped_file.hpp"
#include "residency_report.hpp"

namespace mmtools {

using ReadMap = mmapxx::MappedFile<mmapxx::Access::Read>;

// Writes back dirty pages (fdatasync), then asks the kernel to drop the file's clean pages
// (POSIX_FADV_DONTNEED). Pages mapped by any process, this one included, stay: call it before
// mapping the file.
void evict(int fd, const std::string& name);

// Brings every page of the first `size` bytes into the page cache, 64 MiB mapped window at a time
// (MADV_POPULATE_READ, or one load per page on kernels before 5.14). A file truncated meanwhile
// is a Failure, never a SIGBUS.
void touch(int fd, const std::string& name, std::uint64_t size);

// Maps the whole file and mlocks it in 64 MiB steps (each mlock holds the process's mm lock for
// one step only). The pages stay locked while the returned mapping lives.
ReadMap lock(int fd, const std::string& name);

// Counts the file's pages in the page cache; with `chart`, also per chart character (60 more
// counts). cachestat sees the whole page cache; the mincore fallback sees it only for files this
// process could open for writing, otherwise only pages mapped here (so does fincore).
FileResidency measure(int fd, const std::string& name, std::uint64_t size, bool chart);

}  // namespace mmtools
