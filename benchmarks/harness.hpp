#pragma once
// A small timing harness: warm up, then time many repetitions and keep the median, min and max.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace bench {

struct Stats {
  double median = 0, min = 0, max = 0;  // seconds per call
  int reps = 0;
};

/// Times `reps` calls of f after `warmup` untimed calls.
template <class F>
Stats measure(F&& f, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t(static_cast<std::size_t>(reps));
  for (double& s : t) {
    const auto start = std::chrono::steady_clock::now();
    f();
    s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back(), reps};
}

/// Times `reps` rounds of calling each function once, in turn, after `warmup` such rounds: functions whose times
/// are compared (a step and its GEMM floor) see the same state of a noisy machine. One Stats per function.
inline std::vector<Stats> measure_interleaved(const std::vector<std::function<void()>>& fs, int warmup, int reps) {
  for (int i = 0; i < warmup; ++i)
    for (const auto& f : fs) f();
  std::vector<std::vector<double>> t(fs.size(), std::vector<double>(static_cast<std::size_t>(reps)));
  for (std::size_t r = 0; r < static_cast<std::size_t>(reps); ++r)
    for (std::size_t k = 0; k < fs.size(); ++k) {
      const auto start = std::chrono::steady_clock::now();
      fs[k]();
      t[k][r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  std::vector<Stats> out;
  for (std::vector<double>& times : t) {
    std::sort(times.begin(), times.end());
    out.push_back({times[times.size() / 2], times.front(), times.back(), reps});
  }
  return out;
}

}  // namespace bench
