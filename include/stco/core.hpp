// stco/core.hpp — module header: extents, tensors and views, value types, errors.
#pragma once

#include "stco/config.hpp"
#include "stco/core/bfloat16.hpp"
#include "stco/core/error.hpp"
#include "stco/core/extents.hpp"
#include "stco/core/half.hpp"
#include "stco/core/host_buffer.hpp"
#include "stco/core/index.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/core/value_traits.hpp"
