// mmcp: byte-identical copies of every size, sparse files kept sparse, cp's rules for the
// destination, refusals, and never a half-written destination or a leftover temporary.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <random>
#include <thread>
#include <utility>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

std::vector<std::pair<off_t, off_t>> data_extents(const std::string& path) {
  std::vector<std::pair<off_t, off_t>> extents;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  for (off_t pos = 0;;) {
    const off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) break;
    const off_t hole = ::lseek(fd, data, SEEK_HOLE);
    extents.emplace_back(data, hole);
    pos = hole;
  }
  ::close(fd);
  return extents;
}

std::string read_range(const std::string& path, off_t offset, std::size_t length) {
  std::string s(length, '\0');
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::pread(fd, s.data(), length, offset) == static_cast<ssize_t>(length));
  ::close(fd);
  return s;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("mmcp copies files of every size byte for byte", "[tools][mmcp]") {
  ScratchDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4095}, std::size_t{4096},
                           std::size_t{4097}, std::size_t{10} << 20}) {
    INFO("size " << size);
    const std::string src = dir.file("src" + std::to_string(size));
    const std::string dst = dir.file("dst" + std::to_string(size));
    write_file(src, random_bytes(size));
    const ToolResult r = run_tool(dir, {MMCP, src, dst});
    CHECK(r.exited(0));
    CHECK(r.err.empty());
    CHECK(read_file(dst) == read_file(src));
  }
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp keeps a 5 GiB sparse file sparse and equal", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("sparse");
  const std::string dst = dir.file("copy");
  const off_t size = off_t{5} << 30;
  const std::vector<off_t> where = {0, (off_t{1} << 30) + 123, (off_t{4} << 30) + 5000, size - 100};
  {
    const int fd = ::open(src.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, size) == 0);
    for (std::size_t i = 0; i < where.size(); ++i) {
      const std::string block =
          random_bytes(i + 1 == where.size() ? 100 : 65536, static_cast<unsigned>(i));
      REQUIRE(::pwrite(fd, block.data(), block.size(), where[i]) ==
              static_cast<ssize_t>(block.size()));
    }
    REQUIRE(::fsync(fd) == 0);
    ::close(fd);
  }
  const ToolResult r = run_tool(dir, {MMCP, src, dst});
  REQUIRE(r.exited(0));
  const struct stat st = stat_of(dst);
  CHECK(st.st_size == size);
  CHECK(st.st_blocks * 512 < (off_t{4} << 20));  // a few data blocks, not 5 GiB
  const auto extents = data_extents(src);
  REQUIRE(extents.size() >= where.size());
  CHECK(data_extents(dst) == extents);
  for (const auto& [begin, end] : extents) {
    INFO("extent " << begin << ".." << end);
    const auto length = static_cast<std::size_t>(end - begin);
    CHECK(read_range(dst, begin, length) == read_range(src, begin, length));
  }
  CHECK(read_range(dst, off_t{3} << 30, 4096) == std::string(4096, '\0'));
}

TEST_CASE("mmcp gives a new file SRC's mode and keeps an existing file's mode", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, "mode test");
  REQUIRE(::chmod(src.c_str(), 0604) == 0);
  const mode_t mask = ::umask(0022);
  CHECK(run_tool(dir, {MMCP, src, dir.file("new")}).exited(0));
  CHECK((stat_of(dir.file("new")).st_mode & 07777) == 0604);
  write_file(dir.file("old"), "old contents, longer than the new");
  REQUIRE(::chmod(dir.file("old").c_str(), 0640) == 0);
  CHECK(run_tool(dir, {MMCP, src, dir.file("old")}).exited(0));
  CHECK((stat_of(dir.file("old")).st_mode & 07777) == 0640);
  CHECK(read_file(dir.file("old")) == "mode test");
  ::umask(mask);
}

TEST_CASE("mmcp into a directory writes DIR/basename(SRC)", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("name.txt");
  write_file(src, "into a directory");
  std::filesystem::create_directory(dir.file("sub"));
  CHECK(run_tool(dir, {MMCP, src, dir.file("sub")}).exited(0));
  CHECK(read_file(dir.file("sub/name.txt")) == "into a directory");
}

