#pragma once
// A one-line progress bar redrawn in place on a terminal (internal).
#include <chrono>
#include <cstdio>
#include <string>

namespace tapegrad::detail {

class ProgressBar {
 public:
  ProgressBar(std::FILE* out, std::string label, std::size_t total)
      : out_(out), label_(std::move(label)), total_(total), last_(std::chrono::steady_clock::now()) {}
  /// Redraws at most ten times a second, and always at the end; `seconds_left` (the whole run's, when known,
  /// else negative) is shown as "about N left".
  void update(std::size_t done, double loss, double seconds_left = -1);
  void finish();  // clears the line

 private:
  std::FILE* out_;
  std::string label_;
  std::size_t total_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace tapegrad::detail
