#include "residency_report.hpp"

#include <algorithm>
#include <cstdio>

#include "mmapxx/page.hpp"
#include "size_arg.hpp"

namespace mmtools {

namespace {

struct Totals {
  std::uint64_t size = 0;
  std::size_t pages = 0;
  std::size_t resident = 0;
  std::uint64_t resident_bytes = 0;
};

Totals totals_of(const std::vector<FileResidency>& files) {
  Totals t;
  for (const auto& f : files) {
    t.size += f.size;
    t.pages += f.pages.size();
    t.resident += f.resident;
    t.resident_bytes += f.resident_bytes;
  }
  return t;
}

double percent(std::size_t part, std::size_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

void print_row(std::size_t resident, std::size_t pages, std::uint64_t resident_bytes,
               std::uint64_t size, const std::string& name) {
  const std::string bytes = human_size(resident_bytes) + "/" + human_size(size);
  std::printf("%10zu/%-10zu %23s %6.1f%%  %s\n", resident, pages, bytes.c_str(),
              percent(resident, pages), name.c_str());
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

std::string residency_chart(const std::vector<std::uint8_t>& pages, std::size_t width) {
  if (pages.empty()) return {};
  const std::size_t per_char = (pages.size() + width - 1) / width;
  std::string bar;
  for (std::size_t first = 0; first < pages.size(); first += per_char) {
    const std::size_t last = std::min(first + per_char, pages.size());
    const auto in = static_cast<std::size_t>(
        std::count(pages.begin() + static_cast<std::ptrdiff_t>(first),
                   pages.begin() + static_cast<std::ptrdiff_t>(last), true));
    if (in == last - first)
      bar += 'o';
    else if (in == 0)
      bar += '.';
    else
      bar += static_cast<char>('0' + std::clamp<std::size_t>(in * 10 / (last - first), 1, 9));
  }
  return bar;
}

void print_table(const std::vector<FileResidency>& files, bool chart) {
  std::printf("%21s %23s %7s  %s\n", "RESIDENT/PAGES", "RESIDENT/SIZE", "%", "FILE");
  for (const auto& f : files) {
    print_row(f.resident, f.pages.size(), f.resident_bytes, f.size, f.path);
    if (chart && !f.pages.empty()) {
      const std::size_t per_char = (f.pages.size() + 59) / 60;
      std::printf("%21s [%s] %zu page%s/char\n", "", residency_chart(f.pages).c_str(), per_char,
                  per_char == 1 ? "" : "s");
    }
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
        "%s\n  {\"path\": %s, \"size\": %llu, \"pages\": %zu, \"resident_pages\": %zu, "
        "\"resident_bytes\": %llu}",
        i == 0 ? "" : ",", json_string(f.path).c_str(), static_cast<unsigned long long>(f.size),
        f.pages.size(), f.resident, static_cast<unsigned long long>(f.resident_bytes));
  }
  const Totals t = totals_of(files);
  std::printf(
      "\n], \"total\": {\"files\": %zu, \"size\": %llu, \"pages\": %zu, \"resident_pages\": %zu, "
      "\"resident_bytes\": %llu}}\n",
      files.size(), static_cast<unsigned long long>(t.size), t.pages, t.resident,
      static_cast<unsigned long long>(t.resident_bytes));
}

}  // namespace mmtools
