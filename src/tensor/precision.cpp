#include "tapegrad/tensor/precision.hpp"

#include <cmath>

namespace tapegrad {
namespace {

// y rounded to the nearest whole number, ties to the even one, whatever the FPU's rounding mode.
double nearest_even(double y) {
  const double down = std::floor(y), rest = y - down;
  if (rest > 0.5 || (rest == 0.5 && std::fmod(down, 2.0) != 0)) return down + 1;
  return down;
}

}  // namespace

std::string to_string(Precision p) {
  switch (p) {
    case Precision::Float32: return "float32";
    case Precision::Float16: return "float16";
    case Precision::BFloat16: return "bfloat16";
  }
  return "?";
}

double round_to(double x, Precision p) {
  if (!std::isfinite(x) || x == 0) return x;
  if (p == Precision::Float32) return static_cast<double>(static_cast<float>(x));
  // The format's spacing at |x|: 2^(e - 1 - fraction bits) for |x| in [2^(e-1), 2^e), never below its smallest
  // subnormal. Scaling by a power of two is exact, so one nearbyint (ties to even) does the rounding.
  const int fraction_bits = p == Precision::Float16 ? 10 : 7;
  const int min_exponent = p == Precision::Float16 ? -14 : -126;  // of the normal numbers
  int e = 0;
  std::frexp(x, &e);
  const int spacing = std::max(e - 1, min_exponent) - fraction_bits;
  double r = std::ldexp(nearest_even(std::ldexp(x, -spacing)), spacing);
  if (p == Precision::Float16 && std::fabs(r) > 65504.0) r = std::copysign(INFINITY, x);
  if (p == Precision::BFloat16 && std::fabs(r) > 3.3895313892515355e38) r = std::copysign(INFINITY, x);
  return r;
}

template <class T>
std::size_t round_to(Tensor<T>& t, Precision p) {
  std::size_t overflowed = 0;
  for (T& v : t) {
    const bool finite = std::isfinite(v);
    v = static_cast<T>(round_to(static_cast<double>(v), p));
    overflowed += finite && !std::isfinite(v);
  }
  return overflowed;
}

template std::size_t round_to(Tensor<float>&, Precision);
template std::size_t round_to(Tensor<double>&, Precision);

}  // namespace tapegrad
