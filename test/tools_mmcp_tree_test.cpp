// mmcp with many small files: the path that copies a small dense file whole (one
// copy_file_range, or read/write) through one descriptor of the destination directory, and
// learns that a name is taken only from the commit's linkat. Every property of the large-file
// path holds here too: exact bytes, modes as cp gives them, holes kept, -n, refusals, a source
// truncated mid-copy failing with exit 1 and nothing half-written.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

mode_t current_umask() {
  const mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

}  // namespace

TEST_CASE("mmcp copies a directory's worth of small files exactly, each with cp's mode",
          "[tools][mmcp][tree]") {
  ScratchDir dir;
  std::filesystem::create_directories(dir.file("src/a/b"));
  std::filesystem::create_directory(dir.file("out"));
  std::vector<std::string> argv = {MMCP};
  // Around the small-file limit (1 MiB) and the page size, the empty file, and 300 more.
  std::vector<std::size_t> sizes = {0, 1, 4095, 4096, 4097, (1 << 20) - 1, 1 << 20, (1 << 20) + 1};
  for (std::size_t i = 0; i < 300; ++i) sizes.push_back(1 + (i * 7919) % (64 << 10));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const std::string src = dir.file((i % 2 ? "src/a/b/f" : "src/f") + std::to_string(i));
    write_file(src, random_bytes(sizes[i], static_cast<unsigned>(i)));
    REQUIRE(::chmod(src.c_str(), i % 3 == 0 ? 0640 : 0755) == 0);
    argv.push_back(src);
  }
  argv.push_back(dir.file("out"));
  const ToolResult r = run_tool(dir, argv);
  CHECK(r.exited(0));
  CHECK(r.err.empty());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    INFO("file " << i << ", " << sizes[i] << " bytes");
    const std::string src = argv[i + 1];
    const std::string copy = dir.file("out/f" + std::to_string(i));
    CHECK(same_contents(copy, src));
    CHECK(mode_of(copy) == (mode_of(src) & ~current_umask()));
  }
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp into a directory finds taken names as cp does: replaced, kept with -n, refused",
          "[tools][mmcp][tree]") {
  ScratchDir dir;
  std::filesystem::create_directory(dir.file("out"));
  const std::string a = dir.file("a"), b = dir.file("b"), c = dir.file("c");
  write_file(a, random_bytes(5000, 1));
  write_file(b, random_bytes(70000, 2));
  write_file(c, "c");
  write_file(dir.file("out/a"), "old a");
  REQUIRE(::chmod(dir.file("out/a").c_str(), 0604) == 0);
  std::filesystem::create_directory(dir.file("out/b"));  // a directory where b would go

  ToolResult r = run_tool(dir, {MMCP, a, b, c, dir.file("out")});
  CHECK(r.exited(1));
  CHECK(r.err == "mmcp: " + dir.file("out") + "/b: will not replace a directory\n");
  CHECK(same_contents(dir.file("out/a"), a));
  CHECK(mode_of(dir.file("out/a")) == 0604);  // an existing file keeps its mode
  CHECK(same_contents(dir.file("out/c"), c));
  CHECK(std::filesystem::is_directory(dir.file("out/b")));

  write_file(dir.file("out/c"), "old c");
  r = run_tool(dir, {MMCP, "-n", a, c, dir.file("out")});
  CHECK(r.exited(0));
  CHECK(read_file(dir.file("out/c")) == "old c");

  // The destination directory as one of the sources' own directory: the same file.
  r = run_tool(dir, {MMCP, dir.file("out/c"), a, dir.file("out")});
  CHECK(r.exited(1));
  CHECK(r.err ==
        "mmcp: '" + dir.file("out/c") + "' and '" + dir.file("out") + "/c' are the same file\n");
  CHECK(read_file(dir.file("out/c")) == "old c");
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp keeps the holes of a small sparse file", "[tools][mmcp][tree]") {
  ScratchDir dir;
  const std::string src = dir.file("sparse"), dst = dir.file("copy");
  {
    const int fd = ::open(src.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    const std::string data = random_bytes(4096, 9);
    REQUIRE(::pwrite(fd, data.data(), data.size(), 0) == 4096);
    REQUIRE(::pwrite(fd, data.data(), data.size(), 256 << 10) == 4096);
    REQUIRE(::ftruncate(fd, 512 << 10) == 0);
    ::close(fd);
  }
  struct stat st {};
  REQUIRE(::stat(src.c_str(), &st) == 0);
  if (st.st_blocks * 512 >= st.st_size) {
    WARN("skipped: this filesystem does not keep holes");
    return;
  }
  CHECK(run_tool(dir, {MMCP, src, dst}).exited(0));
  CHECK(same_contents(dst, src));
  struct stat copy {};
  REQUIRE(::stat(dst.c_str(), &copy) == 0);
  CHECK(copy.st_blocks <= st.st_blocks);
}

TEST_CASE("mmcp of a small file truncated under it fails with exit 1 and leaves nothing behind",
          "[tools][mmcp][tree][truncation]") {
  // copy_file_range by default; pread/pwrite with --reflink=never.
  for (const char* option : {"--reflink=auto", "--reflink=never"}) {
    INFO(option);
    ScratchDir dir;
    std::filesystem::create_directory(dir.file("out"));
    const std::string src = dir.file("src");
    write_file(src, random_bytes(64 << 10, 3));
    write_file(dir.file("out/src"), "the old destination");
    ToolRun run(dir, {MMCP, option, src, dir.file("out")}, true);
    REQUIRE(run.wait_paused());
    REQUIRE(::truncate(src.c_str(), 4096) == 0);
    run.resume();
    const ToolResult r = run.finish();
    CHECK_FALSE(WIFSIGNALED(r.status));
    CHECK(r.exited(1));
    CHECK(r.err == "mmcp: " + src +
                       ": file was truncated while reading (end of file moved at offset 4096)\n");
    CHECK(read_file(dir.file("out/src")) == "the old destination");
    CHECK(dir.hidden().empty());
  }
}
