// Ops that cut and join. slice and embedding read by a list of positions, as gather does, and share its op
// (ops/read_at.hpp); concat copies blocks, and its rule cuts the gradient with slice.
#include "tapegrad/ops/indexing.hpp"

#include <numeric>

#include <fmt/format.h>

#include "ops/read_at.hpp"
#include "ops/rule_text.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {
namespace {

struct SliceText {
  static constexpr const char* forward = "y = x[start:stop:step, ...] (a Range per axis)";
  static constexpr const char* backward = "dx[start:stop:step, ...] += g";
};

template <class T>
struct ConcatOp final : Op<T> {
  static constexpr const char* forward_text = "y = [x0, x1, ...] joined along an axis";
  static constexpr const char* backward_text = "dxk = g's block of xk along that axis (slice)";
  std::size_t axis = 0;
  std::vector<std::size_t> offsets;  // along the axis, one per part, and the total last
  void backward(BackwardContext<T>& d) override {
    const Shape& out = d.output().shape();
    std::size_t outer = 1, inner = 1;
    for (std::size_t i = 0; i < axis; ++i) outer *= out[i];
    for (std::size_t i = axis + 1; i < out.rank(); ++i) inner *= out[i];
    const T* g = d.grad_output().data();
    for (std::size_t k = 0; k + 1 < offsets.size(); ++k) {
      if (!d.needs_grad(k)) continue;
      T* dx = d.input_grad(k).data();
      const std::size_t block = (offsets[k + 1] - offsets[k]) * inner, row = offsets.back() * inner;
      for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t e = 0; e < block; ++e) dx[o * block + e] += g[o * row + offsets[k] * inner + e];
    }
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    for (std::size_t k = 0; k + 1 < offsets.size(); ++k)
      if (d.needs_grad(k)) d.accumulate(k, slice(d.grad_output(), axis, offsets[k], offsets[k + 1]));
  }
};

struct EmbeddingText {
  static constexpr const char* forward = "y[i, :] = W[index_i, :]";
  static constexpr const char* backward = "dW[index_i, :] += g[i, :]  (repeated indices add up)";
};

std::string range_text(const Range& r) {
  return fmt::format("{}:{}:{}", r.start, r.stop == Range::kEnd ? std::string("end") : std::to_string(r.stop), r.step);
}

}  // namespace

namespace detail {
std::vector<DerivativeRule> indexing_rules() {
  const char* f = "indexing";
  return {rule_text<ReadAtOp<double, SliceText>>("slice", f), rule_text<ConcatOp<double>>("concat", f),
          rule_text<ReadAtOp<double, EmbeddingText>>("embedding", f)};
}
}  // namespace detail

template <class T>
Var<T> slice(const Var<T>& a, const std::vector<Range>& ranges) {
  const Shape& in = a.shape();
  if (ranges.size() > in.rank())
    throw ShapeError(fmt::format("slice: {} ranges for {}, which has {} axes", ranges.size(), in.str(), in.rank()));
  std::vector<std::size_t> dims(in.rank()), starts(in.rank(), 0), steps(in.rank(), 1);
  for (std::size_t axis = 0; axis < in.rank(); ++axis) {
    Range r = axis < ranges.size() ? ranges[axis] : Range{};
    if (r.stop == Range::kEnd) r.stop = in[axis];
    if (r.step == 0)
      throw ShapeError(fmt::format("slice: axis {}: step 0 (range {})", axis, range_text(ranges[axis])));
    if (r.stop > in[axis] || r.start >= r.stop)
      throw ShapeError(fmt::format("slice: axis {} of {} has extent {}; the range {} {}", axis, in.str(), in[axis],
                                   range_text(axis < ranges.size() ? ranges[axis] : Range{}),
                                   r.stop > in[axis] ? "ends beyond it" : "is empty"));
    dims[axis] = (r.stop - r.start + r.step - 1) / r.step;
    starts[axis] = r.start;
    steps[axis] = r.step;
  }
  const Shape out(dims);
  std::vector<std::size_t> strides(in.rank(), 1);
  for (std::size_t axis = in.rank(); axis-- > 1;) strides[axis - 1] = strides[axis] * in[axis];
  std::vector<std::size_t> indices(out.numel());
  std::vector<std::size_t> at(in.rank(), 0);  // the output element's index, counted like an odometer
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::size_t flat = 0;
    for (std::size_t axis = 0; axis < in.rank(); ++axis)
      flat += (starts[axis] + at[axis] * steps[axis]) * strides[axis];
    indices[i] = flat;
    for (std::size_t axis = in.rank(); axis-- > 0;) {
      if (++at[axis] < dims[axis]) break;
      at[axis] = 0;
    }
  }
  return detail::read_at<SliceText>("slice", a, std::move(indices), out);
}

template <class T>
Var<T> slice(const Var<T>& a, std::size_t axis, std::size_t start, std::size_t stop, std::size_t step) {
  if (axis >= a.shape().rank())
    throw ShapeError(fmt::format("slice: axis {} of {}, which has {} axes", axis, a.shape().str(), a.shape().rank()));
  std::vector<Range> ranges(axis + 1);
  ranges[axis] = {start, stop, step};
  return slice(a, ranges);
}

