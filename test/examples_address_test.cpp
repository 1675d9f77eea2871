// The address-space examples (examples/growable_log.cpp, examples/mirrored_pipeline.cpp), run as
// real processes: their output and the files they leave must be what their comments promise.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support.hpp"

#ifndef ADDRESS_EXAMPLES_DIR
#error "ADDRESS_EXAMPLES_DIR must name the build directory of examples/"
#endif

namespace {

struct Run {
  int status = 0;
  std::string out;
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// Runs an example with stdout on a pipe (stderr inherited, so failures show in the test log).
Run run(const std::vector<std::string>& argv) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (::dup2(fds[1], STDOUT_FILENO) < 0) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  Run result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) != 0;)
    if (n > 0)
      result.out.append(buffer, static_cast<std::size_t>(n));
    else if (errno != EINTR)
      break;
  ::close(fds[0]);
  while (::waitpid(pid, &result.status, 0) < 0) {
  }
  return result;
}

std::string example(const std::string& name) {
  return std::string(ADDRESS_EXAMPLES_DIR) + "/" + name;
}

}  // namespace

TEST_CASE("growable_log appends across runs and its reader's pointer survives every growth",
          "[examples][address]") {
  mmapxx::test::TempDir dir;
  const std::string log = dir.file("log.bin");
  const Run first = run({example("growable_log"), log, "1000"});
  REQUIRE(first.ok());
  CHECK(first.out.find("appended 1000 records, 1000 in the log\n") != std::string::npos);
  CHECK(first.out.find("in place; the log never moved\n") != std::string::npos);
  CHECK(first.out.find("grew 0 times") == std::string::npos);  // it did have to grow
  CHECK(first.out.find("the reader's first pointer still reads: record 0\n") != std::string::npos);
  CHECK(first.out.find("last: record 999\n") != std::string::npos);

  const Run second = run({example("growable_log"), log, "500"});
  REQUIRE(second.ok());
  CHECK(second.out.find("appended 500 records, 1500 in the log\n") != std::string::npos);
  CHECK(second.out.find("last: record 1499\n") != std::string::npos);

  // The file holds the records themselves, after the 24-byte header.
  const std::string text = mmapxx::test::read_file(log);
  CHECK(text.compare(0, 8, "mmlog001") == 0);
  CHECK(text.compare(24, 18, "record 0\nrecord 1\n") == 0);
  CHECK(text.find("record 1499\n") != std::string::npos);

  CHECK(!run({example("growable_log"), dir.file("missing/dir/log"), "1"}).ok());
}

TEST_CASE("mirrored_pipeline moves every message intact between two processes",
          "[examples][address]") {
  const Run run_ = run({example("mirrored_pipeline"), "20000"});
  REQUIRE(run_.ok());
  const auto consumer = run_.out.find("consumer: 20000 messages, ");
  const auto producer = run_.out.find("producer: 20000 messages, ");
  REQUIRE(consumer != std::string::npos);
  REQUIRE(producer != std::string::npos);
  // Same byte count and checksum on both sides.
  const std::string theirs =
      run_.out.substr(consumer + 10, run_.out.find('\n', consumer) - consumer - 10);
  const std::string ours =
      run_.out.substr(producer + 10, run_.out.find('\n', producer) - producer - 10);
  CHECK(theirs == ours);
}
