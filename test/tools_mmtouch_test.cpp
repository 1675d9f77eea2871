// mmtouch against util-linux fincore, its JSON, -R, --lock, and truncation during --touch.
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include <sys/resource.h>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

boost::property_tree::ptree parse_json(const std::string& text) {
  std::istringstream in(text);
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

std::size_t fincore_pages(const std::string& path) {
  const std::string out =
      shell("fincore --bytes --noheadings --output PAGES,SIZE,FILE '" + path + "'");
  REQUIRE_FALSE(out.empty());
  return std::stoul(out);
}

std::size_t mmtouch_pages(const ScratchDir& dir, const std::string& option,
                          const std::string& path) {
  const ToolResult r = run_tool(dir, {MMTOUCH, option, "--json", path});
  REQUIRE(r.exited(0));
  const auto tree = parse_json(r.out);
  return tree.get<std::size_t>("total.resident_pages");
}

}  // namespace

TEST_CASE("mmtouch agrees with fincore after --touch and after --evict", "[tools][mmtouch]") {
  ScratchDir dir;  // on the build tree's disk: eviction does not apply to tmpfs
  const std::string file = dir.file("data");
  write_file(file, pattern((8 << 20) + 100));
  const std::size_t total = ((8 << 20) + 100 + 4095) / 4096;

  const std::size_t touched = mmtouch_pages(dir, "--touch", file);
  CHECK(touched == total);
  CHECK(fincore_pages(file) == touched);

  const std::size_t evicted = mmtouch_pages(dir, "--evict", file);
  CHECK(evicted < total);
  CHECK(fincore_pages(file) == evicted);

  // And without acting: a plain report matches too.
  CHECK(mmtouch_pages(dir, "-v", file) == fincore_pages(file));
}

TEST_CASE("mmtouch --json lists every file and the total; -R descends", "[tools][mmtouch]") {
  ScratchDir dir;
  std::filesystem::create_directories(dir.file("tree/sub"));
  write_file(dir.file("tree/a"), pattern(10000));
  write_file(dir.file("tree/sub/b \"quoted\""), pattern(5));
  write_file(dir.file("tree/sub/empty"), "");

  const ToolResult r = run_tool(dir, {MMTOUCH, "-R", "--touch", "--json", dir.file("tree")});
  REQUIRE(r.exited(0));
  const auto tree = parse_json(r.out);
  std::vector<std::string> paths;
  for (const auto& [key, f] : tree.get_child("files")) {
    paths.push_back(f.get<std::string>("path"));
    CHECK(f.get<std::size_t>("resident_pages") == f.get<std::size_t>("pages"));
  }
  CHECK(paths == std::vector<std::string>{dir.file("tree/a"), dir.file("tree/sub/b \"quoted\""),
                                          dir.file("tree/sub/empty")});
  CHECK(tree.get<std::size_t>("total.files") == 3);
  CHECK(tree.get<std::size_t>("total.pages") == 3 + 1 + 0);
  CHECK(tree.get<std::uint64_t>("total.size") == 10005);
  CHECK(tree.get<std::uint64_t>("total.resident_bytes") == 10005);

  const ToolResult no_r = run_tool(dir, {MMTOUCH, dir.file("tree")});
  CHECK(no_r.exited(1));
  CHECK(no_r.err.find("is a directory (use -R)") != std::string::npos);
}

TEST_CASE("mmtouch -v draws a chart; bad usage exits 2, missing files exit 1", "[tools][mmtouch]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, pattern(4096 * 120));
  const ToolResult r = run_tool(dir, {MMTOUCH, "--touch", "-v", file});
  CHECK(r.exited(0));
  CHECK(r.out.find("[" + std::string(60, 'o') + "] 2 pages/char") != std::string::npos);
  CHECK(run_tool(dir, {MMTOUCH}).exited(2));
  CHECK(run_tool(dir, {MMTOUCH, "--touch", "--evict", file}).exited(2));
  CHECK(run_tool(dir, {MMTOUCH, "--bogus", file}).exited(2));
  const ToolResult missing = run_tool(dir, {MMTOUCH, file, dir.file("missing")});
  CHECK(missing.exited(1));
  CHECK(missing.out.find(file) != std::string::npos);  // the good file is still reported
}

TEST_CASE("mmtouch --lock holds the pages until SIGTERM", "[tools][mmtouch]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, pattern(1 << 20));
  ToolRun run(dir, {MMTOUCH, "--touch", "--lock", file});
  // Waits for the tool's own announcement rather than for a fixed time.
  while (run.err_so_far().find("holding") == std::string::npos) ::usleep(10000);
  CHECK(fincore_pages(file) == 256);
  run.signal(SIGTERM);
  const ToolResult r = run.finish();
  CHECK(r.exited(0));
  CHECK(r.err == "mmtouch: 256 pages locked; holding them until SIGINT, SIGTERM or SIGQUIT\n");
}

TEST_CASE("mmtouch --touch of a file truncated under it exits 1, never by SIGBUS",
          "[tools][mmtouch][truncation]") {
  ScratchDir dir;
  const std::string file = dir.file("data");
  write_file(file, pattern(4 << 20));
  ToolRun run(dir, {MMTOUCH, "--touch", file}, true);
  REQUIRE(run.wait_paused());
  REQUIRE(::truncate(file.c_str(), 8192) == 0);
  run.resume();
  const ToolResult r = run.finish();
  CHECK_FALSE(WIFSIGNALED(r.status));
  CHECK(r.exited(1));
  CHECK(r.err.find("mmtouch: " + file + ": file was truncated while reading") == 0);
}

TEST_CASE("mmtouch counts a 1 TiB sparse file in bounded memory", "[tools][mmtouch][bounded]") {
  TempDir dir("/var/tmp");
  ScratchDir logs;
  const std::string file = dir.file("huge");
  const off_t size = off_t{1} << 40;
  {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    if (::ftruncate(fd, size) != 0) {
      ::close(fd);
      std::puts("skipped: this filesystem cannot hold a 1 TiB sparse file");
      return;
    }
    const std::string data(1 << 20, 'x');  // 256 resident pages in the middle
    REQUIRE(::pwrite(fd, data.data(), data.size(), size / 2) == static_cast<ssize_t>(data.size()));
    ::close(fd);
  }
  for (const char* verbose : {"-q", "-v"}) {
    INFO(verbose);
    const std::string out = logs.file(std::string("out") + verbose);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      if (verbose[1] == 'v')
        ::execl(MMTOUCH, MMTOUCH, "-v", file.c_str(), static_cast<char*>(nullptr));
      else
        ::execl(MMTOUCH, MMTOUCH, "--json", file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    struct rusage usage {};
    REQUIRE(::wait4(pid, &status, 0, &usage) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    INFO("peak RSS " << usage.ru_maxrss << " KiB");
    CHECK(usage.ru_maxrss < 64 * 1024);  // one byte per page would be 256 MiB
    const std::string text = read_file(out);
    INFO(text);
    if (verbose[1] == 'v') {
      CHECK(text.find("       256/268435456") != std::string::npos);
      // The 1 MiB at 512 GiB straddles two characters of 4473925 pages.
      CHECK(text.find("[" + std::string(29, '.') + "11" + std::string(29, '.') + "]") !=
            std::string::npos);
    } else {
      CHECK(text.find("\"pages\": 268435456, \"resident_pages\": 256,") != std::string::npos);
    }
  }
}
