#include "mapped_reader.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <new>

#include "mmapxx/mmapxx.hpp"
#include "tool_main.hpp"

namespace mmtools {

namespace {

struct Free {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};

std::uint64_t current_size(int fd, const std::string& name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_errno(name, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

void stream_range(int fd, const std::string& name, std::uint64_t offset, std::uint64_t length,
                  const ChunkSink& sink) {
  // Page-aligned, so both copies (out of the mapping, into the page cache) run on aligned lines.
  const std::unique_ptr<std::byte, Free> buffer(
      static_cast<std::byte*>(std::aligned_alloc(4096, chunk_size)));
  if (!buffer) throw std::bad_alloc();
  const std::uint64_t end = offset + length;
  for (std::uint64_t pos = offset; pos < end;) {
    const std::size_t span =
        static_cast<std::size_t>(std::min<std::uint64_t>(window_size, end - pos));
    // Checked first so a file that shrank between windows is reported as what it is, not as a
    // range error from the mapping.
    if (const std::uint64_t size = current_size(fd, name); size < pos + span)
      fail_truncated(name, std::max(size, pos), "end of file moved");
    const mmapxx::MappedFile<mmapxx::Access::Read> window(fd, {.offset = pos, .length = span},
                                                          name);
    window.advise(mmapxx::Advice::Sequential);
    pause_for_test();
    for (std::size_t done = 0; done < span;) {
      const std::size_t n = std::min(chunk_size, span - done);
      mmapxx::FaultInfo fault;
      if (const auto ec =
              mmapxx::copy_from(window.bytes().subspan(done, n), {buffer.get(), n}, fault)) {
        if (ec != std::errc::bad_address) throw mmapxx::Error("copy_from", name, ec);
        fail_truncated(name, fault.file_offset, fault.signal == SIGBUS ? "SIGBUS" : "SIGSEGV");
      }
      sink({buffer.get(), n}, pos + done);
      done += n;
    }
    pos += span;
  }
}

}  // namespace mmtools
