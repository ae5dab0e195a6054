#include "tapegrad/tensor/random.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

std::uint64_t mix_seed(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() {
  // 53 random bits -> [0, 1), identical on every platform
  return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
}

double Rng::uniform(double low, double high) {
  if (!(low <= high) || !std::isfinite(low) || !std::isfinite(high))
    throw ValueError(fmt::format("Rng::uniform: needs finite low <= high, got [{}, {})", low, high));
  return low + (high - low) * uniform();
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 6.283185307179586 * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) throw ValueError("Rng::below: needs n >= 1 (a draw from [0, n))");
  // rejection sampling: unbiased, unlike engine() % n
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t r = engine_();
  while (r >= limit) r = engine_();
  return r % n;
}

}  // namespace tapegrad
