// Replays fuzzer inputs without libFuzzer (any compiler): each argument is an input file, or a
// directory whose files are inputs. A hang is a failure too: each input gets 30 seconds.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

const char* current = "";

void on_alarm(int) {
  const char message[] = "fuzz defect: an input ran for more than 30 s (a hang): ";
  (void)!::write(2, message, sizeof message - 1);
  (void)!::write(2, current, __builtin_strlen(current));
  (void)!::write(2, "\n", 1);
  ::_exit(3);
}

void replay(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
  const std::string name = path.string();
  current = name.c_str();
  std::printf("replaying %s (%zu bytes)\n", current, bytes.size());
  std::fflush(stdout);
  ::alarm(30);
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  ::alarm(0);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGALRM, on_alarm);
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) replay(entry.path());
    } else {
      replay(arg);
    }
  }
  std::puts("all inputs passed");
  return 0;
}
