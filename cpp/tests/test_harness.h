// A tiny self-contained test harness for the C++ tests (no gtest, no network).
//
//   TEST_CASE(name) { CHECK(cond); CHECK_CLOSE(a, b, rtol, atol); ... }
//
// CHECK* record a failure with file:line and go on; REQUIRE* record it and end the test case.
// An exception escaping a test case fails it. test_main.cpp runs every registered case.
#pragma once

#include <cmath>
#include <cstring>
#include <cstdio>
#include <exception>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace rnnkit_test {

using TestFunction = std::function<void()>;

struct TestCase {
  std::string name;
  TestFunction function;
  const char* file;
  int line;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}

// Registers a test case at run time (for cases generated in a loop); TEST_CASE uses it too.
inline void add_test(std::string name, TestFunction function, const char* file, int line) {
  registry().push_back({std::move(name), std::move(function), file, line});
}

struct Registrar {
  Registrar(const char* name, TestFunction function, const char* file, int line) {
    add_test(name, std::move(function), file, line);
  }
};

// Failures of the test case that is running.
struct RunState {
  int failures = 0;
  int printed = 0;
};

inline RunState& current() {
  static RunState state;
  return state;
}

constexpr int kMaxPrintedFailures = 25;  // per test case; the count stays exact

inline void record_failure(const char* file, int line, const std::string& message) {
  RunState& state = current();
  ++state.failures;
  if (state.printed < kMaxPrintedFailures) {
    std::printf("  %s:%d: %s\n", file, line, message.c_str());
    ++state.printed;
  } else if (state.printed == kMaxPrintedFailures) {
    std::printf("  (further failures of this test not printed)\n");
    ++state.printed;
  }
  std::fflush(stdout);
}

// Thrown by REQUIRE* to end the current test case (already recorded as a failure).
struct AbortTest {};

inline bool close_enough(double actual, double expected, double rtol, double atol) {
  if (std::isnan(actual) || std::isnan(expected)) return false;
  return std::fabs(actual - expected) <= atol + rtol * std::fmax(std::fabs(actual), std::fabs(expected));
}

// True when `word` occurs in `text` with no identifier character ([A-Za-z0-9_]) on either side,
// so "kernel" does not match inside "recurrent_kernel".
inline bool contains_word(const std::string& text, const std::string& word) {
  auto ident = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  for (std::size_t pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    bool left = pos == 0 || !ident(text[pos - 1]);
    bool right = pos + word.size() >= text.size() || !ident(text[pos + word.size()]);
    if (left && right) return true;
  }
  return false;
}

// Runs every registered test case (with arguments, those whose name contains one of them);
// prints "N passed, M failed" last. Returns the exit status: non-zero if any failed or none ran.
inline int run_registered(int argc, char** argv) {
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

}  // namespace rnnkit_test

#define RNNKIT_TEST_CONCAT_(a, b) a##b
#define RNNKIT_TEST_CONCAT(a, b) RNNKIT_TEST_CONCAT_(a, b)

#define TEST_CASE(name)                                                                       \
  static void name();                                                                         \
  static const ::rnnkit_test::Registrar RNNKIT_TEST_CONCAT(rnnkit_test_registrar_, name)(     \
      #name, &name, __FILE__, __LINE__);                                                      \
  static void name()

#define RNNKIT_TEST_FAIL(message) ::rnnkit_test::record_failure(__FILE__, __LINE__, (message))

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) RNNKIT_TEST_FAIL(std::string("CHECK(") + #cond + ") failed"); \
  } while (0)

#define REQUIRE(cond)                                                     \
  do {                                                                    \
    if (!(cond)) {                                                        \
      RNNKIT_TEST_FAIL(std::string("REQUIRE(") + #cond + ") failed");     \
      throw ::rnnkit_test::AbortTest{};                                   \
    }                                                                     \
  } while (0)

// REQUIRE_MSG(cond, stream-expression): CHECK_MSG that ends the test case.
#define REQUIRE_MSG(cond, msg)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::ostringstream rnnkit_test_os_;                                      \
      rnnkit_test_os_ << "REQUIRE(" #cond ") failed: " << msg;                 \
      RNNKIT_TEST_FAIL(rnnkit_test_os_.str());                                 \
      throw ::rnnkit_test::AbortTest{};                                        \
    }                                                                          \
  } while (0)

