// Exceptions thrown by rnnkit. Every check happens before any kernel runs, so a thrown call
// has written nothing to its outputs.
#pragma once

#include <stdexcept>
#include <string>

namespace rnnkit {

// Base of everything rnnkit throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bad value or shape: wrong rank, mismatched sizes, unknown names. Python sees ValueError.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A tensor of the wrong element type or on the wrong device. Python sees TypeError.
class TypeMismatch : public Error {
 public:
  using Error::Error;
};

}  // namespace rnnkit
