// mmcat with several OFFSET LENGTH ranges, and '-' (standard input) refused: a pipe cannot be
// mapped.
#include <catch2/catch.hpp>
#include <random>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

std::string random_text(std::size_t size) {
  std::mt19937 rng(7);
  std::string s(size, '\0');
  for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

}  // namespace

TEST_CASE("mmcat writes several ranges one after the other, in the order given",
          "[tools][mmcat][ranges]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::string text = random_text(5 * page + 77);
  write_file(file, text);
  // Out of order, overlapping, across page boundaries, empty, clipped at end of file.
  const ToolResult r = run_tool(dir, {MMCAT, file, std::to_string(page - 3), "10", "0", "5", "2",
                                      "5", "1K", "0", std::to_string(5 * page), "1G"});
  CHECK(r.exited(0));
  CHECK(r.err.empty());
  CHECK(r.out ==
        text.substr(page - 3, 10) + text.substr(0, 5) + text.substr(2, 5) + text.substr(5 * page));
  // The last LENGTH may be left out: that range goes to end of file.
  const ToolResult to_end = run_tool(dir, {MMCAT, file, "1", "2", std::to_string(4 * page)});
  CHECK(to_end.exited(0));
  CHECK(to_end.out == text.substr(1, 2) + text.substr(4 * page));
}

TEST_CASE("mmcat ranges over the holes of a sparse file come out as zeros",
          "[tools][mmcat][ranges]") {
  ScratchDir dir;
  const std::string file = dir.file("sparse");
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, off_t{64} << 20) == 0);
  REQUIRE(::pwrite(fd, "middle", 6, off_t{32} << 20) == 6);
  ::close(fd);
  const ToolResult ok =
      run_tool(dir, {MMCAT, file, std::to_string((32 << 20) - 2), "10", "0", "3"});
  CHECK(ok.exited(0));
  CHECK(ok.out == std::string("\0\0middle\0\0", 10) + std::string(3, '\0'));
}

TEST_CASE("mmcat checks every range before writing a byte", "[tools][mmcat][ranges]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, "0123456789");
  const ToolResult past = run_tool(dir, {MMCAT, file, "0", "5", "10", "1"});
  CHECK(past.exited(1));
  CHECK(past.out.empty());
  CHECK(past.err == "mmcat: " + file + ": offset 10 is at or past end of file (size 10)\n");
  const ToolResult bad = run_tool(dir, {MMCAT, file, "0", "5", "3", "x"});
  CHECK(bad.exited(2));
  CHECK(bad.out.empty());
  CHECK(bad.err.find("LENGTH 'x' is not a size") != std::string::npos);
  const ToolResult bad_offset = run_tool(dir, {MMCAT, file, "0", "5", "y", "1"});
  CHECK(bad_offset.exited(2));
  CHECK(bad_offset.out.empty());
  CHECK(bad_offset.err.find("OFFSET 'y' is not a size") != std::string::npos);
}

TEST_CASE("mmcat refuses '-' with a clear message: a pipe cannot be mapped",
          "[tools][mmcat][ranges]") {
  ScratchDir dir;
  // From a real pipe, as `producer | mmcat - 0` would be run.
  const std::string piped =
      shell("printf 'abc' | " + std::string(MMCAT) + " - 0 2>&1; echo \"exit $?\"");
  CHECK(piped ==
        "mmcat: cannot read standard input ('-'): mmcat reads through a memory mapping, and a "
        "pipe cannot be mapped (for a file named '-', write ./-)\n"
        "Run with --help for more information.\nexit 2\n");
  // A file that is really named '-' is read when spelled ./-.
  write_file(dir.file("-"), "dash");
  CHECK(shell("cd '" + dir.path().string() + "' && " + MMCAT + " ./- 1 2") == "as");
}
