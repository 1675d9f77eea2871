// Durable writes: the data is on disk before the clock stops. 4 KiB updates at random offsets
// and 4 KiB appends, each made durable on its own: msync(MS_SYNC) of a mapped update against
// pwrite + fdatasync. Every method writes the bytes the file already holds (its content is a
// function of the offset), so the file never changes and --verify reads the blocks back.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::MappedFile;
using mmapxx::SyncPolicy;

constexpr std::size_t block = 4096;

// Verify: the digest of the blocks at `offsets`, read back with pread.
void read_back(const std::string& path, const std::vector<std::uint64_t>& offsets, Sink& s) {
  if (!s.checksum) return;
  Fd fd(path, O_RDONLY);
  Buffer b(block);
  for (std::uint64_t o : offsets) {
    read_exact(fd.get(), b.data(), block, o);
    s.consume(b.data(), block);
  }
}

}  // namespace

void scenario_durable(Context& ctx) {
  const Config& cfg = ctx.config;
  const std::string fs = filesystem_type(ctx.files.path());
  const std::size_t size = cfg.verify ? 8 * MiB : 64 * MiB;
  const std::size_t ops = cfg.verify ? 16 : cfg.quick ? 20 : 200;
  const std::string path = ctx.files.temp_path("durable-file");
  write_content_file(path, size, MiB);
  {
    Fd fd(path, O_RDWR);
    ::fdatasync(fd.get());
  }
  std::mt19937_64 rng(46);
  std::uniform_int_distribution<std::uint64_t> pick(0, size / block - 1);
  auto offsets = std::make_shared<std::vector<std::uint64_t>>(ops);
  for (auto& o : *offsets) o = pick(rng) * block;
  auto data = std::make_shared<std::vector<Buffer>>();
  for (std::uint64_t o : *offsets) {
    data->emplace_back(block);
    fill_content(data->back().data(), block, o);
  }
  std::uint64_t expected = 0;
  for (std::uint64_t o : *offsets) expected += expected_digest(o, block);
  Group updates{.scenario = "durable",
                .case_name = "4KiB random updates",
                .size = size,
                .state = fs,
                .unit = Unit::NsPerOp,
                .work = static_cast<double>(ops),
                .repeats = cfg.repeats(5),
                .expected = expected};
  auto mapped = std::make_shared<MappedFile<Access::Write>>(path);
  ctx.run(updates,
          {{"pwrite + fdatasync",
            [=](Sink& s) {
              Fd fd(path, O_RDWR);
              for (std::size_t i = 0; i < offsets->size(); ++i) {
                if (::pwrite(fd.get(), (*data)[i].data(), block,
                             static_cast<off_t>((*offsets)[i])) != static_cast<ssize_t>(block) ||
                    ::fdatasync(fd.get()) != 0)
                  throw std::runtime_error("pwrite/fdatasync");
              }
              read_back(path, *offsets, s);
            }},
           {"mmapxx store + flush(Sync) 4KiB", [=](Sink& s) {
              for (std::size_t i = 0; i < offsets->size(); ++i) {
                const std::uint64_t o = (*offsets)[i];
                std::memcpy(mapped->data() + o, (*data)[i].data(), block);
                mapped->flush(SyncPolicy::Sync, o, block);
              }
              read_back(path, *offsets, s);
            }}});

  // Appends: the file grows by 4 KiB per durable append (the tail is cut off again untimed).
  const std::string log = ctx.files.temp_path("durable-log");
  Group appends{.scenario = "durable",
                .case_name = "4KiB appends",
                .size = ops * block,
                .state = fs,
                .unit = Unit::NsPerOp,
                .work = static_cast<double>(ops),
                .repeats = cfg.repeats(5),
                .expected = expected_digest(0, ops * block),
                .timing = {.prepare = [log] {
                  Fd fd(log, O_RDWR | O_CREAT | O_TRUNC);
                  ::fsync(fd.get());
                }}};
  auto contents = std::make_shared<Buffer>(ops * block);
  fill_content(contents->data(), ops * block, 0);
  ctx.run(appends, {{"write + fdatasync",
                     [=](Sink& s) {
                       Fd fd(log, O_WRONLY | O_APPEND);
                       for (std::size_t i = 0; i < ops; ++i)
                         if (::write(fd.get(), contents->data() + i * block, block) !=
                                 static_cast<ssize_t>(block) ||
                             ::fdatasync(fd.get()) != 0)
                           throw std::runtime_error("write/fdatasync");
                       if (s.checksum) read_file(log, Buffer(block), s);
                     }},
                    {"mmapxx resize + store + flush(Sync)", [=](Sink& s) {
                       MappedFile<Access::Write> f(log);
                       for (std::size_t i = 0; i < ops; ++i) {
                         f.resize((i + 1) * block);
                         std::memcpy(f.data() + i * block, contents->data() + i * block, block);
                         f.flush(SyncPolicy::Sync, i * block, block);
                       }
                       if (s.checksum) read_file(log, Buffer(block), s);
                     }}});
  mapped.reset();
  ::unlink(path.c_str());
  ::unlink(log.c_str());
}

}  // namespace mmbench
