// mmcp's cp options: several sources into a directory, -n, -p, --reflink, and cp's exit codes and
// messages, each checked against what coreutils cp does with the same files.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tools_support.hpp"

using namespace mmapxx::test;

namespace {

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

int exit_code(const ToolResult& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// cp's exit status for the same command line (run through the shell, arguments quoted).
int cp_status(const std::vector<std::string>& args) {
  std::string command = "cp";
  for (const auto& a : args) command += " '" + a + "'";
  return WEXITSTATUS(std::system((command + " 2>/dev/null").c_str()));
}

}  // namespace

TEST_CASE("mmcp copies several sources into a directory and goes on after a failure",
          "[tools][mmcp][options]") {
  ScratchDir dir;
  std::filesystem::create_directory(dir.file("mine"));
  std::filesystem::create_directory(dir.file("cps"));
  const std::string a = dir.file("a"), b = dir.file("b.bin"), c = dir.file("c");
  write_file(a, random_bytes(100000, 1));
  write_file(b, "");
  write_file(c, random_bytes(3 << 20, 3));

  ToolResult r = run_tool(dir, {MMCP, a, b, c, dir.file("mine") + "/"});
  CHECK(r.exited(0));
  CHECK(r.err.empty());
  for (const char* name : {"a", "b.bin", "c"})
    CHECK(same_contents(dir.file(std::string("mine/") + name), dir.file(name)));

  // A missing source in the middle: reported as cp does, the others still copied, exit 1.
  std::filesystem::remove_all(dir.file("mine"));
  std::filesystem::create_directory(dir.file("mine"));
  const std::string missing = dir.file("missing");
  r = run_tool(dir, {MMCP, a, missing, c, dir.file("mine")});
  CHECK(exit_code(r) == cp_status({a, missing, c, dir.file("cps")}));
  CHECK(r.exited(1));
  CHECK(r.err == "mmcp: cannot stat '" + missing + "': No such file or directory\n");
  CHECK(same_contents(dir.file("mine/a"), a));
  CHECK(same_contents(dir.file("mine/c"), c));
  CHECK(std::filesystem::exists(dir.file("cps/c")));  // cp goes on too

  // Several sources need a directory: nothing is copied, exit 1 as cp.
  write_file(dir.file("plain"), "not a directory");
  r = run_tool(dir, {MMCP, a, c, dir.file("plain")});
  CHECK(r.exited(1));
  CHECK(exit_code(r) == cp_status({a, c, dir.file("plain")}));
  CHECK(r.err.find("target '" + dir.file("plain") + "' is not a directory") != std::string::npos);
  CHECK(read_file(dir.file("plain")) == "not a directory");
  r = run_tool(dir, {MMCP, a, c, dir.file("nodir")});
  CHECK(r.exited(1));
  CHECK(exit_code(r) == cp_status({a, c, dir.file("nodir")}));
  CHECK(r.err.find("No such file or directory") != std::string::npos);
  // One source and DIR/: into the directory; DIR/ that is a file is refused.
  r = run_tool(dir, {MMCP, b, dir.file("cps") + "/"});
  CHECK(r.exited(0));
  CHECK(std::filesystem::exists(dir.file("cps/b.bin")));
  CHECK(run_tool(dir, {MMCP, a, dir.file("plain") + "/"}).exited(1));
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp -n never replaces an existing destination, as cp -n", "[tools][mmcp][options]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, "new contents");
  write_file(dir.file("kept"), "old");
  write_file(dir.file("kept-by-cp"), "old");
  std::filesystem::create_directory(dir.file("into"));
  write_file(dir.file("into/src"), "old");

  const ToolResult r = run_tool(dir, {MMCP, "-n", src, dir.file("kept")});
  CHECK(exit_code(r) == cp_status({"-n", src, dir.file("kept-by-cp")}));
  CHECK(r.exited(0));
  CHECK(read_file(dir.file("kept")) == "old");
  CHECK(read_file(dir.file("kept-by-cp")) == "old");
  CHECK(run_tool(dir, {MMCP, "--no-clobber", src, dir.file("into")}).exited(0));
  CHECK(read_file(dir.file("into/src")) == "old");
  // A new name is still created.
  CHECK(run_tool(dir, {MMCP, "-n", src, dir.file("fresh")}).exited(0));
  CHECK(read_file(dir.file("fresh")) == "new contents");
  CHECK(dir.hidden().empty());
}

