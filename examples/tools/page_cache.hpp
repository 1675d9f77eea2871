// What mmtouch does to a file's pages: measure them, bring them in, drop them.
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

// Faults every page of the mapping in (MADV_POPULATE_READ, or one load per page on kernels
// before 5.14). A file truncated meanwhile is a Failure, never a SIGBUS.
void touch(const ReadMap& map, const std::string& name);

// mincore over the mapping. Since Linux 5.2 it reports the page cache only for files this
// process could open for writing; for others, only pages mapped here count (so does fincore).
FileResidency measure(const ReadMap& map, const std::string& name, std::uint64_t size);

}  // namespace mmtools
