// mmcat FILE OFFSET [LENGTH [OFFSET [LENGTH]]...]: writes bytes [OFFSET, OFFSET+LENGTH) of FILE,
// range after range, to stdout through mapped windows: the mmap(2) man page's example, done right.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <vector>

#include "extents.hpp"
#include "file_handle.hpp"
#include "mapped_reader.hpp"
#include "size_arg.hpp"
#include "tool_main.hpp"

namespace {

std::uint64_t size_argument(const char* what, const std::string& text) {
  if (const auto value = mmtools::parse_size(text)) return *value;
  throw mmtools::UsageError(std::string(what) + " '" + text +
                            "' is not a size (bytes, or a number with K, M or G)");
}

void write_out(std::span<const std::byte> chunk) {
  while (!chunk.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) throw mmtools::QuietFailure{};  // like `cat | head`, quietly
    if (n < 0) mmtools::fail_errno("standard output", errno);
    chunk = chunk.subspan(static_cast<std::size_t>(n));
  }
}

struct Range {
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> length;  // to end of file when absent (last range only)
};

// OFFSET [LENGTH] pairs; only the last LENGTH may be left out.
std::vector<Range> parse_ranges(const std::string& first_offset,
                                const std::vector<std::string>& rest) {
  std::vector<Range> ranges{{size_argument("OFFSET", first_offset), std::nullopt}};
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i % 2 == 0)
      ranges.back().length = size_argument("LENGTH", rest[i]);
    else
      ranges.push_back({size_argument("OFFSET", rest[i]), std::nullopt});
  }
  return ranges;
}

// Writes [offset, offset+count) of the open file; holes are written as zeros without being
// mapped: faulting zero pages in one at a time is what makes reading a sparse file slow.
void write_range(int fd, const std::string& path, std::uint64_t offset, std::uint64_t count) {
  std::uint64_t written = offset;
  const auto zeros_until = [&](std::uint64_t end) {
    static const std::byte zero[mmtools::chunk_size] = {};
    while (written < end) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof zero, end - written));
      write_out({zero, n});
      written += n;
    }
  };
  const auto to_stdout = [](std::span<const std::byte> chunk, std::uint64_t) { write_out(chunk); };
  mmtools::for_each_data_extent(fd, path, offset, offset + count,
                                [&](std::uint64_t at, std::uint64_t length) {
                                  zeros_until(at);
                                  mmtools::stream_range(fd, path, at, length, to_stdout);
                                  written = at + length;
                                });
  zeros_until(offset + count);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Write bytes [OFFSET, OFFSET+LENGTH) of FILE to standard output, read through a "
      "memory mapping. Sizes are bytes or take a K, M or G suffix (powers of 1024).",
      "mmcat");
  app.footer(
      "Several ranges: mmcat FILE OFFSET LENGTH [OFFSET LENGTH]... writes them one after the "
      "other; only the last LENGTH may be left out. FILE cannot be - (standard input): a pipe "
      "cannot be mapped.\n");
  std::string path, offset_text;
  std::vector<std::string> rest;
  app.add_option("FILE", path, "File to read (a regular file; not -)")->required();
  app.add_option("OFFSET", offset_text, "First byte to write")->required();
  app.add_option("LENGTH", rest,
                 "Bytes to write (clipped at end of file; default: to end), then more OFFSET "
                 "LENGTH pairs");
  return mmtools::run(app, argc, argv, [&] {
    if (path == "-")
      throw mmtools::UsageError(
          "cannot read standard input ('-'): mmcat reads through a memory mapping, and a pipe "
          "cannot be mapped (for a file named '-', write ./-)");
    const std::vector<Range> ranges = parse_ranges(offset_text, rest);
    struct stat st {};
    const mmtools::UniqueFd fd = mmtools::open_regular(path, st);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    // Every range is checked before the first byte is written.
    for (const Range& range : ranges) {
      if (range.offset >= size)
        throw mmtools::Failure(path + ": offset " + std::to_string(range.offset) +
                               " is at or past end of file (size " + std::to_string(size) + ")");
    }
    for (const Range& range : ranges) {
      const std::uint64_t count =
          std::min(range.length.value_or(size - range.offset), size - range.offset);
      write_range(fd.get(), path, range.offset, count);
    }
    return 0;
  });
}
