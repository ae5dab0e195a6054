#pragma once
// Weight initialisation as the book defines it: W = scale * randn, with scale fixed or from the fan-in.
#include <cstddef>
#include <string>

namespace tapegrad {

struct Init {
  enum class Kind { FixedStd, Xavier, He };
  Kind kind = Kind::FixedStd;
  double std = 0.01;

  static Init fixed_std(double s);  // ValueError unless s is finite and > 0
  static Init xavier() { return {Kind::Xavier, 0}; }  // the book's: sqrt(1 / fan_in)
  static Init he() { return {Kind::He, 0}; }          // sqrt(2 / fan_in)

  double scale(std::size_t fan_in) const;
  std::string str() const;
  /// "0.01", "xavier", "he"; throws ValueError otherwise.
  static Init parse(const std::string& text);
};

}  // namespace tapegrad
