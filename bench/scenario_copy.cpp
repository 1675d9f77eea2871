// Copy of a warm file: the mmcp tool against cp(1), a read/write loop, copy_file_range(2) and a
// mapping-to-mapping memcpy. Writeback is not waited for (none of the methods fsyncs), and the
// destination is deleted, untimed, before every run.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <mmapxx/mmapxx.hpp>

#include "io.hpp"
#include "scenarios.hpp"

extern char** environ;

namespace mmbench {

namespace {

void run_program(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start " + args[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(args[0] + " failed");
}

// Verify mode only: what landed in the destination.
void check_copy(Sink& s, const std::string& dst) {
  if (!s.checksum) return;
  Buffer buffer(1 << 20);
  read_file(dst, buffer, s);
}

std::string find_mmcp(const Config& cfg) {
  if (!cfg.mmcp.empty()) return cfg.mmcp;
  namespace fs = std::filesystem;
  // Built next to us: <build>/bench/mmbench and <build>/examples/tools/mmcp.
  const fs::path candidate =
      fs::path(cfg.self).parent_path() / ".." / "examples" / "tools" / "mmcp";
  std::error_code ec;
  return fs::exists(candidate, ec) ? fs::canonical(candidate, ec).string() : std::string();
}

}  // namespace

void scenario_copy(Context& ctx) {
  const std::size_t size = ctx.config.big();
  const std::string src = ctx.files.file(size, CacheState::Large);
  const std::string dst = ctx.files.temp_path("copy-destination");
  const std::string mmcp = find_mmcp(ctx.config);
  auto buffer = std::make_shared<Buffer>(256 * KiB);

  std::vector<Method> m;
  m.push_back({"cp", [=](Sink& s) {
                 run_program({"cp", src, dst});
                 check_copy(s, dst);
               }});
  if (!mmcp.empty())
    m.push_back({"mmcp", [=](Sink& s) {
                   run_program({mmcp, "-q", src, dst});
                   check_copy(s, dst);
                 }});
  else
    ctx.notes.push_back("copy: mmcp not found next to mmbench (give --mmcp PATH); skipped");
  m.push_back({"read/write 256KiB", [=](Sink& s) {
                 Fd in(src, O_RDONLY);
                 Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
                 while (true) {
                   const ssize_t r = ::read(in.get(), buffer->data(), buffer->size);
                   if (r < 0) throw std::runtime_error("read");
                   if (r == 0) break;
                   write_all(out.get(), buffer->data(), static_cast<std::size_t>(r));
                 }
                 check_copy(s, dst);
               }});
  m.push_back({"copy_file_range", [=](Sink& s) {
                 Fd in(src, O_RDONLY);
                 Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
                 for (std::size_t left = size; left > 0;) {
                   const ssize_t n =
                       ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
                   if (n <= 0) throw std::runtime_error("copy_file_range");
                   left -= static_cast<std::size_t>(n);
                 }
                 check_copy(s, dst);
               }});
  // Map only the source and write(2) from the mapping: one copy, no page faults on the
  // destination.
  m.push_back({"mmapxx map source + write", [=](Sink& s) {
                 {
                   mmapxx::MappedFile<mmapxx::Access::Read> in(src);
                   in.advise(mmapxx::Advice::Sequential);
                   Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
                   for (std::size_t off = 0; off < size; off += MiB)
                     write_all(out.get(), in.data() + off, std::min(MiB, size - off));
                 }
                 check_copy(s, dst);
               }});
  m.push_back({"mmapxx map+memcpy", [=](Sink& s) {
                 {
                   mmapxx::MappedFile<mmapxx::Access::Read> in(src);
                   mmapxx::MappedFile<mmapxx::Access::Write> out(
                       dst, {.creation = mmapxx::Creation::CreateOrTruncate, .initial_size = size});
                   std::memcpy(out.data(), in.data(), size);
                 }
                 check_copy(s, dst);
               }});

  Group g{.scenario = "copy",
          .case_name = "warm source",
          .size = size,
          .state = ctx.state_of(src, CacheState::Large),
          .unit = Unit::GBps,
          .work = static_cast<double>(size),
          .repeats = ctx.config.repeats(7),
          .expected = expected_digest(0, size)};
  g.timing.prepare = [dst] { ::unlink(dst.c_str()); };
  ctx.run(g, m);
  ::unlink(dst.c_str());
}

}  // namespace mmbench
