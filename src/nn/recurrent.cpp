#include "tapegrad/nn/recurrent.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

// LibTorch's initialisation of every recurrent weight and bias: uniform in [-1/sqrt(hidden), 1/sqrt(hidden)].
template <class T>
Tensor<T> recurrent_uniform(const Shape& shape, std::size_t hidden, Rng& rng) {
  const T bound = static_cast<T>(1 / std::sqrt(static_cast<double>(hidden)));
  return Tensor<T>::uniform(shape, rng, -bound, bound);
}

void check_sizes(const char* cell, std::size_t input, std::size_t hidden) {
  if (input == 0 || hidden == 0)
    throw ValueError(fmt::format("{}: sizes must be positive, got input {} and hidden {}", cell, input, hidden));
}

// x W_ih^T + b_ih and h W_hh^T + b_hh, after checking x (batch, input) and h (batch, hidden).
template <class T>
std::pair<Var<T>, Var<T>> projections(const std::string& cell, Tape<T>& tape, const Var<T>& x, const Var<T>& h,
                                      Parameter<T>& w_ih, Parameter<T>& w_hh, Parameter<T>& b_ih,
                                      Parameter<T>& b_hh) {
  const std::size_t input = w_ih.value.shape()[1], hidden = w_hh.value.shape()[1];
  if (x.shape().rank() != 2 || x.shape()[1] != input)
    throw ShapeError(fmt::format("{}: the input has shape {}; it takes (batch, {})", cell, x.shape().str(), input));
  if (h.shape() != Shape{x.shape()[0], hidden})
    throw ShapeError(fmt::format("{}: the state has shape {}; for a batch of {} it is ({}, {})", cell, h.shape().str(),
                                 x.shape()[0], x.shape()[0], hidden));
  return {matmul(x, tape.parameter(w_ih), false, true) + tape.parameter(b_ih),
          matmul(h, tape.parameter(w_hh), false, true) + tape.parameter(b_hh)};
}

template <class T>
Var<T> zero_state(Tape<T>& tape, const Var<T>& x, std::size_t hidden) {
  const std::size_t batch = x.shape().rank() == 2 ? x.shape()[0] : 1;
  return tape.constant(Tensor<T>::zeros({batch, hidden}));
}

}  // namespace

// ---- Embedding

template <class T>
Embedding<T>::Embedding(std::size_t count, std::size_t width, Rng& rng)
    : weight("weight", Tensor<T>::randn(Shape{count, width}, rng, T(1))) {
  if (count == 0 || width == 0)
    throw ValueError(fmt::format("Embedding: sizes must be positive, got {} rows of width {}", count, width));
  this->register_parameter("weight", weight);
}

template <class T>
Var<T> Embedding<T>::lookup(Tape<T>& tape, const std::vector<std::size_t>& indices, const Shape& shape) {
  return embedding(tape.parameter(weight), indices, shape);
}

template <class T>
Var<T> Embedding<T>::forward(Tape<T>& tape, const Var<T>& x) {
  const Tensor<T>& values = x.value();
  std::vector<std::size_t> indices(values.size());
  const std::size_t count = weight.value.shape()[0];
  for (std::size_t i = 0; i < values.size(); ++i) {
    const T v = values[i];
    if (!(v >= 0 && v < static_cast<T>(count)) || v != std::floor(v))
      throw ValueError(fmt::format("{}: the input's value {} at position {} is not a row index (a whole number in [0, "
                                   "{}))",
                                   describe(), v, i, count));
    indices[i] = static_cast<std::size_t>(v);
  }
  return lookup(tape, indices, values.shape());
}

template <class T>
std::string Embedding<T>::describe() const {
  return fmt::format("Embedding({}, {})", weight.value.shape()[0], weight.value.shape()[1]);
}

// ---- RNNCell

template <class T>
RNNCell<T>::RNNCell(std::size_t input, std::size_t hidden, Rng& rng, Nonlinearity nonlinearity)
    : weight_ih("weight_ih", recurrent_uniform<T>(Shape{hidden, input}, hidden, rng)),
      weight_hh("weight_hh", recurrent_uniform<T>(Shape{hidden, hidden}, hidden, rng)),
      bias_ih("bias_ih", recurrent_uniform<T>(Shape{hidden}, hidden, rng)),
      bias_hh("bias_hh", recurrent_uniform<T>(Shape{hidden}, hidden, rng)),
      nonlinearity_(nonlinearity) {
  check_sizes("RNNCell", input, hidden);
  for (Parameter<T>* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh}) this->register_parameter(p->name, *p);
}

