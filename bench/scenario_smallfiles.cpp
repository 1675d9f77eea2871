// Many small files (a tree like a source checkout): for each file size, the same total of bytes
// spread over many files, read with a 128 KiB read(2) loop, mapped, or through for_each_chunk,
// with one thread and with two (each takes every other file). Where mapping starts to win is a
// file size, measured, not a count of files (ripgrep's heuristic).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

namespace mmbench {

namespace {

using mmapxx::Access;
using mmapxx::MappedFile;

using Files = std::shared_ptr<std::vector<std::string>>;

// Runs one(path, sink) over every file, on one thread or split over two.
Method over_files(std::string name, Files files, int threads,
                  std::function<void(const std::string&, Sink&)> one) {
  return {std::move(name), [=](Sink& s) {
            if (threads == 1) {
              for (const std::string& f : *files) one(f, s);
              return;
            }
            Sink other{.checksum = s.checksum};
            std::thread helper([&] {
              for (std::size_t i = 1; i < files->size(); i += 2) one((*files)[i], other);
            });
            for (std::size_t i = 0; i < files->size(); i += 2) one((*files)[i], s);
            helper.join();
            s.value += other.value;
            s.crc ^= other.crc;
          }};
}

// A file of benchmark content, not synced on its own (one syncfs covers the whole tree).
void write_small(const std::string& path, std::size_t size, std::byte* scratch) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  fill_content(scratch, size, 0);
  write_all(fd.get(), scratch, size);
}

}  // namespace

void scenario_smallfiles(Context& ctx) {
  const Config& cfg = ctx.config;
  // Full: 64 MiB, tens of thousands of files at the small end (65,536 of 1 KiB).
  const std::size_t total = cfg.verify ? 1 * MiB : cfg.quick ? 4 * MiB : 64 * MiB;
  std::vector<std::size_t> sizes = {1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB};
  if (cfg.verify || cfg.quick) sizes = {4 * KiB, 64 * KiB, 1 * MiB};
  Buffer scratch(1 * MiB);
  const std::string tree = ctx.files.temp_path("tree");
  ::mkdir(tree.c_str(), 0700);
  for (std::size_t size : sizes) {
    check_stop();
    const std::size_t count = total / size;
    auto files = std::make_shared<std::vector<std::string>>();
    // 100 files per directory, as in a source tree.
    for (std::size_t i = 0; i < count; ++i) {
      const std::string dir = tree + "/" + size_label(size) + "-" + std::to_string(i / 100);
      if (i % 100 == 0) ::mkdir(dir.c_str(), 0700);
      files->push_back(dir + "/f" + std::to_string(i));
      write_small(files->back(), size, scratch.data());
    }
    // Clean pages, as every other benchmark file: writeback would run during the measurements.
    {
      Fd dir(tree, O_RDONLY | O_DIRECTORY);
      ::syncfs(dir.get());
    }
    std::uint64_t expected = expected_digest(0, size) * count;
    Group g{.scenario = "smallfiles",
            .case_name = std::to_string(count) + " files",
            .size = size,
            .state = "warm, just written",
            .unit = Unit::GBps,
            .work = static_cast<double>(total / size * size),
            .repeats = cfg.repeats(7),
            .expected = expected};
    std::vector<Method> methods;
    const auto read_loop = [](const std::string& f, Sink& s) {
      // One buffer per thread, made once.
      thread_local const Buffer buffer(128 * KiB);
      read_file(f, buffer, s);
    };
    for (int threads : {1, 2}) {
      const std::string t = threads == 1 ? "" : ", 2 threads";
      methods.push_back(over_files("read 128KiB" + t, files, threads, read_loop));
      // The same loop again: its ratio's spread is what noise is in this run, the yardstick for
      // "for_each_chunk is never slower than read by more than noise".
      if (threads == 1)
        methods.push_back(over_files("read 128KiB again (noise)", files, threads, read_loop));
      methods.push_back(
          over_files("mmapxx MappedFile" + t, files, threads, [](const std::string& f, Sink& s) {
            MappedFile<Access::Read> m(f);
            s.consume(m.data(), m.size());
          }));
      methods.push_back(over_files(
          "mmapxx for_each_chunk (auto)" + t, files, threads, [](const std::string& f, Sink& s) {
            mmapxx::for_each_chunk(
                f, [&](std::span<const std::byte> c) { s.consume(c.data(), c.size()); });
          }));
    }
    ctx.run(g, methods);
    for (const std::string& f : *files) ::unlink(f.c_str());
    for (std::size_t i = 0; i < count; i += 100)
      ::rmdir((tree + "/" + size_label(size) + "-" + std::to_string(i / 100)).c_str());
  }
  ::rmdir(tree.c_str());
}

}  // namespace mmbench
