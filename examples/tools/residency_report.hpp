// How mmtouch shows page-cache residency: a table (with an optional per-file chart) or JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mmtools {

struct FileResidency {
  std::string path;
  std::uint64_t size = 0;
  std::vector<std::uint8_t> pages;  // one per page of the file, true when in the page cache
  std::size_t resident = 0;
  std::uint64_t resident_bytes = 0;  // the last page counts only up to end of file
};

// A bar of at most `width` characters; each covers the same number of pages:
// 'o' all resident, '.' none resident, '1'..'9' that many tenths (rounded down, at least 1).
std::string residency_chart(const std::vector<std::uint8_t>& pages, std::size_t width = 60);

void print_table(const std::vector<FileResidency>& files, bool chart);
void print_json(const std::vector<FileResidency>& files);

}  // namespace mmtools
