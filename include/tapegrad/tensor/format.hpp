#pragma once
// fmt support for values: fmt::print("{}", shape), fmt::print("{:.3}", tensor).
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

/// NumPy-like nested brackets; `precision` significant digits (-1: shortest round-trip form).
template <class T>
std::string to_string(const Tensor<T>& t, int precision = -1);

template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) { return os << to_string(t); }
inline std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

}  // namespace tapegrad

template <>
struct fmt::formatter<tapegrad::Shape> : fmt::formatter<std::string> {
  template <class Context>
  auto format(const tapegrad::Shape& s, Context& ctx) const {
    return fmt::formatter<std::string>::format(s.str(), ctx);
  }
};

template <class T>
struct fmt::formatter<tapegrad::Tensor<T>> {
  int precision = -1;
  constexpr auto parse(fmt::format_parse_context& ctx) {
    auto it = ctx.begin();
    if (it != ctx.end() && *it == '.') {
      precision = 0;
      for (++it; it != ctx.end() && *it >= '0' && *it <= '9'; ++it) precision = precision * 10 + (*it - '0');
    }
    if (it != ctx.end() && *it != '}') throw fmt::format_error("tapegrad tensors take only a precision, e.g. {:.4}");
    return it;
  }
  template <class Context>
  auto format(const tapegrad::Tensor<T>& t, Context& ctx) const {
    const std::string text = tapegrad::to_string(t, precision);
    return std::copy(text.begin(), text.end(), ctx.out());
  }
};
