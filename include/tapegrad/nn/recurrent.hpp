#pragma once
// Recurrent cells and the embedding table, in LibTorch's layout (weights and biases named and shaped as
// torch::nn::RNNCell, LSTMCell, GRUCell and Embedding, gates in its order), so weights move between the two.
// Each cell is built from tapegrad's ops, so its gradients, of every order, are theirs.
#include <string>
#include <vector>

#include <memory>

#include "tapegrad/tensor/random.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/module.hpp"

namespace tapegrad {

/// Rows of a (count, width) table by index (torch::nn::Embedding; weights drawn N(0, 1) as there).
template <class T>
class Embedding : public Module<T> {
 public:
  Embedding(std::size_t count, std::size_t width, Rng& rng);
  /// The rows `indices` names: shape `shape` + (width).
  Var<T> lookup(Tape<T>& tape, const std::vector<std::size_t>& indices, const Shape& shape);
  /// The same with the indices as the input's values (whole numbers in [0, count), as a data batch holds them):
  /// ValueError naming the position of one that is not.
  Var<T> forward(Tape<T>& tape, const Var<T>& indices) override;
  std::string describe() const override;

  Parameter<T> weight;  // "weight", (count, width)
};

enum class Nonlinearity { Tanh, ReLU };

/// What every cell holds and does alike: LibTorch's four tensors for `gates` gates of `hidden` units, drawn
/// uniformly from [-1/sqrt(hidden), 1/sqrt(hidden)] as there and registered under their names, and the two
/// projections each step starts from.
template <class T>
class RecurrentCell : public Module<T> {
 public:
  // (gates x hidden, input), (gates x hidden, hidden), (gates x hidden) twice
  Parameter<T> weight_ih, weight_hh, bias_ih, bias_hh;
  std::size_t input_size() const { return weight_ih.value.shape()[1]; }
  std::size_t hidden_size() const { return weight_hh.value.shape()[1]; }

 protected:
  /// ValueError naming `kind` for a size of 0.
  RecurrentCell(const char* kind, std::size_t gates, std::size_t input, std::size_t hidden, Rng& rng);
  /// x W_ih^T + b_ih and h W_hh^T + b_hh, after checking x (batch, input) and h (batch, hidden) (ShapeError
  /// naming the cell).
  std::pair<Var<T>, Var<T>> projections(Tape<T>& tape, const Var<T>& x, const Var<T>& h);
  /// Zeros (batch, hidden) for the batch of x.
  Var<T> zero_state(Tape<T>& tape, const Var<T>& x) const;
};

/// h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act tanh or relu (torch::nn::RNNCell).
template <class T>
class RNNCell : public RecurrentCell<T> {
 public:
  RNNCell(std::size_t input, std::size_t hidden, Rng& rng, Nonlinearity nonlinearity = Nonlinearity::Tanh);
  /// One step: x (batch, input), h (batch, hidden) -> h' (batch, hidden). ShapeError naming the cell otherwise.
  Var<T> step(Tape<T>& tape, const Var<T>& x, const Var<T>& h);
  /// One step from h = 0.
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

