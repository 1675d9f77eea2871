// The scan tests' main: built with CATCH_CONFIG_NO_POSIX_SIGNALS, so that Catch2's SIGBUS handler
// does not sit in front of the one for_each_chunk relies on when a mapped file is truncated.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
