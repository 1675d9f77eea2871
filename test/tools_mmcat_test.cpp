// mmcat against tail/head, its argument parsing, exit codes, closed pipes and truncation.
#include <catch2/catch.hpp>

#include "tools_support.hpp"

using namespace mmapxx::test;

TEST_CASE("mmcat writes the same bytes as tail -c | head -c", "[tools][mmcat]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t size = 3 * page + 123;
  write_file(file, random_bytes(size));
  for (std::size_t offset : {std::size_t{0}, std::size_t{1}, page - 1, page, page + 1, size - 1}) {
    for (const std::string length : {"0", "1", "999999999"}) {
      INFO("offset " << offset << " length " << length);
      const ToolResult r = run_tool(dir, {MMCAT, file, std::to_string(offset), length});
      CHECK(r.exited(0));
      CHECK(r.err.empty());
      CHECK(r.out ==
            shell("tail -c +" + std::to_string(offset + 1) + " " + file + " | head -c " + length));
    }
    const ToolResult to_end = run_tool(dir, {MMCAT, file, std::to_string(offset)});
    CHECK(to_end.exited(0));
    CHECK(to_end.out == read_file(file).substr(offset));
  }
}

TEST_CASE("mmcat takes K, M, G suffixes and rejects garbage with exit 2", "[tools][mmcat]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, random_bytes((std::size_t{1} << 20) + 100));
  const std::string contents = read_file(file);
  CHECK(run_tool(dir, {MMCAT, file, "1K", "2k"}).out == contents.substr(1024, 2048));
  CHECK(run_tool(dir, {MMCAT, file, "1M"}).out == contents.substr(1 << 20));
  CHECK(run_tool(dir, {MMCAT, file, "0", "1G"}).out == contents);
  for (const std::string bad :
       {"-1", "1KB", "x", "1.5K", "", "99999999999999999999", "17179869184G"}) {
    INFO("argument '" << bad << "'");
    const ToolResult r = run_tool(dir, {MMCAT, file, bad});
    CHECK(r.exited(2));
    CHECK(r.out.empty());
    CHECK_FALSE(r.err.empty());
  }
  CHECK(run_tool(dir, {MMCAT, file, "0", "1Q"}).exited(2));
  CHECK(run_tool(dir, {MMCAT}).exited(2));
  CHECK(run_tool(dir, {MMCAT, file, "0", "1", "extra"}).exited(2));
  const ToolResult help = run_tool(dir, {MMCAT, "--help"});
  CHECK(help.exited(0));
  CHECK(help.out.find("Usage") != std::string::npos);
  CHECK(run_tool(dir, {MMCAT, "--version"}).out == std::string(MMAPXX_VERSION) + "\n");
}

TEST_CASE("mmcat fails with exit 1 at or past end of file and on non-files", "[tools][mmcat]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, "0123456789");
  for (const std::string offset : {"10", "11", "1G"}) {
    const ToolResult r = run_tool(dir, {MMCAT, file, offset});
    CHECK(r.exited(1));
    CHECK(r.err.find("past end of file") != std::string::npos);
  }
  CHECK(run_tool(dir, {MMCAT, dir.file("missing"), "0"}).exited(1));
  const ToolResult directory = run_tool(dir, {MMCAT, dir.path().string(), "0"});
  CHECK(directory.exited(1));
  CHECK(directory.err.find("not a regular file (directory)") != std::string::npos);
}

TEST_CASE("mmcat reads offsets beyond 4 GiB of a sparse file", "[tools][mmcat]") {
  ScratchDir dir;
  const std::string file = dir.file("sparse");
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, (off_t{5} << 30)) == 0);
  REQUIRE(::pwrite(fd, "beyond", 6, (off_t{4} << 30) + 7) == 6);
  ::close(fd);
  const ToolResult r =
      run_tool(dir, {MMCAT, file, std::to_string((std::uint64_t{4} << 30) + 5), "10"});
  CHECK(r.exited(0));
  CHECK(r.out == std::string("\0\0beyond\0\0", 10));
  // Hole, data, hole in one range: holes come out as zeros.
  const ToolResult across =
      run_tool(dir, {MMCAT, file, std::to_string((std::uint64_t{4} << 30) - 10), "8K"});
  CHECK(across.exited(0));
  std::string expected(8192, '\0');
  expected.replace(17, 6, "beyond");
  CHECK(across.out == expected);
}

TEST_CASE("mmcat into a pipe closed early exits quietly, not by SIGPIPE", "[tools][mmcat]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, random_bytes(4 << 20));
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  ToolRun run(dir, {MMCAT, file, "0"}, false, fds[1]);
  ::close(fds[1]);
  char first[10];
  CHECK(::read(fds[0], first, sizeof first) == sizeof first);
  ::close(fds[0]);
  const ToolResult r = run.finish();
  CHECK_FALSE(WIFSIGNALED(r.status));
  CHECK(r.exited(1));
  CHECK(r.err.empty());
}

TEST_CASE("mmcat reports a file truncated under it and exits 1, never by SIGBUS",
          "[tools][mmcat][truncation]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, random_bytes(1 << 20));
  ToolRun run(dir, {MMCAT, file, "0"}, true);
  REQUIRE(run.wait_paused());
  REQUIRE(::truncate(file.c_str(), 0) == 0);
  run.resume();
  const ToolResult r = run.finish();
  CHECK_FALSE(WIFSIGNALED(r.status));
  CHECK(r.exited(1));
  CHECK(r.err == "mmcat: " + file + ": file was truncated while reading (SIGBUS at offset 0)\n");
}
