#include "tapegrad/nn/recurrent.hpp"

#include <cctype>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/recurrent.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

// LibTorch's initialisation of every recurrent weight and bias: uniform in [-1/sqrt(hidden), 1/sqrt(hidden)].
template <class T>
Tensor<T> recurrent_uniform(const Shape& shape, std::size_t hidden, Rng& rng) {
  const T bound = static_cast<T>(1 / std::sqrt(static_cast<double>(hidden)));
  return Tensor<T>::uniform(shape, rng, -bound, bound);
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

// ---- the cells

template <class T>
RecurrentCell<T>::RecurrentCell(const char* kind, std::size_t gates, std::size_t input, std::size_t hidden, Rng& rng)
    : weight_ih("weight_ih", recurrent_uniform<T>(Shape{gates * hidden, input}, hidden, rng)),
      weight_hh("weight_hh", recurrent_uniform<T>(Shape{gates * hidden, hidden}, hidden, rng)),
      bias_ih("bias_ih", recurrent_uniform<T>(Shape{gates * hidden}, hidden, rng)),
      bias_hh("bias_hh", recurrent_uniform<T>(Shape{gates * hidden}, hidden, rng)) {
  if (input == 0 || hidden == 0)
    throw ValueError(fmt::format("{}: sizes must be positive, got input {} and hidden {}", kind, input, hidden));
  for (Parameter<T>* p : {&weight_ih, &weight_hh, &bias_ih, &bias_hh}) this->register_parameter(p->name, *p);
}

template <class T>
std::pair<Var<T>, Var<T>> RecurrentCell<T>::projections(Tape<T>& tape, const Var<T>& x, const Var<T>& h) {
  const std::size_t input = input_size(), hidden = hidden_size();
  if (x.shape().rank() != 2 || x.shape()[1] != input)
    throw ShapeError(fmt::format("{}: the input has shape {}; it takes (batch, {})", this->describe(),
                                 x.shape().str(), input));
  if (h.shape() != Shape{x.shape()[0], hidden})
    throw ShapeError(fmt::format("{}: the state has shape {}; for a batch of {} it is ({}, {})", this->describe(),
                                 h.shape().str(), x.shape()[0], x.shape()[0], hidden));
  return {matmul(x, tape.parameter(weight_ih), false, true) + tape.parameter(bias_ih),
          matmul(h, tape.parameter(weight_hh), false, true) + tape.parameter(bias_hh)};
}

template <class T>
Var<T> RecurrentCell<T>::zero_state(Tape<T>& tape, const Var<T>& x) const {
  const std::size_t batch = x.shape().rank() == 2 ? x.shape()[0] : 1;
  return tape.constant(Tensor<T>::zeros({batch, hidden_size()}));
}

template <class T>
RNNCell<T>::RNNCell(std::size_t input, std::size_t hidden, Rng& rng, Nonlinearity nonlinearity)
    : RecurrentCell<T>("RNNCell", 1, input, hidden, rng), nonlinearity_(nonlinearity) {}

template <class T>
Var<T> RNNCell<T>::step(Tape<T>& tape, const Var<T>& x, const Var<T>& h) {
  const auto [from_x, from_h] = this->projections(tape, x, h);
  return nonlinearity_ == Nonlinearity::Tanh ? tanh(from_x + from_h) : relu(from_x + from_h);
}

template <class T>
Var<T> RNNCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return step(tape, x, this->zero_state(tape, x));
}

template <class T>
std::string RNNCell<T>::describe() const {
  return fmt::format("RNNCell({} -> {}, {})", this->input_size(), this->hidden_size(),
                     nonlinearity_ == Nonlinearity::Tanh ? "tanh" : "relu");
}

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input, std::size_t hidden, Rng& rng)
    : RecurrentCell<T>("LSTMCell", 4, input, hidden, rng) {}

template <class T>
LSTMState<T> LSTMCell<T>::step(Tape<T>& tape, const Var<T>& x, const LSTMState<T>& state) {
  const std::size_t hidden = this->hidden_size();
  if (state.c.shape() != state.h.shape())
    throw ShapeError(fmt::format("{}: the cell state has shape {}, the hidden state {}", describe(),
                                 state.c.shape().str(), state.h.shape().str()));
  const auto [from_x, from_h] = this->projections(tape, x, state.h);
  const std::vector<Var<T>> gates = split(from_x + from_h, 1, {hidden, hidden, hidden, hidden});
  const Var<T> c = sigmoid(gates[1]) * state.c + sigmoid(gates[0]) * tanh(gates[2]);
  return {sigmoid(gates[3]) * tanh(c), c};
}

