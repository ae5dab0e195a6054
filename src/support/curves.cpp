#include "support/curves.hpp"

#include <cmath>

namespace tapegrad::support {

std::vector<double> smooth_curve(const std::vector<double>& x) {
  constexpr long window = 11;
  const long n = static_cast<long>(x.size());
  if (n < window) return x;
  // s = r_[x[window-1:0:-1], x, x[-1:-window:-1]]
  std::vector<double> s;
  for (long i = window - 1; i > 0; --i) s.push_back(x[i]);
  s.insert(s.end(), x.begin(), x.end());
  for (long i = n - 1; i > n - window; --i) s.push_back(x[i]);
  // numpy.kaiser(11, 2)
  std::vector<double> w(window);
  double total = 0;
  for (long k = 0; k < window; ++k) {
    const double r = 2.0 * double(k) / double(window - 1) - 1.0;
    w[k] = std::cyl_bessel_i(0.0, 2.0 * std::sqrt(1 - r * r)) / std::cyl_bessel_i(0.0, 2.0);
    total += w[k];
  }
  // convolve(w / sum, s, mode='valid'), then drop 5 from each end
  std::vector<double> valid(s.size() - window + 1);
  for (std::size_t i = 0; i < valid.size(); ++i) {
    double acc = 0;
    for (long k = 0; k < window; ++k) acc += w[window - 1 - k] / total * s[i + k];
    valid[i] = acc;
  }
  return {valid.begin() + 5, valid.end() - 5};
}

long first_below(const std::vector<double>& values, double threshold) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < threshold) return static_cast<long>(i);
  return -1;
}

}  // namespace tapegrad::support
