// progress.hpp — the training progress display: a bar redrawn in place when stderr is a terminal,
// else a plain line every tenth of the epoch (logs and CI stay readable).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <string>

class progress {
 public:
  progress(std::string label, long total)
      : label_(std::move(label)), total_(total), tty_(isatty(fileno(stderr)) != 0) {}

  void update(long done, double loss, double seconds) {
    if (tty_) {
      const int width = 30;
      const int fill = total_ ? static_cast<int>(width * done / total_) : width;
      std::fprintf(stderr, "\r  %-24s [%s%s] %3ld%%  loss %.4f  %5.1fs", label_.c_str(),
                   std::string(static_cast<std::size_t>(fill), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - fill), '.').c_str(),
                   total_ ? 100 * done / total_ : 100, loss, seconds);
      std::fflush(stderr);
    } else {
      const long tenth = total_ >= 10 ? total_ / 10 : 1;
      if (done == total_ || done % tenth == 0)
        std::fprintf(stderr, "  %s: %ld/%ld batches, loss %.4f, %.1fs\n", label_.c_str(), done,
                     total_, loss, seconds);
    }
  }
  void finish() {
    if (tty_) std::fprintf(stderr, "\n");
  }

 private:
  std::string label_;
  long total_;
  bool tty_;
};
