// Runs every TEST_CASE of the C++ tests. Usage: rnnkit_cpp_tests [substring]...
// With arguments, only the test cases whose name contains one of them run.
// The last line is "N passed, M failed"; the exit status is non-zero if any failed.
#include "test_harness.h"

int main(int argc, char** argv) { return rnnkit_test::run_registered(argc, argv); }
