// mmcp -j: several sources copied by worker threads. Every copy is exact whatever the number of
// jobs; a failed source is reported and the others still copied (exit 1); messages come in
// argument order even when a later source fails first; a source truncated mid-copy is still an
// exit-1 error that leaves nothing; a kill at any instant leaves only complete files; progress bars
// never share a line.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <sstream>
#include <thread>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

// `count` sources of 1-64 KiB (and one of 3 MiB, through the large-file path) under dir/src.
std::vector<std::string> make_sources(const ScratchDir& dir, std::size_t count) {
  std::filesystem::create_directories(dir.file("src"));
  std::vector<std::string> sources;
  for (std::size_t i = 0; i < count; ++i) {
    sources.push_back(dir.file("src/f" + std::to_string(i)));
    const std::size_t size = i == 1 ? std::size_t{3} << 20 : 1 + (i * 7919) % (64 << 10);
    write_file(sources.back(), random_bytes(size, static_cast<unsigned>(i)));
  }
  return sources;
}

std::vector<std::string> command(std::vector<std::string> head,
                                 const std::vector<std::string>& sources, const std::string& dst) {
  head.insert(head.end(), sources.begin(), sources.end());
  head.push_back(dst);
  return head;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("mmcp -j copies every source exactly with 1, 2 and more jobs than sources",
          "[tools][mmcp][jobs]") {
  ScratchDir dir;
  const std::vector<std::string> sources = make_sources(dir, 40);
  for (const char* jobs : {"-j1", "-j2", "--jobs=3", "-j64"}) {
    INFO(jobs);
    std::filesystem::remove_all(dir.file("out"));
    std::filesystem::create_directory(dir.file("out"));
    const ToolResult r = run_tool(dir, command({MMCP, jobs}, sources, dir.file("out")));
    CHECK(r.exited(0));
    CHECK(r.err.empty());
    for (const auto& src : sources)
      CHECK(same_contents(dir.file("out/" + std::filesystem::path(src).filename().string()), src));
    CHECK(std::distance(std::filesystem::directory_iterator(dir.file("out")),
                        std::filesystem::directory_iterator()) == 40);
  }
  // A clear usage error (exit 2) outside 1-64.
  for (const char* jobs : {"-j0", "-j65", "-jx"}) {
    INFO(jobs);
    const ToolResult r = run_tool(dir, command({MMCP, jobs}, sources, dir.file("out")));
    CHECK(r.exited(2));
    CHECK(r.err.find("--jobs") != std::string::npos);
  }
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp -j reports failed sources in argument order, copies the others, exits 1",
          "[tools][mmcp][jobs]") {
  ScratchDir dir;
  std::vector<std::string> sources = make_sources(dir, 12);
  const std::string missing_a = dir.file("missing-a"), missing_b = dir.file("missing-b");
  std::filesystem::create_directory(dir.file("a-directory"));
  sources.insert(sources.begin() + 3, missing_a);
  sources.insert(sources.begin() + 7, dir.file("a-directory"));
  sources.push_back(missing_b);
  std::filesystem::create_directory(dir.file("out"));
  const ToolResult r = run_tool(dir, command({MMCP, "-j2"}, sources, dir.file("out")));
  CHECK(r.exited(1));
  CHECK(r.err == "mmcp: cannot stat '" + missing_a + "': No such file or directory\n" +
                     "mmcp: " + dir.file("a-directory") + ": not a regular file (directory)\n" +
                     "mmcp: cannot stat '" + missing_b + "': No such file or directory\n");
  for (const auto& src : sources)
    if (std::filesystem::is_regular_file(src))
      CHECK(same_contents(dir.file("out/" + std::filesystem::path(src).filename().string()), src));
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp -j: a source truncated mid-copy fails with exit 1, first in order, leaving nothing",
          "[tools][mmcp][jobs][truncation]") {
  // The first source stops at the test pause and is cut from 128 to 120 MiB there: it fails
  // only after copying 120 MiB, long after the missing sources behind it failed in the other
  // thread, yet its message comes first.
  ScratchDir dir;
  std::filesystem::create_directory(dir.file("out"));
  const std::string src = dir.file("src");
  write_file(src, std::string(std::size_t{128} << 20, 'x'));
  std::vector<std::string> sources = {src};
  // Only missing sources after it: no other copy can reach the pause first.
  for (int i = 0; i < 4; ++i) sources.push_back(dir.file("missing" + std::to_string(i)));
  ToolRun run(dir, command({MMCP, "-j2"}, sources, dir.file("out")), true);
  REQUIRE(run.wait_paused());
  REQUIRE(::truncate(src.c_str(), std::int64_t{120} << 20) == 0);
  run.resume();
  const ToolResult r = run.finish();
  CHECK_FALSE(WIFSIGNALED(r.status));
  CHECK(r.exited(1));
  std::string expected =
      "mmcp: " + src +
      ": file was truncated while reading (end of file moved at offset 125829120)\n";
  for (int i = 0; i < 4; ++i)
    expected += "mmcp: cannot stat '" + dir.file("missing" + std::to_string(i)) +
                "': No such file or directory\n";
  CHECK(r.err == expected);
  CHECK(dir.hidden().empty());
  CHECK(std::filesystem::is_empty(dir.file("out")));
}

TEST_CASE("mmcp -j with --progress: one bar per line, each complete, messages on their own line",
          "[tools][mmcp][jobs]") {
  ScratchDir dir;
  std::vector<std::string> sources;
  for (int i = 0; i < 6; ++i) {
    sources.push_back(dir.file("f" + std::to_string(i)));
    write_file(sources.back(), random_bytes(std::size_t{2} << 20, static_cast<unsigned>(i)));
  }
  sources.insert(sources.begin() + 2, dir.file("missing"));
  std::filesystem::create_directory(dir.file("out"));
  const ToolResult r =
      run_tool(dir, command({MMCP, "-j2", "--progress"}, sources, dir.file("out")));
  CHECK(r.exited(1));
  int bars = 0, messages = 0;
  for (const std::string& line : lines_of(r.err)) {
    INFO("line: " << line);
    // What a terminal shows of the line: the text after its last carriage return.
    std::string shown =
        line.substr(line.rfind('\r') == std::string::npos ? 0 : line.rfind('\r') + 1);
    if (shown.starts_with("\033[K")) shown.erase(0, 3);  // a bar's line cleared for a message
    if (shown.starts_with("mmcp: ")) {
      CHECK(shown == "mmcp: cannot stat '" + dir.file("missing") + "': No such file or directory");
      ++messages;
    } else {
      CHECK(shown.starts_with("mmcp [##############################] 100% 2.0 MiB / 2.0 MiB"));
      // Every redraw on this line belongs to one bar: all of the same file size.
      CHECK(line.find("mmcp: ") == std::string::npos);
      ++bars;
    }
  }
  CHECK(messages == 1);
  CHECK(bars >= 1);
  CHECK(bars <= 6);
  for (int i = 0; i < 6; ++i)
    CHECK(same_contents(dir.file("out/f" + std::to_string(i)), sources[i < 2 ? i : i + 1]));
}

TEST_CASE("mmcp -j killed at random instants leaves only complete files and no temporary",
          "[tools][mmcp][jobs]") {
  ScratchDir dir;
  const bool unnamed = [&] {  // O_TMPFILE: a killed copy leaves no name at all
    const int fd = ::open(dir.path().c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  }();
  const std::vector<std::string> sources = make_sources(dir, 200);
  std::filesystem::create_directory(dir.file("out"));
  const std::vector<std::string> argv = command({MMCP, "-j2"}, sources, dir.file("out"));
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(run_tool(dir, argv).exited(0));
  const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  INFO("a whole copy takes " << whole << " us; kill instants from seed " << seed);
  int killed_mid_copy = 0;  // kills that ended mmcp before it was done: what the rounds test
  // The first copy is the slow one (cold cache, a loaded sanitizer run): a kill that comes after
  // mmcp is done halves the window, and rounds go on (up to 16) until one lands mid-copy.
  long window = whole;
  for (int round = 0; round < 8 || (killed_mid_copy == 0 && round < 16); ++round) {
    std::filesystem::remove_all(dir.file("out"));
    std::filesystem::create_directory(dir.file("out"));
    ToolRun run(dir, argv);
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::uniform_int_distribution<long>(0, window)(rng)));
    run.signal(SIGKILL);
    if (WIFSIGNALED(run.finish().status))
      ++killed_mid_copy;
    else
      window = std::max(window / 2, 1L);
    for (const auto& e : std::filesystem::directory_iterator(dir.file("out"))) {
      const std::string name = e.path().filename();
      INFO("left: " << name);
      if (name.front() == '.') {  // a named temporary: only where O_TMPFILE is missing
        CHECK_FALSE(unnamed);
        continue;
      }
      CHECK(same_contents(e.path().string(), dir.file("src/" + name)));
    }
  }
  CHECK(killed_mid_copy > 0);
}

