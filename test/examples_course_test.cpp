// The course programs (examples/course/), run as real processes in a temporary directory: their
// output and the files they leave must be what the course shows.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

#ifndef COURSE_BIN_DIR
#error "COURSE_BIN_DIR must name the build directory of examples/course"
#endif

namespace {

using mmapxx::test::TempDir;

std::string program(const std::string& name) {
  return std::string(COURSE_BIN_DIR) + "/" + name;
}

// Starts `argv` in `dir` with stdout and stderr on pipes; returns its pid and the pipes' read ends.
pid_t spawn(const std::vector<std::string>& argv, const std::string& dir, int& out, int& err) {
  int o[2], e[2];
  REQUIRE(::pipe2(o, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(e, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::dup2(o[1], STDOUT_FILENO) < 0 || ::dup2(e[1], STDERR_FILENO) < 0 ||
        ::chdir(dir.c_str()) != 0)
      ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(o[1]);
  ::close(e[1]);
  out = o[0];
  err = e[0];
  return pid;
}

std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n > 0)
      text.append(buffer, static_cast<std::size_t>(n));
    else if (errno != EINTR)
      break;
  }
  ::close(fd);
  return text;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

struct Run {
  int status;
  std::string out;
  std::string err;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

Run run(const std::vector<std::string>& argv, const std::string& dir) {
  int out = -1, err = -1;
  const pid_t pid = spawn(argv, dir, out, err);
  std::string text = read_all(out);  // the programs write little: stderr's pipe cannot fill
  std::string errors = read_all(err);
  return {wait_for(pid), text, errors};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

// Every value printed by `workers` processes, each running `argv` `runs` times in sequence.
std::multiset<long> run_concurrently(const std::vector<std::string>& argv, const std::string& dir,
                                     int workers = 8, int runs = 50) {
  std::vector<pid_t> pids;
  std::vector<int> outputs;
  for (int w = 0; w < workers; ++w) {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      if (::dup2(fds[1], STDOUT_FILENO) < 0 || ::chdir(dir.c_str()) != 0) ::_exit(126);
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (int i = 0; i < runs; ++i) {
        const pid_t one = ::fork();
        if (one < 0) ::_exit(125);
        if (one == 0) {
          ::execv(args[0], args.data());
          ::_exit(127);
        }
        const int status = wait_for(one);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    pids.push_back(pid);
    outputs.push_back(fds[0]);
  }
  // The pipes are read in turn: each worker's 50 short lines fit in a pipe's buffer.
  std::multiset<long> seen;
  for (std::size_t w = 0; w < pids.size(); ++w) {
    const std::string text = read_all(outputs[w]);
    const int status = wait_for(pids[w]);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    for (const std::string& line : lines(text)) seen.insert(std::stol(line));
  }
  return seen;
}

std::multiset<long> one_to(long n) {
  std::multiset<long> values;
  for (long v = 1; v <= n; ++v) values.insert(v);
  return values;
}

}  // namespace

TEST_CASE("file_counter counts 1, 2, 3 in the file compteur", "[examples][course]") {
  TempDir dir;
  const std::string bin = program("file_counter");
  for (const char* expected : {"1\n", "2\n", "3\n"}) {
    const Run r = run({bin}, dir.path().string());
    REQUIRE(r.ok());
    CHECK(r.out == expected);
  }
  CHECK(mmapxx::test::read_file(dir.file("compteur")) == "0000000003\n");
}

TEST_CASE("file_counter continues a counter written by hand", "[examples][course]") {
  TempDir dir;
  mmapxx::test::write_file(dir.file("compteur"), "0000000041\n");
  const Run r = run({program("file_counter")}, dir.path().string());
  REQUIRE(r.ok());
  CHECK(r.out == "42\n");
  CHECK(mmapxx::test::read_file(dir.file("compteur")) == "0000000042\n");
}

TEST_CASE("file_counter loses no increment when 8 processes run it 50 times each",
          "[examples][course]") {
  TempDir dir;
  CHECK(run_concurrently({program("file_counter")}, dir.path().string()) == one_to(8 * 50));
  CHECK(mmapxx::test::read_file(dir.file("compteur")) == "0000000400\n");
}

TEST_CASE("file_counter with an argument pauses while the file is still mapped",
          "[examples][course]") {
  TempDir dir;
  int out = -1, err = -1;
  const pid_t pid = spawn({program("file_counter"), "pause"}, dir.path().string(), out, err);
  char line[3] = {};
  CHECK(::read(out, line, 2) == 2);  // printed before pause(); no REQUIRE: always kill below
  CHECK(std::string(line) == "1\n");
  const std::string maps = mmapxx::test::read_file("/proc/" + std::to_string(pid) + "/maps");
  CHECK(maps.find(dir.file("compteur")) != std::string::npos);
  ::kill(pid, SIGTERM);
  const int status = wait_for(pid);
  ::close(out);
  ::close(err);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
  CHECK(mmapxx::test::read_file(dir.file("compteur")) == "0000000001\n");
}

TEST_CASE("shared_file: parent and child share the two pages of temp", "[examples][course]") {
  TempDir dir;
  const Run r = run({program("shared_file")}, dir.path().string());
  REQUIRE(r.ok());
  CHECK(r.out ==
        "remplissage du fichier\n"
        "fils, page 1 : aaaaaaaaaa\n"
        "fils, page 2 : bbbbbbbbbb\n"
        "page 1 père : cccccccccc\n");
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  CHECK(mmapxx::test::read_file(dir.file("temp")) ==
        std::string(page, 'c') + std::string(page, 'b'));
}

TEST_CASE("shared_anonymous: the same without a file", "[examples][course]") {
  TempDir dir;
  const Run r = run({program("shared_anonymous")}, dir.path().string());
  REQUIRE(r.ok());
  CHECK(r.out ==
        "fils, page 1 : aaaaaaaaaa\n"
        "fils, page 2 : bbbbbbbbbb\n"
        "page 1 père : cccccccccc\n");
}

TEST_CASE("dev_zero: anonymous and /dev/zero regions are both shared across fork",
          "[examples][course]") {
  TempDir dir;
  const Run r = run({program("dev_zero")}, dir.path().string());
  REQUIRE(r.ok());
  const std::vector<std::string> got = lines(r.out);
  REQUIRE(got.size() == 4);
  // Lines 1 and 3 come from the parent, 2 and 4 from the child.
  auto pid_of = [](const std::string& line) { return line.substr(0, line.find(':')); };
  CHECK(pid_of(got[0]) == pid_of(got[2]));
  CHECK(pid_of(got[1]) == pid_of(got[3]));
  CHECK(pid_of(got[0]) != pid_of(got[1]));
  auto rest = [](const std::string& line) { return line.substr(line.find(':')); };
  CHECK(rest(got[0]) == ":\tanonymous string 1, zero-backed string 1");
  CHECK(rest(got[1]) == ":\tanonymous string 1, zero-backed string 1");
  CHECK(rest(got[2]) == ":\tanonymous string 2, zero-backed string 2");
  CHECK(rest(got[3]) == ":\tanonymous string 2, zero-backed string 2");
}

namespace {

// A shared memory name unique to this test process, removed at the end of the test.
class ShmName {
 public:
  explicit ShmName(const std::string& what)
      : name_("/mmapxx-test-course-" + what + "-" + std::to_string(::getpid())) {
    std::filesystem::remove(path());
  }
  ~ShmName() {
    std::error_code ignored;
    std::filesystem::remove(path(), ignored);
  }
  const std::string& name() const { return name_; }
  std::string path() const { return "/dev/shm" + name_; }

 private:
  std::string name_;
};

}  // namespace

TEST_CASE("shm_counter counts 1, 2, 3 in shared memory, and --unlink removes it",
          "[examples][course]") {
  TempDir dir;
  ShmName shm("count");
  const std::string bin = program("shm_counter");
  for (const char* expected : {"1\n", "2\n", "3\n"}) {
    const Run r = run({bin, "--name", shm.name()}, dir.path().string());
    REQUIRE(r.ok());
    CHECK(r.out == expected);
  }
  CHECK(mmapxx::test::read_file(shm.path()) == "0000000003\n");
  CHECK((std::filesystem::status(shm.path()).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));

  const Run removed = run({bin, "--name", shm.name(), "--unlink"}, dir.path().string());
  CHECK(removed.ok());
  CHECK_FALSE(std::filesystem::exists(shm.path()));
  const Run absent = run({bin, "--name", shm.name(), "--unlink"}, dir.path().string());
  CHECK_FALSE(absent.ok());
  CHECK(absent.err.find("No such file or directory") != std::string::npos);

  const Run again = run({bin, "--name", shm.name()}, dir.path().string());
  CHECK(again.out == "1\n");  // a new object starts over
}

TEST_CASE("shm_counter loses no increment when 8 processes run it 50 times each",
          "[examples][course]") {
  TempDir dir;
  ShmName shm("race");
  CHECK(run_concurrently({program("shm_counter"), "--name", shm.name()}, dir.path().string()) ==
        one_to(8 * 50));
  CHECK(mmapxx::test::read_file(shm.path()) == "0000000400\n");
}

TEST_CASE("shm_counter --pause waits with the object mapped", "[examples][course]") {
  TempDir dir;
  ShmName shm("pause");
  int out = -1, err = -1;
  const pid_t pid = spawn({program("shm_counter"), "--name", shm.name(), "--pause"},
                          dir.path().string(), out, err);
  char line[3] = {};
  CHECK(::read(out, line, 2) == 2);  // printed before pause(); no REQUIRE: always kill below
  CHECK(std::string(line) == "1\n");
  const std::string maps = mmapxx::test::read_file("/proc/" + std::to_string(pid) + "/maps");
  CHECK(maps.find(shm.path()) != std::string::npos);
  ::kill(pid, SIGTERM);
  const int status = wait_for(pid);
  ::close(out);
  ::close(err);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
}

TEST_CASE("shm_counter rejects a bad name without creating anything", "[examples][course]") {
  TempDir dir;
  const Run r = run({program("shm_counter"), "--name", "no-slash"}, dir.path().string());
  CHECK(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("no-slash") != std::string::npos);  // the error names the bad name
}

TEST_CASE("protect_on_fault: the handler repairs the first write, the second does not fault",
          "[examples][course]") {
  TempDir dir;
  const Run r = run({program("protect_on_fault")}, dir.path().string());
  REQUIRE(r.ok());
  CHECK(r.out ==
        "première écriture : c\n"
        "Traitant : signal reçu 11\n"
        "résultat mprotect : 0\n"
        "lecture : c\n"
        "seconde écriture : d\n"
        "lecture : d\n");
}

TEST_CASE("fault_recovery: the fault becomes a FaultError and a fresh page holds 'A'",
          "[examples][course]") {
  TempDir dir;
  const Run r = run({program("fault_recovery")}, dir.path().string());
  REQUIRE(r.ok());
  CHECK(r.out ==
        "faute : signal 11 à l'adresse base : oui\n"
        "base[0] = A\n");
}
