#pragma once
// An LSTM step as one op (src/ops/recurrent.cpp): what tg::LSTM runs, so that a step is one node with one
// matrix product and one pass over its gates, forward and backward, instead of some twenty small ops. A state is
// one (batch, 2 hidden) tensor [h | c]. Each op has its recorded rule too, so every order is differentiable.
#include <cstddef>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// Where step `step` of `steps` finds its batch's rows in the projected inputs: row t * batch + b (time-first),
/// or b * steps + t (batch_first).
struct LstmStepAt {
  std::size_t step = 0, steps = 1;
  bool batch_first = false;
};

/// One LSTM step in torch::nn::LSTM's layout (gates i, f, g, o): with [h | c] = state (batch, 2H),
///   z = projected[rows of this step] + b_ih + h W_hh^T + b_hh, i, f, o = sigmoid and g = tanh of z's blocks,
///   c' = f c + i g, h' = o tanh(c'); returns [h' | c'].
/// `projected` (rows, 4H) holds x W_ih^T for every step of the sequence, computed by one matmul before the loop.
/// ShapeError naming the op for shapes that disagree.
template <class T>
Var<T> lstm_step(const Var<T>& projected, const LstmStepAt& at, const Var<T>& state, const Var<T>& w_hh,
                 const Var<T>& b_ih, const Var<T>& b_hh);

/// Half `half` (0: h, 1: c) of each state (batch, 2H), stacked along a new axis `axis`: (N, batch, H) for axis 0,
/// (batch, N, H) for axis 1. ShapeError for states of different shapes, an odd width, half > 1 or axis > 1.
template <class T>
Var<T> state_halves(const std::vector<Var<T>>& states, std::size_t half, std::size_t axis);

/// The state [h[layer] | c[layer]] (batch, 2H) from h and c, each (layers, batch, H).
template <class T>
Var<T> join_state(const Var<T>& h, const Var<T>& c, std::size_t layer);

}  // namespace tapegrad
