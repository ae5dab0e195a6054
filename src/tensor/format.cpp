#include "tapegrad/tensor/format.hpp"

namespace tapegrad {
namespace {

// Long axes are summarised as NumPy does: the first and last three entries around "...".
constexpr std::size_t kSummariseOver = 1000;
constexpr std::size_t kEdgeItems = 3;

template <class T>
void append_number(std::string& out, T v, int precision) {
  if (precision < 0) fmt::format_to(std::back_inserter(out), "{}", v);
  else fmt::format_to(std::back_inserter(out), "{:.{}g}", v, precision);
}

// Writes the sub-array at `axis` starting at flat `offset`; nesting depth is the rank (small).
template <class T>
void append_axis(std::string& out, const Tensor<T>& t, std::size_t axis, std::size_t offset, int precision,
                 bool summarise) {
  const Shape& s = t.shape();
  std::size_t stride = 1;
  for (std::size_t i = axis + 1; i < s.rank(); ++i) stride *= s[i];
  out += '[';
  const std::size_t n = s[axis];
  const bool cut = summarise && n > 2 * kEdgeItems;
  for (std::size_t i = 0; i < n; ++i) {
    if (cut && i == kEdgeItems) {
      out += axis + 1 == s.rank() ? "..., " : "...,\n" + std::string(axis + 1, ' ');
      i = n - kEdgeItems;
    }
    if (axis + 1 == s.rank()) append_number(out, t[offset + i * stride], precision);
    else append_axis(out, t, axis + 1, offset + i * stride, precision, summarise);
    if (i + 1 < n) {
      out += ',';
      out += axis + 1 == s.rank() ? std::string(" ") : std::string(s.rank() - axis - 1, '\n') + std::string(axis + 1, ' ');
    }
  }
  out += ']';
}

}  // namespace

template <class T>
std::string to_string(const Tensor<T>& t, int precision) {
  std::string out;
  if (t.rank() == 0) append_number(out, t[0], precision);
  else append_axis(out, t, 0, 0, precision, t.size() > kSummariseOver);
  return out;
}

template std::string to_string(const Tensor<float>&, int);
template std::string to_string(const Tensor<double>&, int);

}  // namespace tapegrad