template <class T>
Var<T> LSTMCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  const Var<T> zero = this->zero_state(tape, x);
  return step(tape, x, {zero, zero}).h;
}

template <class T>
std::string LSTMCell<T>::describe() const {
  return fmt::format("LSTMCell({} -> {})", this->input_size(), this->hidden_size());
}

template <class T>
GRUCell<T>::GRUCell(std::size_t input, std::size_t hidden, Rng& rng)
    : RecurrentCell<T>("GRUCell", 3, input, hidden, rng) {}

template <class T>
Var<T> GRUCell<T>::step(Tape<T>& tape, const Var<T>& x, const Var<T>& h) {
  const std::size_t hidden = this->hidden_size();
  const auto [from_x, from_h] = this->projections(tape, x, h);
  const std::vector<Var<T>> xs = split(from_x, 1, {hidden, hidden, hidden});
  const std::vector<Var<T>> hs = split(from_h, 1, {hidden, hidden, hidden});
  const Var<T> r = sigmoid(xs[0] + hs[0]), z = sigmoid(xs[1] + hs[1]);
  const Var<T> n = tanh(xs[2] + r * hs[2]);
  return n + z * (h - n);  // (1 - z) n + z h
}

template <class T>
Var<T> GRUCell<T>::forward(Tape<T>& tape, const Var<T>& x) {
  return step(tape, x, this->zero_state(tape, x));
}

template <class T>
std::string GRUCell<T>::describe() const {
  return fmt::format("GRUCell({} -> {})", this->input_size(), this->hidden_size());
}

// ---- sequence layers

namespace {
template <class T>
std::unique_ptr<RNNCell<T>> make_cell(RNNCell<T>*, std::size_t input, std::size_t hidden, Rng& rng,
                                      const SequenceOptions& o) {
  return std::make_unique<RNNCell<T>>(input, hidden, rng, o.nonlinearity);
}
template <class T>
std::unique_ptr<LSTMCell<T>> make_cell(LSTMCell<T>*, std::size_t input, std::size_t hidden, Rng& rng,
                                       const SequenceOptions&) {
  return std::make_unique<LSTMCell<T>>(input, hidden, rng);
}
template <class T>
std::unique_ptr<GRUCell<T>> make_cell(GRUCell<T>*, std::size_t input, std::size_t hidden, Rng& rng,
                                      const SequenceOptions&) {
  return std::make_unique<GRUCell<T>>(input, hidden, rng);
}
template <class Cell>
constexpr bool is_lstm = false;
template <class T>
constexpr bool is_lstm<LSTMCell<T>> = true;
template <class Cell>
const char* kind_of() {
  if constexpr (is_lstm<Cell>) return "LSTM";
  else if constexpr (std::is_same_v<Cell, GRUCell<float>> || std::is_same_v<Cell, GRUCell<double>>) return "GRU";
  else return "RNN";
}
}  // namespace

template <class T, class Cell>
SequenceLayer<T, Cell>::SequenceLayer(std::size_t input, std::size_t hidden, Rng& rng, SequenceOptions options)
    : options_(options), input_(input), hidden_(hidden) {
  if (options.layers == 0 || options.layers > 1000)
    throw ValueError(fmt::format("{}: {} layers asked for; 1 to 1000", kind_of<Cell>(), options.layers));
  if (!(options.dropout >= 0 && options.dropout < 1))
    throw ValueError(fmt::format("{}: dropout {} is not in [0, 1)", kind_of<Cell>(), options.dropout));
  for (std::size_t l = 0; l < options.layers; ++l) {
    cells_.push_back(make_cell(static_cast<Cell*>(nullptr), l == 0 ? input : hidden, hidden, rng, options));
    for (Parameter<T>* p : cells_.back()->parameters())  // LibTorch's names: weight_ih_l0, ...
      this->register_parameter(fmt::format("{}_l{}", p->name, l), *p);
    if (l + 1 < options.layers && options.dropout > 0)
      dropouts_.push_back(std::make_unique<Dropout<T>>(options.dropout, options.seed + l, Dropout<T>::Mode::Inverted));
  }
  for (std::size_t l = 0; l < dropouts_.size(); ++l)
    this->register_module(fmt::format("dropout_l{}", l), *dropouts_[l]);
}

