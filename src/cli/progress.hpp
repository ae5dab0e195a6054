#pragma once
// Progress of work that spans many runs: how many of all their steps are done, and the time left, as a bar
// on a terminal (standard error); the runs' own lines go to standard output around it.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace cli {

class OverallProgress {
 public:
  /// `visible`: draw at all (false on every process but 0, and when standard error is not a terminal).
  OverallProgress(std::size_t total_steps, std::size_t runs, bool visible);
  void step() { steps_done_.fetch_add(1, std::memory_order_relaxed); }  // from any thread
  void run_done() { ++runs_done_; }
  /// Redraws the bar (from the thread that prints).
  void draw();
  /// Prints text to standard output with the bar out of its way.
  void print(const std::string& text);
  void clear();

 private:
  std::atomic<std::size_t> steps_done_{0};
  std::size_t total_steps_, runs_, runs_done_ = 0;
  bool visible_, drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};


}  // namespace cli
