// sparse_matrix's second argument must model the layout contract.
#include "stco/layouts.hpp"
struct not_a_layout {};
int main() {
#ifdef STCO_FAILTEST_OK
  stco::sparse_matrix<float, stco::csr>* p = nullptr;
#else
  stco::sparse_matrix<float, not_a_layout>* p = nullptr;
  (void)sizeof(*p);
#endif
  return p != nullptr;
}