TEST_CASE("mmcp -p keeps mode, owner and timestamps as cp -p does", "[tools][mmcp][options]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, random_bytes(50000, 5));
  REQUIRE(::chmod(src.c_str(), 0751) == 0);
  const bool root = ::geteuid() == 0;
  if (root) REQUIRE(::chown(src.c_str(), 1234, 2345) == 0);
  const struct timespec times[2] = {{1000000000, 123456789}, {1100000000, 987654321}};
  REQUIRE(::utimensat(AT_FDCWD, src.c_str(), times, 0) == 0);
  const mode_t mask = ::umask(077);

  CHECK(run_tool(dir, {MMCP, "-p", src, dir.file("mine")}).exited(0));
  CHECK(cp_status({"-p", src, dir.file("theirs")}) == 0);
  // Without -p: the umask applies and the times are new.
  CHECK(run_tool(dir, {MMCP, src, dir.file("plain")}).exited(0));
  // -p over an existing file takes the source's mode, not the old one.
  write_file(dir.file("existing"), "old");
  REQUIRE(::chmod(dir.file("existing").c_str(), 0600) == 0);
  CHECK(run_tool(dir, {MMCP, "--preserve", src, dir.file("existing")}).exited(0));
  ::umask(mask);

  const struct stat s = stat_of(src);
  for (const char* name : {"mine", "theirs", "existing"}) {
    INFO(name);
    const struct stat d = stat_of(dir.file(name));
    CHECK((d.st_mode & 07777) == 0751);
    CHECK(d.st_mtim.tv_sec == s.st_mtim.tv_sec);
    CHECK(d.st_mtim.tv_nsec == s.st_mtim.tv_nsec);
    // The first copy reads the source, which moves its atime (relatime): only the first can match.
    if (std::string(name) == "mine") CHECK(d.st_atim.tv_sec == times[0].tv_sec);
    if (root) {
      CHECK(d.st_uid == 1234u);
      CHECK(d.st_gid == 2345u);
    }
    CHECK(same_contents(dir.file(name), src));
  }
  const struct stat p = stat_of(dir.file("plain"));
  CHECK((p.st_mode & 07777) == 0700);
  CHECK(p.st_mtim.tv_sec != s.st_mtim.tv_sec);
  if (root) CHECK(p.st_uid == 0u);
}

TEST_CASE("mmcp --reflink: auto falls back, always fails clearly where cloning cannot work",
          "[tools][mmcp][options]") {
  ScratchDir dir;
  const std::string src = dir.file("src");
  write_file(src, random_bytes(1 << 20, 9));
  // Does this filesystem clone? Ask cp, which tries FICLONE just as mmcp does.
  const bool clones = cp_status({"--reflink=always", src, dir.file("probe")}) == 0;
  std::filesystem::remove(dir.file("probe"));

  CHECK(run_tool(dir, {MMCP, "--reflink=auto", src, dir.file("auto")}).exited(0));
  CHECK(same_contents(dir.file("auto"), src));
  CHECK(run_tool(dir, {MMCP, "--reflink=never", src, dir.file("never")}).exited(0));
  CHECK(same_contents(dir.file("never"), src));
  const ToolResult r = run_tool(dir, {MMCP, "--reflink=always", src, dir.file("always")});
  if (clones) {
    CHECK(r.exited(0));
    CHECK(same_contents(dir.file("always"), src));
  } else {
    CHECK(r.exited(1));
    CHECK(r.err.find("failed to clone '" + dir.file("always") + "' from '" + src + "'") !=
          std::string::npos);
    CHECK(r.err.find("Operation not supported") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("always")));  // cp leaves an empty file here
  }
  // Across filesystems (/dev/shm is tmpfs): EXDEV or EOPNOTSUPP, still a clear exit 1.
  const std::string shm = "/dev/shm/mmcp-reflink-" + std::to_string(::getpid());
  const ToolResult x = run_tool(dir, {MMCP, "--reflink=always", src, shm});
  CHECK(x.exited(1));
  CHECK(x.err.find("failed to clone") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(shm));
  CHECK(run_tool(dir, {MMCP, "--reflink=sometimes", src, dir.file("bad")}).exited(2));
  CHECK(dir.hidden().empty());
}
