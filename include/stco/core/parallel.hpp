// stco/core/parallel.hpp — the CPU thread pool the kernels run on.
//
// One persistent pool per process, sized by set_num_threads(), else STCO_NUM_THREADS, else the
// hardware concurrency. parallel_for hands out indices dynamically, so uneven work (tiles with
// different kept counts) balances; the calling thread works too. Nested calls run serially.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {
namespace detail {

class thread_pool {
 public:
  static thread_pool& instance() {
    static thread_pool pool;
    return pool;
  }
  ~thread_pool() { resize(1); }

  int size() const { return threads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> run(run_mutex_);
    stop_workers();
    threads_ = std::max(1, n);
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  }

  /// Calls f(i) for every i in [0, n), spread over the pool. Rethrows the first exception.
  void run(index_t n, const std::function<void(index_t)>& f) {
    if (n <= 0) return;
    if (n == 1 || threads_ == 1 || in_pool_) {
      for (index_t i = 0; i < n; ++i) f(i);
      return;
    }
    std::lock_guard<std::mutex> run(run_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &f;
      count_ = n;
      next_.store(0);
      busy_ = static_cast<int>(workers_.size());
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return busy_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  thread_pool() {
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("STCO_NUM_THREADS")) n = std::atoi(env);
    resize(n > 0 ? n : 1);
  }

  void drain() {
    in_pool_ = true;
    for (index_t i; (i = next_.fetch_add(1)) < count_;) {
      try {
        (*job_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(count_);
      }
    }
    in_pool_ = false;
  }

  void work() {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      drain();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
  }

  int threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_, mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(index_t)>* job_ = nullptr;
  index_t count_ = 0;
  std::atomic<index_t> next_{0};
  int busy_ = 0;
  std::size_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  static inline thread_local bool in_pool_ = false;
};

}  // namespace detail

/// Threads the CPU kernels use (the caller included).
inline int num_threads() { return detail::thread_pool::instance().size(); }

/// Sets the CPU kernels' thread count (≥ 1). Not to be called while kernels run.
inline void set_num_threads(int n) {
  if (n < 1)
    throw argument_error(detail::message("stco::set_num_threads: ", n, " is not a thread count"));
  detail::thread_pool::instance().resize(n);
}

/// Calls f(i) for i in [0, n) on the pool; blocks until all are done.
template <class F>
void parallel_for(index_t n, F&& f) {
  const std::function<void(index_t)> job = std::ref(f);
  detail::thread_pool::instance().run(n, job);
}

}  // namespace stco
