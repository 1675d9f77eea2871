// How mmtouch shows page-cache residency: a table (with an optional per-file chart) or JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mmtools {

// Counts only, whatever the file's size: nothing here grows with the number of pages.
struct FileResidency {
  std::string path;
  std::uint64_t size = 0;
  std::uint64_t pages = 0;
  std::uint64_t resident = 0;
  std::uint64_t resident_bytes = 0;  // the last page counts only up to end of file
  std::string chart;                 // residency_chart of the file (with -v only)
  std::uint64_t pages_per_char = 0;
};

// One chart character for `resident` pages out of `pages`: 'o' all resident, '.' none,
// '1'..'9' that many tenths (rounded down, at least 1).
char chart_char(std::uint64_t resident, std::uint64_t pages) noexcept;

void print_table(const std::vector<FileResidency>& files, bool chart);
void print_json(const std::vector<FileResidency>& files);

}  // namespace mmtools
