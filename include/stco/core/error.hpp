// stco/core/error.hpp — the exception types of every refusal (docs/design.md, "Errors").
//
// Every failure the library detects at run time throws one of these; the message names the
// operation, the shapes or the offending index. A throwing operation leaves its inputs unchanged.
#pragma once

#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace stco {

/// Base of every stco exception.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Operand shapes do not fit together (or do not fit a layout's index entity).
class shape_error : public error {
 public:
  using error::error;
};

/// A dense tensor given to `encode` does not satisfy the layout's sparsity pattern.
class pattern_error : public error {
 public:
  using error::error;
};

/// An index entity (loaded from outside, or corrupted) fails validation.
class index_error : public error {
 public:
  using error::error;
};

/// A parameter is out of its domain (sparsity outside [0, 1], a NaN score, ...).
class argument_error : public error {
 public:
  using error::error;
};

/// Memory for a buffer could not be had: its byte count exceeds what can be addressed, or the
/// allocator refused it (std::bad_alloc, rethrown with the byte count in the message).
class allocation_error : public error {
 public:
  using error::error;
};

/// A CUDA runtime call failed; `code()` is the `cudaError_t` value, `call()` the call's text.
class cuda_error : public error {
 public:
  cuda_error(int code, std::string call, const std::string& what)
      : error(what), code_(code), call_(std::move(call)) {}
  int code() const noexcept { return code_; }
  const std::string& call() const noexcept { return call_; }

 private:
  int code_;
  std::string call_;
};

namespace detail {
/// Concatenates anything streamable into one message string.
template <class... Args>
std::string message(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// f(), with a std::bad_alloc or std::length_error from the containers it fills rethrown as an
/// allocation_error whose message starts with `what` (the operation and its shape).
template <class F>
decltype(auto) allocating(const std::string& what, F&& f) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw allocation_error(what + ": out of memory");
  } catch (const std::length_error&) {
    throw allocation_error(what + ": a size exceeds what a container can hold");
  }
}
}  // namespace detail

}  // namespace stco