 private:
  Nonlinearity nonlinearity_;
};

template <class T>
struct LSTMState {
  Var<T> h, c;  // (batch, hidden) each
};

/// i, f, g, o = split(x W_ih^T + b_ih + h W_hh^T + b_hh) in that order (torch::nn::LSTMCell);
/// c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
template <class T>
class LSTMCell : public RecurrentCell<T> {
 public:
  LSTMCell(std::size_t input, std::size_t hidden, Rng& rng);
  LSTMState<T> step(Tape<T>& tape, const Var<T>& x, const LSTMState<T>& state);
  /// h' of one step from h = c = 0.
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;
};

/// r, z, n in that order (torch::nn::GRUCell): r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr), z likewise,
/// n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)), h' = (1 - z) n + z h.
template <class T>
class GRUCell : public RecurrentCell<T> {
 public:
  GRUCell(std::size_t input, std::size_t hidden, Rng& rng);
  Var<T> step(Tape<T>& tape, const Var<T>& x, const Var<T>& h);
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;
};

/// How a sequence layer stacks its cells and reads its input (torch::nn::RNNOptions and friends).
struct SequenceOptions {
  std::size_t layers = 1;        // each layer reads the outputs of the one below
  bool batch_first = false;      // input and output (batch, time, features) instead of (time, batch, features)
  double dropout = 0;            // inverted dropout on every layer's output but the last, in training mode
  Nonlinearity nonlinearity = Nonlinearity::Tanh;  // RNN only
  std::uint64_t seed = 0;        // the dropout's draws
};

/// What a sequence layer returns: every step's output of the top layer and each layer's final state, shaped as
/// LibTorch's (layers, batch, hidden). `c` only for an LSTM.
template <class T>
struct SequenceResult {
  Var<T> output;  // (time, batch, hidden), or (batch, time, hidden) when batch_first
  Var<T> h, c;
};

/// An RNN, LSTM or GRU over whole sequences (torch::nn::RNN, LSTM, GRU): `layers` cells, their parameters
/// registered under LibTorch's names (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, weight_ih_l1, ...).
template <class T, class Cell>
class SequenceLayer : public Module<T> {
 public:
  SequenceLayer(std::size_t input, std::size_t hidden, Rng& rng, SequenceOptions options = {});
  /// The whole sequence from initial states h0 (and c0 for an LSTM), each (layers, batch, hidden); default Vars
  /// mean zeros. ShapeError naming the layer for an input or state of another shape.
  SequenceResult<T> run(Tape<T>& tape, const Var<T>& x, const Var<T>& h0 = {}, const Var<T>& c0 = {});
  /// run(tape, x).output
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

  std::size_t layers() const { return cells_.size(); }
  Cell& cell(std::size_t layer) { return *cells_.at(layer); }
  const Cell& cell(std::size_t layer) const { return *cells_.at(layer); }

  /// Truncated backpropagation through time (DeZero's unchain_backward, PyTorch's detach): when stateful, a run
  /// without h0 (c0) starts from the final state of the run before, taken as a constant, so the next chunk of a
  /// long sequence goes on where the last stopped while its tape (and its memory) holds one chunk. A run with
  /// another batch size starts from zeros again.
  void set_stateful(bool stateful);
  /// Forget the carried state: the next run starts from zeros.
  void reset_state();

 private:
  // An LSTM runs fused: one matmul for every step's input projection, then one lstm_step node per step.
  SequenceResult<T> run_fused(Tape<T>& tape, const Var<T>& x, const Var<T>& h_init, const Var<T>& c_init);
  // An RNN or GRU runs its cell's step, built from ops, at every step of every layer.
  SequenceResult<T> run_by_steps(Tape<T>& tape, const Var<T>& x, const Var<T>& h_init);
  bool stateful_ = false;
  Tensor<T> carried_h_, carried_c_;  // the last run's final states (empty: none)
  Tensor<T> zeros_;                  // the zero initial state, kept so that a run allocates nothing
  std::vector<Var<T>> states_, finals_;  // run_fused's, kept for their capacity
  Shape flat_, state_shape_;             // (time x batch, features), (layers, batch, hidden)
  std::vector<std::unique_ptr<Cell>> cells_;
  std::vector<std::unique_ptr<Dropout<T>>> dropouts_;
  SequenceOptions options_;
  std::size_t input_, hidden_;
};

/// Mean softmax cross-entropy over every time step (the book's TimeSoftmaxWithLoss): logits (..., classes), one
/// label per position in row-major order; positions labelled `ignore` count for nothing. ValueError for a label
/// out of range or when every label is ignored; ShapeError for a label count that does not match.
inline constexpr std::size_t kNoIgnore = static_cast<std::size_t>(-1);
template <class T>
Var<T> sequence_cross_entropy(const Var<T>& logits, const std::vector<std::size_t>& labels,
                              std::size_t ignore = kNoIgnore);

/// Contiguous chunks of one long sequence for truncated BPTT (the book's and DeZero's SeqDataLoader): the sequence
/// is cut into `batch` rows of equal length, and chunk k holds steps [k chunk, (k + 1) chunk) of every row, with the
/// targets one step ahead. So row r of chunk k + 1 goes on where row r of chunk k stopped.
class SequenceBatcher {
 public:
  SequenceBatcher(std::vector<std::size_t> tokens, std::size_t batch, std::size_t chunk);
  std::size_t chunks() const;
  /// Chunk k: inputs and targets, each batch x chunk tokens in row-major order (batch, chunk).
  std::pair<std::vector<std::size_t>, std::vector<std::size_t>> operator[](std::size_t k) const;
  std::size_t batch() const { return batch_; }
  std::size_t chunk() const { return chunk_; }

