// stco/cpu.hpp — expressions, their gradients and the CPU kernels.
#pragma once

#include "stco/core/parallel.hpp"
#include "stco/expr/activation_stash.hpp"
#include "stco/expr/conv_params.hpp"
#include "stco/expr/epilogue.hpp"
#include "stco/expr/eval.hpp"
#include "stco/expr/explain.hpp"
#include "stco/expr/grad.hpp"
#include "stco/expr/nodes.hpp"