TEST_CASE("mmcp copies a long extent with two streams, exactly, and reports a truncation in them",
          "[tools][mmcp][streams][truncation]") {
  // 256 MiB: the first 64 MiB window alone, the other three by two threads.
  ScratchDir dir;
  const std::string src = dir.file("src"), dst = dir.file("dst");
  const std::string bytes = random_bytes(std::size_t{256} << 20, 5);
  write_file(src, bytes);
  ToolResult r = run_tool(dir, {MMCP, src, dst});
  CHECK(r.exited(0));
  CHECK(r.err.empty());
  CHECK(same_contents(dst, src));
  // Cut inside the second window (both streams then find the end) and inside the last one.
  for (const std::uint64_t cut : {std::uint64_t{100} << 20, std::uint64_t{200} << 20}) {
    INFO("cut at " << cut);
    write_file(src, bytes);
    write_file(dst, "the old destination");
    ToolRun run(dir, {MMCP, src, dst}, true);
    REQUIRE(run.wait_paused());
    REQUIRE(::truncate(src.c_str(), static_cast<off_t>(cut)) == 0);
    run.resume();
    r = run.finish();
    CHECK_FALSE(WIFSIGNALED(r.status));
    CHECK(r.exited(1));
    CHECK(r.err == "mmcp: " + src +
                       ": file was truncated while reading (end of file moved at offset " +
                       std::to_string(cut) + ")\n");
    CHECK(read_file(dst) == "the old destination");
    CHECK(dir.hidden().empty());
  }
}