TEST_CASE("mmcp refuses the same file, directories, FIFOs and devices", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, "precious");
  REQUIRE(::link(src.c_str(), dir.file("hardlink").c_str()) == 0);
  REQUIRE(::symlink(src.c_str(), dir.file("symlink").c_str()) == 0);
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  std::filesystem::create_directory(dir.file("sub"));

  for (const std::string& same :
       {src, dir.file("hardlink"), dir.file("symlink"), dir.path().string()}) {
    INFO("destination " << same);
    const ToolResult r = run_tool(dir, {MMCP, src, same});
    CHECK(r.exited(1));
    CHECK(r.err.find("are the same file") != std::string::npos);
  }
  const std::pair<std::string, std::string> refused[] = {
      {dir.file("sub"), "not a regular file (directory)"},
      {dir.file("fifo"), "not a regular file (FIFO)"},
      {"/dev/null", "not a regular file (character device)"},
  };
  for (const auto& [source, message] : refused) {
    INFO("source " << source);
    const ToolResult r = run_tool(dir, {MMCP, source, dir.file("out")});
    CHECK(r.exited(1));
    CHECK(r.err.find(message) != std::string::npos);
  }
  CHECK(run_tool(dir, {MMCP, src, dir.file("fifo")}).exited(1));
  CHECK(run_tool(dir, {MMCP, dir.file("missing"), dir.file("out")}).exited(1));
  CHECK(run_tool(dir, {MMCP, src, dir.file("no/such/dir/out")}).exited(1));
  CHECK(run_tool(dir, {MMCP, src}).exited(2));
  CHECK(read_file(src) == "precious");
  CHECK_FALSE(std::filesystem::exists(dir.file("out")));
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp of a file truncated under it fails with exit 1 and leaves nothing behind",
          "[tools][mmcp][truncation]") {
  const std::pair<std::string, std::string> methods[] = {
      {"", "end of file moved at offset 4096"},  // the default: copy_file_range
      {"buffer", "SIGBUS at offset 4096"},
      {"write", "MADV_POPULATE_READ: EFAULT at offset 4096"},
      {"copy_file_range", "end of file moved at offset 4096"},
  };
  for (const auto& [method, how] : methods) {
    INFO("method '" << method << "'");
    ScratchDir dir;
    const std::string src = dir.file("src");
    const std::string dst = dir.file("dst");
    write_file(src, random_bytes(8 << 20));
    write_file(dst, "the old destination");
    std::vector<std::string> argv = {MMCP, src, dst};
    if (!method.empty()) argv.insert(argv.begin() + 1, "--method=" + method);
    ToolRun run(dir, argv, true);
    REQUIRE(run.wait_paused());
    CHECK(dir.hidden().empty());  // ext4: an unnamed O_TMPFILE while it runs
    REQUIRE(::truncate(src.c_str(), 4096) == 0);
    run.resume();
    const ToolResult r = run.finish();
    CHECK_FALSE(WIFSIGNALED(r.status));
    CHECK(r.exited(1));
    CHECK(r.err == "mmcp: " + src + ": file was truncated while reading (" + how + ")\n");
    CHECK(read_file(dst) == "the old destination");
    CHECK(dir.hidden().empty());
  }
}

TEST_CASE("mmcp interrupted by SIGINT or SIGTERM leaves nothing", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, random_bytes(1 << 20));
  for (int sig : {SIGINT, SIGTERM}) {
    ToolRun run(dir, {MMCP, src, dir.file("dst")}, true);
    REQUIRE(run.wait_paused());
    CHECK(dir.hidden().empty());  // ext4: the copy has no name until it is complete
    run.signal(sig);
    run.resume();
    const ToolResult r = run.finish();
    CHECK(WIFSIGNALED(r.status));
    CHECK(WTERMSIG(r.status) == sig);
    CHECK(dir.hidden().empty());
    CHECK_FALSE(std::filesystem::exists(dir.file("dst")));
  }
}

TEST_CASE("every mmcp copy method copies sparse and dense files exactly", "[tools][mmcp]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  {
    const std::string block = random_bytes(3 << 20, 11);
    const int fd = ::open(src.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, block.data(), block.size(), 1 << 20) ==
            static_cast<ssize_t>(block.size()));
    REQUIRE(::pwrite(fd, block.data(), 5000, 70 << 20) == 5000);
    REQUIRE(::ftruncate(fd, 90 << 20) == 0);
    ::close(fd);
  }
  for (const std::string method : {"buffer", "write", "copy_file_range"})
    for (const bool preallocate : {false, true}) {
      INFO(method << (preallocate ? " --preallocate" : ""));
      const std::string dst = dir.file("dst-" + method + (preallocate ? "-p" : ""));
      std::vector<std::string> argv = {MMCP, "--method", method, src, dst};
      if (preallocate) argv.insert(argv.begin() + 1, "--preallocate");
      const ToolResult r = run_tool(dir, argv);
      CHECK(r.exited(0));
      CHECK(r.err.empty());
      CHECK(same_contents(dst, src));
      CHECK(data_extents(dst) == data_extents(src));
    }
  CHECK(run_tool(dir, {MMCP, "--method", "nope", src, dir.file("x")}).exited(2));
  CHECK(dir.hidden().empty());
}

