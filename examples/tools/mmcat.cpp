// mmcat FILE OFFSET [LENGTH]: writes bytes [OFFSET, OFFSET+LENGTH) of FILE to stdout through
// mapped windows: the mmap(2) man page's example program, done right.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Write bytes [OFFSET, OFFSET+LENGTH) of FILE to standard output, read through a "
      "memory mapping. Sizes are bytes or take a K, M or G suffix (powers of 1024).",
      "mmcat");
  std::string path, offset_text, length_text;
  app.add_option("FILE", path, "File to read")->required();
  app.add_option("OFFSET", offset_text, "First byte to write")->required();
  app.add_option("LENGTH", length_text, "Bytes to write (clipped at end of file; default: to end)");
  return mmtools::run(app, argc, argv, [&] {
    const std::uint64_t offset = size_argument("OFFSET", offset_text);
    const auto length = length_text.empty()
                            ? std::optional<std::uint64_t>{}
                            : std::optional<std::uint64_t>{size_argument("LENGTH", length_text)};
    struct stat st {};
    const mmtools::UniqueFd fd = mmtools::open_regular(path, st);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (offset >= size)
      throw mmtools::Failure(path + ": offset " + std::to_string(offset) +
                             " is at or past end of file (size " + std::to_string(size) + ")");
    const std::uint64_t count = std::min(length.value_or(size - offset), size - offset);
    // Holes are written as zeros without being mapped: faulting zero pages in one at a time is
    // what makes reading a sparse file slow.
    std::uint64_t written = offset;
    const auto zeros_until = [&](std::uint64_t end) {
      static const std::byte zero[mmtools::chunk_size] = {};
      while (written < end) {
        const auto n =
            static_cast<std::size_t>(std::min<std::uint64_t>(sizeof zero, end - written));
        write_out({zero, n});
        written += n;
      }
    };
    const auto to_stdout = [](std::span<const std::byte> chunk, std::uint64_t) {
      write_out(chunk);
    };
    mmtools::for_each_data_extent(fd.get(), path, offset, offset + count,
                                  [&](std::uint64_t at, std::uint64_t length) {
                                    zeros_until(at);
                                    mmtools::stream_range(fd.get(), path, at, length, to_stdout);
                                    written = at + length;
                                  });
    zeros_until(offset + count);
    return 0;
  });
}