template <class T>
std::vector<Var<T>> split(const Var<T>& a, std::size_t axis, const std::vector<std::size_t>& sizes) {
  const Shape& in = a.shape();
  if (axis >= in.rank())
    throw ShapeError(fmt::format("split: axis {} of {}, which has {} axes", axis, in.str(), in.rank()));
  std::size_t total = 0;
  for (std::size_t s : sizes) {
    if (s == 0) throw ShapeError(fmt::format("split: a piece of size 0 (sizes {})", fmt::join(sizes, ", ")));
    total += s;
  }
  if (total != in[axis])
    throw ShapeError(fmt::format("split: sizes {} add up to {}, but axis {} of {} has extent {}",
                                 fmt::join(sizes, ", "), total, axis, in.str(), in[axis]));
  std::vector<Var<T>> pieces;
  std::size_t start = 0;
  for (std::size_t s : sizes) {
    pieces.push_back(slice(a, axis, start, start + s));
    start += s;
  }
  return pieces;
}

template <class T>
Var<T> concat(const std::vector<Var<T>>& parts, std::size_t axis) {
  if (parts.empty()) throw ValueError("concat: no parts to join");
  const Shape& first = parts[0].shape();
  if (axis >= first.rank())
    throw ShapeError(fmt::format("concat: axis {} of {}, which has {} axes", axis, first.str(), first.rank()));
  std::vector<std::size_t> offsets{0};
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const Shape& s = parts[k].shape();
    bool agree = s.rank() == first.rank();
    for (std::size_t i = 0; agree && i < s.rank(); ++i) agree = i == axis || s[i] == first[i];
    if (!agree)
      throw ShapeError(fmt::format("concat: part {} has shape {}, part 0 {}: only axis {} may differ", k, s.str(),
                                   first.str(), axis));
    offsets.push_back(offsets.back() + s[axis]);
  }
  std::vector<std::size_t> dims = first.dims();
  dims[axis] = offsets.back();
  std::size_t outer = 1, inner = 1;
  for (std::size_t i = 0; i < axis; ++i) outer *= dims[i];
  for (std::size_t i = axis + 1; i < dims.size(); ++i) inner *= dims[i];
  auto r = record<ConcatOp<T>>("concat", parts);
  r.output.resize(Shape(dims));
  const std::size_t row = offsets.back() * inner;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    const T* x = r.var.tape().value(parts[k].index()).data();
    const std::size_t block = (offsets[k + 1] - offsets[k]) * inner;
    for (std::size_t o = 0; o < outer; ++o)
      std::copy(x + o * block, x + (o + 1) * block, r.output.data() + o * row + offsets[k] * inner);
  }
  if (r.op) {
    r.op->axis = axis;
    r.op->offsets = std::move(offsets);
  }
  return finish(r.var);
}

template <class T>
Var<T> stack(const std::vector<Var<T>>& parts, std::size_t axis) {
  if (parts.empty()) throw ValueError("stack: no parts to join");
  const Shape& first = parts[0].shape();
  if (axis > first.rank())
    throw ShapeError(fmt::format("stack: axis {} for parts of {}: a new axis goes at 0 to {}", axis, first.str(),
                                 first.rank()));
  std::vector<std::size_t> dims = first.dims();
  dims.insert(dims.begin() + static_cast<std::ptrdiff_t>(axis), 1);
  std::vector<Var<T>> lifted;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (parts[k].shape() != first)
      throw ShapeError(fmt::format("stack: part {} has shape {}, part 0 {}: stacked parts have one shape", k,
                                   parts[k].shape().str(), first.str()));
    lifted.push_back(reshape(parts[k], Shape(dims)));
  }
  return concat(lifted, axis);
}

template <class T>
Var<T> embedding(const Var<T>& weight, const std::vector<std::size_t>& indices, const Shape& indices_shape) {
  const Shape& w = weight.shape();
  if (w.rank() != 2)
    throw ShapeError(fmt::format("embedding: the weight has shape {}; it must be (rows, width)", w.str()));
  if (indices_shape.numel() != indices.size())
    throw ShapeError(fmt::format("embedding: {} indices for the shape {}", indices.size(), indices_shape.str()));
  const std::size_t rows = w[0], width = w[1];
  std::vector<std::size_t> positions(indices.size() * width);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= rows)
      throw ValueError(fmt::format("embedding: index {} at position {} is out of range for a weight of {} rows",
                                   indices[i], i, rows));
    for (std::size_t j = 0; j < width; ++j) positions[i * width + j] = indices[i] * width + j;
  }
  std::vector<std::size_t> dims = indices_shape.dims();
  dims.push_back(width);
  return detail::read_at<EmbeddingText>("embedding", weight, std::move(positions), Shape(dims));
}

#define TAPEGRAD_INSTANTIATE(T)                                                                            \
  template Var<T> slice(const Var<T>&, const std::vector<Range>&);                                         \
  template Var<T> slice(const Var<T>&, std::size_t, std::size_t, std::size_t, std::size_t);                \
  template std::vector<Var<T>> split(const Var<T>&, std::size_t, const std::vector<std::size_t>&);         \
  template Var<T> concat(const std::vector<Var<T>>&, std::size_t);                                         \
  template Var<T> stack(const std::vector<Var<T>>&, std::size_t);                                          \
  template Var<T> embedding(const Var<T>&, const std::vector<std::size_t>&, const Shape&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