 private:
  std::vector<std::size_t> tokens_;
  std::size_t batch_, chunk_, row_length_;
};

/// A sequence layer as one layer of a network over samples of one size (many-to-one, as sequential-MNIST
/// classifiers read images): each row of the input, a sample of shape `sample`, is read as a sequence, an image
/// (C, H, W) as H steps of C x W values (its rows, top to bottom) and a vector (F) as F steps of one value; the
/// output is the top layer's last h, (batch, hidden). What a network's layer list's lstm:, gru: and rnn: build.
template <class T, class Cell>
class LastHidden : public Module<T> {
 public:
  LastHidden(const Shape& sample, std::size_t hidden, std::size_t layers, Rng& rng);
  /// ShapeError naming the layer for rows that do not hold one sample each.
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  /// "LSTM(28 -> 128) over 28 steps, last h"
  std::string describe() const override;
  std::size_t steps() const { return steps_; }
  std::size_t width() const { return width_; }

 private:
  std::size_t steps_, width_;

 public:
  SequenceLayer<T, Cell> layer;  // registered as "rnn", "lstm" or "gru"

 private:
  Shape sequence_, last_;  // (batch, steps, width) and (batch, hidden), kept so that a call allocates nothing
};

template <class T>
using RNN = SequenceLayer<T, RNNCell<T>>;
template <class T>
using LSTM = SequenceLayer<T, LSTMCell<T>>;
template <class T>
using GRU = SequenceLayer<T, GRUCell<T>>;

extern template class LastHidden<float, RNNCell<float>>;
extern template class LastHidden<double, RNNCell<double>>;
extern template class LastHidden<float, LSTMCell<float>>;
extern template class LastHidden<double, LSTMCell<double>>;
extern template class LastHidden<float, GRUCell<float>>;
extern template class LastHidden<double, GRUCell<double>>;
extern template class SequenceLayer<float, RNNCell<float>>;
extern template class SequenceLayer<double, RNNCell<double>>;
extern template class SequenceLayer<float, LSTMCell<float>>;
extern template class SequenceLayer<double, LSTMCell<double>>;
extern template class SequenceLayer<float, GRUCell<float>>;
extern template class SequenceLayer<double, GRUCell<double>>;

#define TAPEGRAD_EXTERN_RECURRENT(L) \
  extern template class L<float>;    \
  extern template class L<double>;
TAPEGRAD_EXTERN_RECURRENT(Embedding)
TAPEGRAD_EXTERN_RECURRENT(RecurrentCell)
TAPEGRAD_EXTERN_RECURRENT(RNNCell)
TAPEGRAD_EXTERN_RECURRENT(LSTMCell)
TAPEGRAD_EXTERN_RECURRENT(GRUCell)
#undef TAPEGRAD_EXTERN_RECURRENT

}  // namespace tapegrad
