#include "residency_report.hpp"

#include <algorithm>
#include <cstdio>

#include "mmapxx/page.hpp"
#include "size_arg.hpp"

namespace mmtools {

namespace {

struct Totals {
  std::uint64_t size = 0;
  std::uint64_t pages = 0;
  std::uint64_t resident = 0;
  std::uint64_t resident_bytes = 0;
};

Totals totals_of(const std::vector<FileResidency>& files) {
  Totals t;
  for (const auto& f : files) {
    t.size += f.size;
    t.pages += f.pages;
    t.resident += f.resident;
    t.resident_bytes += f.resident_bytes;
  }
  return t;
}

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

void print_row(std::uint64_t resident, std::uint64_t pages, std::uint64_t resident_bytes,
               std::uint64_t size, const std::string& name) {
  const std::string bytes = human_size(resident_bytes) + "/" + human_size(size);
  std::printf("%10llu/%-10llu %23s %6.1f%%  %s\n", static_cast<unsigned long long>(resident),
              static_cast<unsigned long long>(pages), bytes.c_str(), percent(resident, pages),
              name.c_str());
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

char chart_char(std::uint64_t resident, std::uint64_t pages) noexcept {
  if (resident == pages) return 'o';
  if (resident == 0) return '.';
  return static_cast<char>('0' + std::clamp<std::uint64_t>(resident * 10 / pages, 1, 9));
}

void print_table(const std::vector<FileResidency>& files, bool chart) {
  std::printf("%21s %23s %7s  %s\n", "RESIDENT/PAGES", "RESIDENT/SIZE", "%", "FILE");
  for (const auto& f : files) {
    print_row(f.resident, f.pages, f.resident_bytes, f.size, f.path);
    if (chart && f.pages != 0)
      std::printf("%21s [%s] %llu page%s/char\n", "", f.chart.c_str(),
                  static_cast<unsigned long long>(f.pages_per_char),
                  f.pages_per_char == 1 ? "" : "s");
  }
  if (files.size() > 1) {
    const Totals t = totals_of(files);
    print_row(t.resident, t.pages, t.resident_bytes, t.size,
              "total (" + std::to_string(files.size()) + " files)");
  }
}

void print_json(const std::vector<FileResidency>& files) {
  std::printf("{\"page_size\": %zu, \"files\": [", mmapxx::page_size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    std::printf(
        "%s\n  {\"path\": %s, \"size\": %llu, \"pages\": %llu, \"resident_pages\": %llu, "
        "\"resident_bytes\": %llu}",
        i == 0 ? "" : ",", json_string(f.path).c_str(), static_cast<unsigned long long>(f.size),
        static_cast<unsigned long long>(f.pages), static_cast<unsigned long long>(f.resident),
        static_cast<unsigned long long>(f.resident_bytes));
  }
  const Totals t = totals_of(files);
  std::printf(
      "\n], \"total\": {\"files\": %zu, \"size\": %llu, \"pages\": %llu, "
      "\"resident_pages\": %llu, \"resident_bytes\": %llu}}\n",
      files.size(), static_cast<unsigned long long>(t.size),
      static_cast<unsigned long long>(t.pages), static_cast<unsigned long long>(t.resident),
      static_cast<unsigned long long>(t.resident_bytes));
}

}  // namespace mmtools
