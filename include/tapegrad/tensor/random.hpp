#pragma once
// A seeded generator whose draws are the same on every platform (std::normal_distribution is not).
#include <cstdint>
#include <random>

namespace tapegrad {

/// SplitMix64's finaliser: a well-mixed 64-bit value from a key. Draws keyed by (seed, step, ...) through it need
/// no state carried between steps, runs or processes (augmentation, dropout under a Trainer).
std::uint64_t mix_seed(std::uint64_t key);

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}
  double uniform();                         // [0, 1)
  double uniform(double low, double high);  // [low, high)
  double normal();                          // standard normal, Box-Muller on raw draws
  std::uint64_t below(std::uint64_t n);     // uniform integer in [0, n)
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

}  // namespace tapegrad
