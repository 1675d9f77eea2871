// Exec'd by the address tests: `address_helper consume FD BYTES` attaches to the SpscQueue whose
// memfd it inherited as FD and checks BYTES bytes of the test stream. Exit 0 when all arrived.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>

#include "address_support.hpp"
#include "mmapxx/memfd.hpp"

int main(int argc, char** argv) {
  if (argc != 4 || std::strcmp(argv[1], "consume") != 0) {
    std::cerr << "usage: address_helper consume FD BYTES\n";
    return 64;
  }
  try {
    mmapxx::SpscQueue queue = mmapxx::SpscQueue::attach(
        mmapxx::SealedMemory::adopt(std::atoi(argv[2]), mmapxx::fixed_size, "inherited"));
    return mmapxx::test::consume(queue, std::strtoull(argv[3], nullptr, 10)) ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 2;
  }
}
