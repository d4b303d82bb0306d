// stco/nn/format_error.hpp — the error a malformed model file raises.
#pragma once

#include "stco/core/error.hpp"

namespace stco::nn {

/// A file that is not what it should be: bad magic, version or checksum, truncation, wrong
/// counts, or a record the model cannot take. The message names the file and the byte offset.
class format_error : public error {
 public:
  using error::error;
};

}  // namespace stco::nn
