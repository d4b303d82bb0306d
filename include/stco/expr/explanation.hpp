// stco/expr/explanation.hpp — what stco::explain (CPU, expr/explain.hpp) and stco::cuda::explain
// (expr/cuda/explain.cuh) return: one line for each of a layer's three calls.
#pragma once

#include <ostream>
#include <sstream>
#include <string>

namespace stco {

/// What the three calls of one layer run, one line each: forward, dX, dW. Line is a string on
/// the CPU (stco::explain) and a route on CUDA (stco::cuda::explain); both print with <<.
template <class Line>
struct explanation_of {
  Line forward, grad_x, grad_w;
};
template <class Line>
std::ostream& operator<<(std::ostream& os, const explanation_of<Line>& e) {
  return os << e.forward << '\n' << e.grad_x << '\n' << e.grad_w << '\n';
}
template <class Line>
std::string to_string(const explanation_of<Line>& e) {
  std::ostringstream os;
  os << e;
  return os.str();
}

}  // namespace stco