template <class T, class Cell>
SequenceResult<T> SequenceLayer<T, Cell>::run(Tape<T>& tape, const Var<T>& x, const Var<T>& h0, const Var<T>& c0) {
  const Shape& in = x.shape();
  if (in.rank() != 3 || in[2] != input_ || in[0] == 0 || in[1] == 0)
    throw ShapeError(fmt::format("{}: the input has shape {}; it takes ({}, {}, {})", describe(), in.str(),
                                 options_.batch_first ? "batch" : "time", options_.batch_first ? "time" : "batch",
                                 input_));
  const std::size_t batch = in[options_.batch_first ? 0 : 1], layers = cells_.size();
  state_shape_.assign({layers, batch, hidden_});  // a kept Shape: a run allocates nothing
  const Shape& state_shape = state_shape_;
  const auto initial = [&](const Var<T>& given, const char* what) {
    if (!given.valid()) {
      if (zeros_.shape() != state_shape) zeros_ = Tensor<T>::zeros(state_shape);
      return tape.constant(zeros_);
    }
    if (given.shape() != state_shape)
      throw ShapeError(fmt::format("{}: {} has shape {}; for a batch of {} it is {}", describe(), what,
                                   given.shape().str(), batch, state_shape.str()));
    return given;
  };
  const bool carry = stateful_ && carried_h_.size() > 0 && carried_h_.shape() == state_shape;
  const Var<T> h_init = !h0.valid() && carry ? tape.constant(carried_h_) : initial(h0, "h0");
  const Var<T> c_init =
      !is_lstm<Cell> ? Var<T>{} : !c0.valid() && carry ? tape.constant(carried_c_) : initial(c0, "c0");
  if (!is_lstm<Cell> && c0.valid()) throw ValueError(fmt::format("{}: c0 is an LSTM's; leave it out", describe()));
  SequenceResult<T> result;
  if constexpr (is_lstm<Cell>) result = run_fused(tape, x, h_init, c_init);
  else result = run_by_steps(tape, x, h_init);
  if (stateful_) {  // values only: the next chunk's tape starts here
    carried_h_ = result.h.value();
    if constexpr (is_lstm<Cell>) carried_c_ = result.c.value();
  }
  return result;
}

template <class T, class Cell>
SequenceResult<T> SequenceLayer<T, Cell>::run_by_steps(Tape<T>& tape, const Var<T>& x, const Var<T>& h_init) {
  const std::size_t time_axis = options_.batch_first ? 1 : 0;
  const std::size_t steps = x.shape()[time_axis], batch = x.shape()[1 - time_axis], layers = cells_.size();
  std::vector<Var<T>> inputs;  // this layer's input at each step, (batch, features)
  for (std::size_t t = 0; t < steps; ++t)
    inputs.push_back(reshape(slice(x, time_axis, t, t + 1), Shape{batch, input_}));
  std::vector<Var<T>> final_h;
  for (std::size_t l = 0; l < layers; ++l) {
    Var<T> h = reshape(slice(h_init, 0, l, l + 1), Shape{batch, hidden_});
    std::vector<Var<T>> outputs;
    for (std::size_t t = 0; t < steps; ++t) {
      if constexpr (!is_lstm<Cell>) h = cells_[l]->step(tape, inputs[t], h);  // an LSTM runs fused, not here
      outputs.push_back(h);
    }
    final_h.push_back(h);
    if (l + 1 < layers && l < dropouts_.size())
      for (Var<T>& o : outputs) o = (*dropouts_[l])(tape, o);
    inputs = std::move(outputs);
  }
  return {stack(inputs, time_axis), stack(final_h, 0), Var<T>{}};
}