namespace {

// Kills mmcp at `count` random instants of a copy of `size` bytes in `where`, and checks after
// each kill: the destination is absent or complete, and nothing else is in the directory.
void kill_at_random(const std::filesystem::path& where, std::size_t size, int count) {
  TempDir dir(where);
  ScratchDir logs;
  const std::string src = dir.file("src");
  const std::string dst = dir.file("dst");
  {
    std::string chunk = random_bytes(1 << 20, 3);
    std::ofstream out(src, std::ios::binary);
    for (std::size_t i = 0; i < size >> 20; ++i) {
      chunk[0] = static_cast<char>(i);
      out << chunk;
    }
  }
  // The fastest of three copies: the first reads a cold source, and a kill timed from it would
  // often land after the end of the warm copies that follow.
  auto full = std::chrono::steady_clock::duration::max();
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(run_tool(logs, {MMCP, src, dst}).exited(0));
    full = std::min(full, std::chrono::steady_clock::now() - start);
    REQUIRE(::unlink(dst.c_str()) == 0);
  }
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  int killed_mid_copy = 0;
  // A kill that came too late halves the span the next delay is drawn from; a few extra kills are
  // allowed until one lands mid-copy (bounded: 4x count).
  double span = 1.0;
  for (int i = 0; i < count || (killed_mid_copy == 0 && i < 4 * count); ++i) {
    const auto delay = std::chrono::duration_cast<std::chrono::microseconds>(full) *
                       std::uniform_real_distribution<double>(0.05, 1.0)(rng) * span;
    ToolRun run(logs, {MMCP, src, dst});
    std::this_thread::sleep_for(delay);
    run.signal(SIGKILL);
    const ToolResult r = run.finish();
    if (WIFSIGNALED(r.status))
      ++killed_mid_copy;
    else
      span /= 2;
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path()))
      names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    INFO("kill after " << delay.count() << " us of " << full.count() / 1000 << " us");
    if (names.size() == 2) {
      CHECK(names == std::vector<std::string>{"dst", "src"});
      struct stat st {};
      REQUIRE(::stat(dst.c_str(), &st) == 0);
      CHECK(static_cast<std::size_t>(st.st_size) == size);
      CHECK(same_contents(dst, src));
      ::unlink(dst.c_str());
    } else {
      CHECK(names == std::vector<std::string>{"src"});
    }
  }
  INFO(killed_mid_copy << " of " << count << " kills landed before mmcp ended");
  CHECK(killed_mid_copy > 0);
}

}  // namespace

TEST_CASE("mmcp killed by SIGKILL at any instant leaves no partial file and no temporary",
          "[tools][mmcp][sigkill]") {
  SECTION("ext4 (/var/tmp)") {
    kill_at_random("/var/tmp", std::size_t{256} << 20, 6);
  }
  SECTION("tmpfs (/dev/shm)") {
    kill_at_random("/dev/shm", std::size_t{256} << 20, 6);
  }
}

TEST_CASE("mmcp on a full filesystem names the operation, the file and the syscall",
          "[tools][mmcp][enospc]") {
  ScratchDir dir;
  if (std::system("unshare -m true 2>/dev/null") != 0) {
    std::puts("skipped: cannot make a private mount namespace (unshare -m) here");
    return;
  }
  const std::string src = dir.file("src");
  write_file(src, random_bytes(4 << 20));
  std::filesystem::create_directory(dir.file("small"));
  const std::string small = dir.file("small");
  // A 1 MiB tmpfs seen only inside the child's mount namespace.
  const std::string out =
      shell("unshare -m sh -c 'mount -t tmpfs -o size=1m mmapxx-test " + small + " && " + MMCP +
            " " + src + " " + small + "/dst 2>&1; echo \"exit $?\"; ls -A " + small + "'");
  INFO(out);
  CHECK(out.rfind("mmcp: write " + small + "/dst: No space left on device (", 0) == 0);
  CHECK(out.find(")\nexit 1\n") != std::string::npos);
  CHECK(out.substr(out.find("exit 1\n") + 7).empty());  // ls -A: nothing left
}
