// bench/gpu/peers/clock.hpp — the card's clock and power state while a benchmark runs, read
// through NVML (libnvidia-ml.so.1, part of the driver, opened at run time so that the benchmarks
// build where no driver is installed). Under a power cap the SM clock falls with the switching
// activity of the data, so a timing means little without the clock it ran at: every timing of
// the peer module samples it halfway through its timed calls (timer.hpp).
#pragma once

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstdio>
#include <string>

namespace stco_bench::gpu {

/// One reading of the device's state (valid false where NVML is absent).
struct clock_sample {
  bool valid = false;
  unsigned sm_mhz = 0, sm_max_mhz = 0, temp_c = 0;
  double power_w = 0, limit_w = 0;
  unsigned long long reasons = 0;  // NVML clock event (throttle) reason bits

  bool power_capped() const { return (reasons & 0x4ull) != 0; }  // software power cap
  bool thermal() const { return (reasons & (0x20ull | 0x40ull)) != 0; }
  /// "1470/1980 MHz, 689/700 W, 61 C, power cap" (or "" when not valid).
  std::string text() const {
    if (!valid) return "";
    char b[160];
    std::snprintf(b, sizeof b, "%u/%u MHz, %.0f/%.0f W, %u C", sm_mhz, sm_max_mhz, power_w, limit_w,
                  temp_c);
    std::string s = b;
    if (power_capped()) s += ", power cap";
    if (thermal()) s += ", thermal slowdown";
    if (reasons & 0x8ull) s += ", hw slowdown";
    if (reasons & 0x80ull) s += ", power brake";
    return s;
  }
};

/// NVML opened once per process; every call is a no-op returning an invalid sample when the
/// library or the device cannot be found.
class nvml_probe {
 public:
  static nvml_probe& get() {
    static nvml_probe p;
    return p;
  }
  nvml_probe(const nvml_probe&) = delete;
  nvml_probe& operator=(const nvml_probe&) = delete;

  bool available() const { return dev_ != nullptr; }

  clock_sample sample() const {
    clock_sample c;
    if (!dev_) return c;
    unsigned v = 0;
    c.valid = clock_(dev_, kClockSm, &c.sm_mhz) == 0;
    if (max_clock_ && max_clock_(dev_, kClockSm, &v) == 0) c.sm_max_mhz = v;
    if (power_ && power_(dev_, &v) == 0) c.power_w = v / 1000.0;
    if (limit_ && limit_(dev_, &v) == 0) c.limit_w = v / 1000.0;
    if (temp_ && temp_(dev_, 0, &v) == 0) c.temp_c = v;
    unsigned long long r = 0;
    if (reasons_ && reasons_(dev_, &r) == 0) c.reasons = r;
    return c;
  }

 private:
  using device = void*;               // nvmlDevice_t, an opaque pointer
  static constexpr int kClockSm = 1;  // NVML_CLOCK_SM

  template <class F>
  F sym(const char* name) const {
    return reinterpret_cast<F>(dlsym(lib_, name));
  }

  nvml_probe() {
    lib_ = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib_) return;
    const auto init = sym<int (*)()>("nvmlInit_v2");
    const auto by_bus = sym<int (*)(const char*, device*)>("nvmlDeviceGetHandleByPciBusId_v2");
    clock_ = sym<int (*)(device, int, unsigned*)>("nvmlDeviceGetClockInfo");
    if (!init || !by_bus || !clock_ || init() != 0) return;
    max_clock_ = sym<int (*)(device, int, unsigned*)>("nvmlDeviceGetMaxClockInfo");
    power_ = sym<int (*)(device, unsigned*)>("nvmlDeviceGetPowerUsage");
    limit_ = sym<int (*)(device, unsigned*)>("nvmlDeviceGetEnforcedPowerLimit");
    temp_ = sym<int (*)(device, int, unsigned*)>("nvmlDeviceGetTemperature");
    // Renamed in recent drivers; the old name is still exported by them.
    reasons_ = sym<int (*)(device, unsigned long long*)>("nvmlDeviceGetCurrentClocksEventReasons");
    if (!reasons_)
      reasons_ =
          sym<int (*)(device, unsigned long long*)>("nvmlDeviceGetCurrentClocksThrottleReasons");
    // The CUDA device in use, found by its PCI bus id (CUDA and NVML number devices differently).
    int cur = 0;
    char bus[32] = {};
    if (cudaGetDevice(&cur) != cudaSuccess ||
        cudaDeviceGetPCIBusId(bus, sizeof bus, cur) != cudaSuccess)
      return;
    device d = nullptr;
    if (by_bus(bus, &d) == 0) dev_ = d;
  }

  void* lib_ = nullptr;
  device dev_ = nullptr;
  int (*clock_)(device, int, unsigned*) = nullptr;
  int (*max_clock_)(device, int, unsigned*) = nullptr;
  int (*power_)(device, unsigned*) = nullptr;
  int (*limit_)(device, unsigned*) = nullptr;
  int (*temp_)(device, int, unsigned*) = nullptr;
  int (*reasons_)(device, unsigned long long*) = nullptr;
};

inline clock_sample sample_clock() { return nvml_probe::get().sample(); }

}  // namespace stco_bench::gpu