template <class T, class Cell>
SequenceResult<T> SequenceLayer<T, Cell>::run_fused(Tape<T>& tape, const Var<T>& x, const Var<T>& h_init,
                                                    const Var<T>& c_init) {
  const std::size_t time_axis = options_.batch_first ? 1 : 0;
  const std::size_t steps = x.shape()[time_axis], batch = x.shape()[1 - time_axis], layers = cells_.size();
  Var<T> input = x;
  finals_.clear();
  for (std::size_t l = 0; l < layers; ++l) {
    Cell& cell = *cells_[l];
    // every step's x W_ih^T at once; lstm_step adds the biases and h W_hh^T
    flat_.assign({steps * batch, input.shape()[2]});  // a kept Shape: no allocation
    const Var<T> projected = matmul(reshape(input, flat_), tape.parameter(cell.weight_ih), false, true);
    const Var<T> w_hh = tape.parameter(cell.weight_hh), b_ih = tape.parameter(cell.bias_ih);
    const Var<T> b_hh = tape.parameter(cell.bias_hh);
    Var<T> state = join_state(h_init, c_init, l);
    states_.clear();
    for (std::size_t t = 0; t < steps; ++t) {
      state = lstm_step(projected, LstmStepAt{t, steps, options_.batch_first}, state, w_hh, b_ih, b_hh);
      states_.push_back(state);
    }
    finals_.push_back(state);
    input = state_halves(states_, 0, time_axis);
    if (l + 1 < layers && l < dropouts_.size()) input = (*dropouts_[l])(tape, input);
  }
  return {input, state_halves(finals_, 0, 0), state_halves(finals_, 1, 0)};
}

template <class T, class Cell>
void SequenceLayer<T, Cell>::set_stateful(bool stateful) {
  stateful_ = stateful;
  reset_state();
}

template <class T, class Cell>
void SequenceLayer<T, Cell>::reset_state() {
  carried_h_ = Tensor<T>();
  carried_c_ = Tensor<T>();
}

template <class T>
Var<T> sequence_cross_entropy(const Var<T>& logits, const std::vector<std::size_t>& labels, std::size_t ignore) {
  const Shape& s = logits.shape();
  if (s.rank() < 2)
    throw ShapeError(fmt::format("sequence_cross_entropy: the logits have shape {}; they are (..., classes)", s.str()));
  const std::size_t classes = s[s.rank() - 1], positions = s.numel() / classes;
  if (labels.size() != positions)
    throw ShapeError(fmt::format("sequence_cross_entropy: {} labels for logits of shape {} ({} positions)",
                                 labels.size(), s.str(), positions));
  std::vector<std::size_t> picked(positions);
  Tensor<T> mask(Shape{positions});
  std::size_t counted = 0;
  for (std::size_t i = 0; i < positions; ++i) {
    if (labels[i] == ignore) continue;
    if (labels[i] >= classes)
      throw ValueError(fmt::format("sequence_cross_entropy: label {} at position {} is out of range for {} classes",
                                   labels[i], i, classes));
    picked[i] = labels[i];
    mask[i] = T(1);
    ++counted;
  }
  if (counted == 0)
    throw ValueError(fmt::format("sequence_cross_entropy: every one of the {} labels is the ignored label {}: there is "
                                 "no loss to average",
                                 positions, ignore));
  Tape<T>& tape = logits.tape();
  const Var<T> rows = reshape(logits, Shape{positions, classes});
  const T mean = static_cast<T>(1.0 / static_cast<double>(counted));
  return -sum(pick(log_softmax(rows), picked) * tape.constant(mask)) * mean;
}

SequenceBatcher::SequenceBatcher(std::vector<std::size_t> tokens, std::size_t batch, std::size_t chunk)
    : tokens_(std::move(tokens)), batch_(batch), chunk_(chunk), row_length_(0) {
  if (batch == 0 || chunk == 0)
    throw ValueError(fmt::format("SequenceBatcher: batch {} and chunk {} must be positive", batch, chunk));
  row_length_ = tokens_.empty() ? 0 : (tokens_.size() - 1) / batch;  // each input needs its next token as target
  if (row_length_ < chunk)
    throw ValueError(fmt::format("SequenceBatcher: {} tokens make {} rows of {} steps, fewer than one chunk of {}",
                                 tokens_.size(), batch, row_length_, chunk));
}

std::size_t SequenceBatcher::chunks() const { return row_length_ / chunk_; }

std::pair<std::vector<std::size_t>, std::vector<std::size_t>> SequenceBatcher::operator[](std::size_t k) const {
  if (k >= chunks())
    throw ValueError(fmt::format("SequenceBatcher: chunk {} asked for; there are {}", k, chunks()));
  std::vector<std::size_t> inputs(batch_ * chunk_), targets(batch_ * chunk_);
  for (std::size_t r = 0; r < batch_; ++r)
    for (std::size_t t = 0; t < chunk_; ++t) {
      const std::size_t at = r * row_length_ + k * chunk_ + t;
      inputs[r * chunk_ + t] = tokens_[at];
      targets[r * chunk_ + t] = tokens_[at + 1];
    }
  return {inputs, targets};
}

