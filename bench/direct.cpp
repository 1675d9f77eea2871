#include "direct.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#ifdef MMBENCH_HAVE_URING
#include <liburing.h>
#endif

#include "io.hpp"

namespace mmbench {

namespace {

constexpr std::size_t block = 4096;
constexpr std::size_t uring_chunk = 128 << 10;  // sequential io_uring reads

#ifdef MMBENCH_HAVE_URING
// One ring per method, made when the method list is built (outside the timing).
struct Ring {
  io_uring ring{};
  explicit Ring(unsigned entries) {
    const int r = io_uring_queue_init(entries, &ring, 0);
    if (r < 0) throw std::system_error(-r, std::generic_category(), "io_uring_queue_init");
  }
  ~Ring() { io_uring_queue_exit(&ring); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
};

// Reads `count` pieces of `piece` bytes, piece i at offset_of(i), keeping up to `depth` in flight,
// and feeds each completed piece to the sink (completion order: the checksum is order-free).
template <class OffsetOf>
void uring_reads(Ring& r, int fd, Buffer& buffers, unsigned depth, std::size_t count,
                 std::size_t piece, OffsetOf offset_of, Sink& s) {
  std::vector<unsigned> free_slots;
  for (unsigned i = 0; i < depth; ++i) free_slots.push_back(i);
  std::size_t next = 0, done = 0;
  unsigned inflight = 0;
  while (done < count) {
    while (inflight < depth && next < count) {
      io_uring_sqe* sqe = io_uring_get_sqe(&r.ring);
      if (sqe == nullptr) break;
      const unsigned slot = free_slots.back();
      free_slots.pop_back();
      io_uring_prep_read(sqe, fd, buffers.data() + slot * piece, static_cast<unsigned>(piece),
                         offset_of(next));
      sqe->user_data = slot;
      ++inflight;
      ++next;
    }
    int rc = io_uring_submit_and_wait(&r.ring, 1);
    if (rc < 0 && rc != -EINTR)
      throw std::system_error(-rc, std::generic_category(), "io_uring_submit_and_wait");
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&r.ring, &cqe) == 0) {
      const auto slot = static_cast<unsigned>(cqe->user_data);
      const int res = cqe->res;
      io_uring_cqe_seen(&r.ring, cqe);
      if (res != static_cast<int>(piece))
        throw std::system_error(res < 0 ? -res : EIO, std::generic_category(),
                                "io_uring read came back short");
      s.consume(buffers.data() + slot * piece, piece);
      free_slots.push_back(slot);
      --inflight;
      ++done;
    }
  }
}
#endif

}  // namespace

bool direct_io_works(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void add_direct_random_methods(const std::string& path,
                               std::shared_ptr<std::vector<std::uint64_t>> offsets,
                               std::vector<Method>& methods, std::vector<std::string>& notes) {
  const bool direct = direct_io_works(path);
  if (direct) {
    auto buffer = std::make_shared<Buffer>(block);
    methods.push_back({"pread 4KiB O_DIRECT", [=](Sink& s) {
                         Fd fd(path, O_RDONLY | O_DIRECT);
                         for (std::uint64_t o : *offsets) {
                           read_exact(fd.get(), buffer->data(), block, o);
                           s.consume(buffer->data(), block);
                         }
                       }});
  } else {
    notes.push_back("O_DIRECT: not supported where " + path + " lives; O_DIRECT rows skipped");
  }
#ifdef MMBENCH_HAVE_URING
  try {
    for (bool odirect : {false, true}) {
      if (odirect && !direct) continue;
      for (unsigned depth : {1u, 8u, 32u}) {
        auto ring = std::make_shared<Ring>(depth);
        auto buffers = std::make_shared<Buffer>(depth * block);
        const int flags = O_RDONLY | (odirect ? O_DIRECT : 0);
        methods.push_back({std::string("io_uring ") + (odirect ? "O_DIRECT" : "buffered") + " QD" +
                               std::to_string(depth),
                           [=](Sink& s) {
                             Fd fd(path, flags);
                             const auto& o = *offsets;
                             uring_reads(
                                 *ring, fd.get(), *buffers, depth, o.size(), block,
                                 [&](std::size_t i) { return o[i]; }, s);
                           }});
      }
    }
  } catch (const std::system_error& e) {
    notes.push_back(std::string("io_uring: ") + e.what() + "; io_uring rows skipped");
  }
#else
  notes.push_back("io_uring: mmbench was built without liburing; io_uring rows skipped");
#endif
}

void add_direct_sequential_methods(const std::string& path, std::size_t size,
                                   std::vector<Method>& methods, std::vector<std::string>& notes) {
  if (!direct_io_works(path)) {
    notes.push_back("O_DIRECT: not supported where " + path + " lives; O_DIRECT rows skipped");
    return;
  }
  constexpr std::size_t piece = 1 << 20;
  auto buffer = std::make_shared<Buffer>(piece);
  // Whole pieces only: every benchmark file is a multiple of 1 MiB.
  methods.push_back({"read 1MiB O_DIRECT", [=](Sink& s) {
                       Fd fd(path, O_RDONLY | O_DIRECT);
                       for (std::size_t done = 0; done < size; done += piece) {
                         read_exact(fd.get(), buffer->data(), piece, done);
                         s.consume(buffer->data(), piece);
                       }
                     }});
#ifdef MMBENCH_HAVE_URING
  try {
    constexpr unsigned depth = 8;
    auto ring = std::make_shared<Ring>(depth);
    auto buffers = std::make_shared<Buffer>(depth * uring_chunk);
    methods.push_back({"io_uring O_DIRECT 128KiB QD8", [=](Sink& s) {
                         Fd fd(path, O_RDONLY | O_DIRECT);
                         uring_reads(
                             *ring, fd.get(), *buffers, depth, size / uring_chunk, uring_chunk,
                             [](std::size_t i) { return i * uring_chunk; }, s);
                       }});
  } catch (const std::system_error& e) {
    notes.push_back(std::string("io_uring: ") + e.what() + "; io_uring rows skipped");
  }
#endif
}

}  // namespace mmbench