TEST_CASE("mmcp -j keeps -n, -p, --fsync and --reflink=never for every source",
          "[tools][mmcp][jobs]") {
  ScratchDir dir;
  std::vector<std::string> sources = make_sources(dir, 30);
  for (std::size_t i = 0; i < sources.size(); ++i)
    REQUIRE(::chmod(sources[i].c_str(), i % 2 ? 0751 : 0604) == 0);
  const struct timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  for (const auto& src : sources) REQUIRE(::utimensat(AT_FDCWD, src.c_str(), times, 0) == 0);
  std::filesystem::create_directory(dir.file("out"));
  // Every third destination exists already: -n keeps it.
  for (std::size_t i = 0; i < sources.size(); i += 3)
    write_file(dir.file("out/f" + std::to_string(i)), "kept");
  const ToolResult r = run_tool(
      dir,
      command({MMCP, "-j2", "-n", "-p", "--fsync", "--reflink=never"}, sources, dir.file("out")));
  CHECK(r.exited(0));
  CHECK(r.err.empty());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    INFO("file " << i);
    const std::string copy = dir.file("out/f" + std::to_string(i));
    if (i % 3 == 0) {
      CHECK(read_file(copy) == "kept");
      continue;
    }
    CHECK(same_contents(copy, sources[i]));
    struct stat st {};
    REQUIRE(::stat(copy.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == (i % 2 ? 0751u : 0604u));
    CHECK(st.st_mtim.tv_sec == times[1].tv_sec);
    CHECK(st.st_mtim.tv_nsec == times[1].tv_nsec);
  }
  CHECK(dir.hidden().empty());
}