template Var<float> sequence_cross_entropy(const Var<float>&, const std::vector<std::size_t>&, std::size_t);
template Var<double> sequence_cross_entropy(const Var<double>&, const std::vector<std::size_t>&, std::size_t);

template <class T, class Cell>
Var<T> SequenceLayer<T, Cell>::forward(Tape<T>& tape, const Var<T>& x) {
  return run(tape, x).output;
}

template <class T, class Cell>
std::string SequenceLayer<T, Cell>::describe() const {
  std::string extra;
  if (cells_.size() > 1) extra += fmt::format(", {} layers", cells_.size());
  if (options_.batch_first) extra += ", batch first";
  if (options_.dropout > 0) extra += fmt::format(", dropout {:g}", options_.dropout);
  if (!is_lstm<Cell> && kind_of<Cell>()[0] == 'R' && options_.nonlinearity == Nonlinearity::ReLU) extra += ", relu";
  return fmt::format("{}({} -> {}{})", kind_of<Cell>(), input_, hidden_, extra);
}

// ---- LastHidden

namespace {
std::pair<std::size_t, std::size_t> steps_and_width(const Shape& sample) {
  if (sample.rank() == 3) return {sample[1], sample[0] * sample[2]};
  if (sample.rank() == 1) return {sample[0], 1};
  throw ShapeError(fmt::format("a sequence layer reads samples (C, H, W) or (F), not {}", sample.str()));
}
SequenceOptions stacked(std::size_t layers) {
  SequenceOptions o;
  o.batch_first = true;
  o.layers = layers;
  return o;
}
}  // namespace

template <class T, class Cell>
LastHidden<T, Cell>::LastHidden(const Shape& sample, std::size_t hidden, std::size_t layers, Rng& rng)
    : steps_(steps_and_width(sample).first),
      width_(steps_and_width(sample).second),
      layer(width_, hidden, rng, stacked(layers)) {
  if (steps_ == 0 || width_ == 0) throw ShapeError(fmt::format("{}: an empty sample {}", describe(), sample.str()));
  std::string name = kind_of<Cell>();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  this->register_module(name, layer);
}

template <class T, class Cell>
Var<T> LastHidden<T, Cell>::forward(Tape<T>& tape, const Var<T>& x) {
  const Shape& in = x.shape();
  if (in.rank() == 0 || in.numel() != in[0] * steps_ * width_)
    throw ShapeError(fmt::format("{}: the input has shape {}; each row is one sample of {} values", describe(),
                                 in.str(), steps_ * width_));
  const std::size_t batch = in[0], layers = layer.layers();
  sequence_.assign({batch, steps_, width_});
  const Var<T> h = layer.run(tape, reshape(x, sequence_)).h;  // (layers, batch, hidden)
  last_.assign({batch, h.shape()[2]});
  return reshape(layers == 1 ? h : slice(h, 0, layers - 1, layers), last_);
}

template <class T, class Cell>
std::string LastHidden<T, Cell>::describe() const {
  const std::size_t layers = layer.layers();
  return fmt::format("{}({} -> {}{}) over {} steps, last h", kind_of<Cell>(), width_, layer.cell(0).hidden_size(),
                     layers > 1 ? fmt::format(", {} layers", layers) : "", steps_);
}

template class SequenceLayer<float, RNNCell<float>>;
template class SequenceLayer<double, RNNCell<double>>;
template class SequenceLayer<float, LSTMCell<float>>;
template class SequenceLayer<double, LSTMCell<double>>;
template class SequenceLayer<float, GRUCell<float>>;
template class SequenceLayer<double, GRUCell<double>>;
template class LastHidden<float, RNNCell<float>>;
template class LastHidden<double, RNNCell<double>>;
template class LastHidden<float, LSTMCell<float>>;
template class LastHidden<double, LSTMCell<double>>;
template class LastHidden<float, GRUCell<float>>;
template class LastHidden<double, GRUCell<double>>;

template class RecurrentCell<float>;
template class RecurrentCell<double>;
template class Embedding<float>;
template class Embedding<double>;
template class RNNCell<float>;
template class RNNCell<double>;
template class LSTMCell<float>;
template class LSTMCell<double>;
template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace tapegrad
