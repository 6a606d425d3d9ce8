// Runs every TEST_CASE of the C++ tests. Usage: rnnkit_cpp_tests [substring]...
// With arguments, only the test cases whose name contains one of them run.
// The last line is "N passed, M failed"; the exit status is non-zero if any failed.
#include <cstdio>
#include <cstring>
#include <exception>

#include "test_harness.h"

int main(int argc, char** argv) {
  using namespace rnnkit_test;
  int passed = 0;
  int failed = 0;
  for (const TestCase& test : registry()) {
    if (argc > 1) {
      bool selected = false;
      for (int i = 1; i < argc; ++i) selected = selected || std::strstr(test.name.c_str(), argv[i]) != nullptr;
      if (!selected) continue;
    }
    current() = RunState{};
    std::printf("[ RUN  ] %s\n", test.name.c_str());
    std::fflush(stdout);
    try {
      test.function();
    } catch (const AbortTest&) {
      // already recorded
    } catch (const std::exception& e) {
      record_failure(test.file, test.line, std::string("uncaught exception: ") + e.what());
    } catch (...) {
      record_failure(test.file, test.line, "uncaught non-std exception");
    }
    if (current().failures == 0) {
      ++passed;
      std::printf("[ PASS ] %s\n", test.name.c_str());
    } else {
      ++failed;
      std::printf("[ FAIL ] %s (%d failed check%s)\n", test.name.c_str(), current().failures,
                  current().failures == 1 ? "" : "s");
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