template <class T>
Var<T> RNNCell<T>::step(Tape<T>& tape, const Var<T>& x, const Var<T>& h) {
  const auto [from_x, from_h] = projections(describe(), tape, x, h, weight_ih, weight_hh, bias_ih, bias_hh);
  return nonlinearity_ == Nonlinearity::Tanh ? tanh(from_x + from_h) : relu(from_x + from_h);
}

template <class T>
Var<T> RNNCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return step(tape, x, zero_state(tape, x, weight_hh.value.shape()[0]));
}

template <class T>
std::string RNNCell<T>::describe() const {
  return fmt::format("RNNCell({} -> {}, {})", weight_ih.value.shape()[1], weight_ih.value.shape()[0],
                     nonlinearity_ == Nonlinearity::Tanh ? "tanh" : "relu");
}

// ---- LSTMCell

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input, std::size_t hidden, Rng& rng)
    : weight_ih("weight_ih", recurrent_uniform<T>(Shape{4 * hidden, input}, hidden, rng)),
      weight_hh("weight_hh", recurrent_uniform<T>(Shape{4 * hidden, hidden}, hidden, rng)),
      bias_ih("bias_ih", recurrent_uniform<T>(Shape{4 * hidden}, hidden, rng)),
      bias_hh("bias_hh", recurrent_uniform<T>(Shape{4 * hidden}, hidden, rng)) {
  check_sizes("LSTMCell", input, hidden);
  for (Parameter<T>* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh}) this->register_parameter(p->name, *p);
}

template <class T>
LSTMState<T> LSTMCell<T>::step(Tape<T>& tape, const Var<T>& x, const LSTMState<T>& state) {
  const std::size_t hidden = weight_hh.value.shape()[1];
  if (state.c.shape() != state.h.shape())
    throw ShapeError(fmt::format("{}: the cell state has shape {}, the hidden state {}", describe(),
                                 state.c.shape().str(), state.h.shape().str()));
  const auto [from_x, from_h] = projections(describe(), tape, x, state.h, weight_ih, weight_hh, bias_ih, bias_hh);
  const std::vector<Var<T>> gates = split(from_x + from_h, 1, {hidden, hidden, hidden, hidden});
  const Var<T> c = sigmoid(gates[1]) * state.c + sigmoid(gates[0]) * tanh(gates[2]);
  return {sigmoid(gates[3]) * tanh(c), c};
}

template <class T>
Var<T> LSTMCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  const Var<T> zero = zero_state(tape, x, weight_hh.value.shape()[1]);
  return step(tape, x, {zero, zero}).h;
}

template <class T>
std::string LSTMCell<T>::describe() const {
  return fmt::format("LSTMCell({} -> {})", weight_ih.value.shape()[1], weight_hh.value.shape()[1]);
}

// ---- GRUCell

template <class T>
GRUCell<T>::GRUCell(std::size_t input, std::size_t hidden, Rng& rng)
    : weight_ih("weight_ih", recurrent_uniform<T>(Shape{3 * hidden, input}, hidden, rng)),
      weight_hh("weight_hh", recurrent_uniform<T>(Shape{3 * hidden, hidden}, hidden, rng)),
      bias_ih("bias_ih", recurrent_uniform<T>(Shape{3 * hidden}, hidden, rng)),
      bias_hh("bias_hh", recurrent_uniform<T>(Shape{3 * hidden}, hidden, rng)) {
  check_sizes("GRUCell", input, hidden);
  for (Parameter<T>* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh}) this->register_parameter(p->name, *p);
}

template <class T>
Var<T> GRUCell<T>::step(Tape<T>& tape, const Var<T>& x, const Var<T>& h) {
  const std::size_t hidden = weight_hh.value.shape()[1];
  const auto [from_x, from_h] = projections(describe(), tape, x, h, weight_ih, weight_hh, bias_ih, bias_hh);
  const std::vector<Var<T>> xs = split(from_x, 1, {hidden, hidden, hidden});
  const std::vector<Var<T>> hs = split(from_h, 1, {hidden, hidden, hidden});
  const Var<T> r = sigmoid(xs[0] + hs[0]), z = sigmoid(xs[1] + hs[1]);
  const Var<T> n = tanh(xs[2] + r * hs[2]);
  return n + z * (h - n);  // (1 - z) n + z h
}

template <class T>
Var<T> GRUCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return step(tape, x, zero_state(tape, x, weight_hh.value.shape()[1]));
}

template <class T>
std::string GRUCell<T>::describe() const {
  return fmt::format("GRUCell({} -> {})", weight_ih.value.shape()[1], weight_hh.value.shape()[1]);
}

template class Embedding<float>;
template class Embedding<double>;
template class RNNCell<float>;
template class RNNCell<double>;
template class LSTMCell<float>;
template class LSTMCell<double>;
template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace tapegrad
