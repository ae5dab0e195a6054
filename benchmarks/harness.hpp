#pragma once
// A small timing harness: warm up, then time many repetitions and keep the median, min and max.
#include <algorithm>
#include <chrono>
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

}  // namespace bench