// CHECK_MSG(cond, stream-expression): the message is built only on failure.
#define CHECK_MSG(cond, msg)                                                   \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::ostringstream rnnkit_test_os_;                                      \
      rnnkit_test_os_ << "CHECK(" #cond ") failed: " << msg;                   \
      RNNKIT_TEST_FAIL(rnnkit_test_os_.str());                                 \
    }                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                                      \
  do {                                                                                      \
    const auto& rnnkit_test_a_ = (a);                                                       \
    const auto& rnnkit_test_b_ = (b);                                                       \
    if (!(rnnkit_test_a_ == rnnkit_test_b_)) {                                              \
      std::ostringstream rnnkit_test_os_;                                                   \
      rnnkit_test_os_ << "CHECK_EQ(" #a ", " #b ") failed: " << rnnkit_test_a_ << " vs "    \
                      << rnnkit_test_b_;                                                    \
      RNNKIT_TEST_FAIL(rnnkit_test_os_.str());                                              \
    }                                                                                       \
  } while (0)

#define CHECK_CLOSE(a, b, rtol, atol)                                                          \
  do {                                                                                         \
    const double rnnkit_test_a_ = static_cast<double>(a);                                      \
    const double rnnkit_test_b_ = static_cast<double>(b);                                      \
    if (!::rnnkit_test::close_enough(rnnkit_test_a_, rnnkit_test_b_, (rtol), (atol))) {        \
      std::ostringstream rnnkit_test_os_;                                                      \
      rnnkit_test_os_.precision(17);                                                           \
      rnnkit_test_os_ << "CHECK_CLOSE(" #a ", " #b ") failed: " << rnnkit_test_a_ << " vs "    \
                      << rnnkit_test_b_ << " (rtol " << (rtol) << ", atol " << (atol) << ")";  \
      RNNKIT_TEST_FAIL(rnnkit_test_os_.str());                                                 \
    }                                                                                          \
  } while (0)

// CHECK_THROWS_AS(expr, ExceptionType, "word"): expr throws ExceptionType (or a subclass) whose
// what() contains "word" as a whole word (pass "" to skip the message check).
#define CHECK_THROWS_AS(expr, Type, word)                                                      \
  do {                                                                                         \
    bool rnnkit_test_caught_ = false;                                                          \
    try {                                                                                      \
      (void)(expr);                                                                            \
    } catch (const Type& rnnkit_test_e_) {                                                     \
      rnnkit_test_caught_ = true;                                                              \
      const std::string rnnkit_test_word_ = (word);                                            \
      if (!rnnkit_test_word_.empty() &&                                                        \
          !::rnnkit_test::contains_word(rnnkit_test_e_.what(), rnnkit_test_word_)) {           \
        RNNKIT_TEST_FAIL(std::string("CHECK_THROWS_AS(" #expr ", " #Type "): message does not " \
                                     "name '") + rnnkit_test_word_ + "': " +                   \
                         rnnkit_test_e_.what());                                               \
      }                                                                                        \
    } catch (const std::exception& rnnkit_test_e_) {                                           \
      rnnkit_test_caught_ = true;                                                              \
      RNNKIT_TEST_FAIL(std::string("CHECK_THROWS_AS(" #expr ", " #Type "): threw another "     \
                                   "exception type: ") + rnnkit_test_e_.what());               \
    } catch (...) {                                                                            \
      rnnkit_test_caught_ = true;                                                              \
      RNNKIT_TEST_FAIL("CHECK_THROWS_AS(" #expr ", " #Type "): threw a non-std exception");    \
    }                                                                                          \
    if (!rnnkit_test_caught_)                                                                  \
      RNNKIT_TEST_FAIL("CHECK_THROWS_AS(" #expr ", " #Type "): nothing was thrown");           \
  } while (0)

#define CHECK_NOTHROW(expr)                                                                    \
  do {                                                                                         \
    try {                                                                                      \
      (void)(expr);                                                                            \
    } catch (const std::exception& rnnkit_test_e_) {                                           \
      RNNKIT_TEST_FAIL(std::string("CHECK_NOTHROW(" #expr "): threw: ") + rnnkit_test_e_.what()); \
    } catch (...) {                                                                            \
      RNNKIT_TEST_FAIL("CHECK_NOTHROW(" #expr "): threw a non-std exception");                 \
    }                                                                                          \
  } while (0)
