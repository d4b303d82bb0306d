// train_cuda.cu — train_fashion_mnist's --device cuda: the runs of train.hpp on stco::nn's CUDA
// backend (built when CMake finds CUDA; main.cpp calls run_cuda). The batch is prepared on the host
// as on the CPU and uploaded; the model, loss, optimizer and pruning run on the device.
#include <cuda_runtime.h>

#include <stco/nn/cuda.cuh>

#include "train.hpp"

namespace fmnist {

template <>
struct backend_io<nn::cuda_device> {
  using input = nn::device_tensor<float, 4>;
  /// Uploads host batch x into `dev` (resized when the batch size changes).
  static const input& input_of(const stco::tensor<float, 4>& x, input& dev) {
    nn::detail::ensure_shape(dev, nn::detail::shape_of(x));
    dev.copy_from_host(x, nn::cuda_device::stream());
    return dev;
  }
  static nn::cuda_device::optimizer sgd(float lr, float momentum, float decay, bool nesterov) {
    return nn::cuda_sgd(lr, momentum, decay, nesterov);
  }
  static void synchronize() { nn::cuda_device::synchronize(); }
  static std::string suffix() { return "_cuda"; }
  static std::string title() { return "CUDA, " + device_name(); }
  static std::string device_name() {
    int dev = 0;
    cudaDeviceProp p{};
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess)
      return "CUDA device (unknown)";
    return std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")";
  }
};

int run_cuda(const options& o, const data_set& d, index_t n_train, index_t n_test) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    std::fprintf(stderr, "train_fashion_mnist: --device cuda: no CUDA device is visible\n");
    return 2;
  }
  std::fprintf(stderr, "device: %s\n", backend_io<nn::cuda_device>::device_name().c_str());
  return run_all<nn::cuda_device>(o, d, n_train, n_test);
}

}  // namespace fmnist
