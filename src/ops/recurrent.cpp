// The fused LSTM step and the ops that read and build its [h | c] states. The first-order rules work on buffers
// (one GEMM each way, one pass over the gates); the recorded rules write the same formulas with tapegrad's ops.
#include "tapegrad/ops/recurrent.hpp"

#include <fmt/format.h>

#include "ops/gemm.hpp"
#include "ops/rule_text.hpp"
#include "ops/vector_math.hpp"
#include "tapegrad/autograd/op.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

std::size_t row_of(const LstmStepAt& at, std::size_t batch, std::size_t b) {
  return at.batch_first ? b * at.steps + at.step : at.step * batch + b;
}

// The flat positions of this step's rows of the projected inputs (rows, 4H), for the recorded rule.
std::vector<std::size_t> step_positions(const LstmStepAt& at, std::size_t batch, std::size_t gates) {
  std::vector<std::size_t> out(batch * gates);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t j = 0; j < gates; ++j) out[b * gates + j] = row_of(at, batch, b) * gates + j;
  return out;
}

template <class T>
struct LstmStepOp final : Op<T> {
  static constexpr const char* forward_text =
      "[h | c] = state; z = P[t] + b_ih + h W_hh^T + b_hh; i, f, o = sigmoid, g = tanh of z's blocks; "
      "c' = f c + i g; y = [o tanh(c') | c']";
  static constexpr const char* backward_text =
      "dc' = g_c + g_h o (1 - tanh^2 c'); dz = [dc' g i(1-i), dc' c f(1-f), dc' i (1-g^2), g_h tanh(c') o(1-o)]; "
      "dP[t] += dz; db_ih, db_hh += column sums of dz; dW_hh += dz^T h; dstate += [dz W_hh | dc' f]";
  LstmStepAt at;
  std::size_t batch = 0, hidden = 0;
  Tensor<T> gates;   // (batch, 4H): i, f, g, o after their functions
  Tensor<T> tanh_c;  // (batch, H): tanh(c')
  Tensor<T> h;       // (batch, H): the state's h, contiguous
  Tensor<T> dz, dh;  // backward's scratch, kept for the next step

  void backward(BackwardContext<T>& d) override {
    const std::size_t H = hidden, G = 4 * H, B = batch;
    const T* g = d.grad_output().data();
    const T* state = d.input(1).data();
    const T* a = gates.data();
    dz.resize({B, G});
    T* dzp = dz.data();
    T* dstate = d.needs_grad(1) ? d.input_grad(1).data() : nullptr;
    for (std::size_t b = 0; b < B; ++b) {
      const T *ab = a + b * G, *gb = g + b * 2 * H, *tc = tanh_c.data() + b * H, *c = state + b * 2 * H + H;
      T* z = dzp + b * G;
      for (std::size_t j = 0; j < H; ++j) {
        const T i = ab[j], f = ab[H + j], gg = ab[2 * H + j], o = ab[3 * H + j], t = tc[j], dh_j = gb[j];
        const T dc = gb[H + j] + dh_j * o * (T(1) - t * t);
        z[j] = dc * gg * i * (T(1) - i);
        z[H + j] = dc * c[j] * f * (T(1) - f);
        z[2 * H + j] = dc * i * (T(1) - gg * gg);
        z[3 * H + j] = dh_j * t * o * (T(1) - o);
        if (dstate) dstate[b * 2 * H + H + j] += dc * f;
      }
    }
    if (d.needs_grad(0)) {
      T* dp = d.input_grad(0).data();
      for (std::size_t b = 0; b < B; ++b) {
        T* row = dp + row_of(at, B, b) * G;
        for (std::size_t j = 0; j < G; ++j) row[j] += dzp[b * G + j];
      }
    }
    for (std::size_t k : {std::size_t{3}, std::size_t{4}})
      if (d.needs_grad(k)) {
        T* db = d.input_grad(k).data();
        for (std::size_t b = 0; b < B; ++b)
          for (std::size_t j = 0; j < G; ++j) db[j] += dzp[b * G + j];
      }
    if (d.needs_grad(2)) detail::gemm<T>(true, false, G, H, B, dzp, h.data(), T(1), d.input_grad(2).data());
    if (dstate) {
      dh.resize({B, H});
      detail::gemm<T>(false, false, B, H, G, dzp, d.input(2).data(), T(0), dh.data());
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < H; ++j) dstate[b * 2 * H + j] += dh[b * H + j];
    }
  }

  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const std::size_t H = hidden, G = 4 * H, B = batch;
    const Var<T> p = d.input(0), state = d.input(1), w = d.input(2), g = d.grad_output();
    const std::vector<std::size_t> positions = step_positions(at, B, G);
    const Var<T> h_prev = slice(state, 1, 0, H), c = slice(state, 1, H, 2 * H);
    const Var<T> z = gather(p, positions, Shape{B, G}) + d.input(3) + d.input(4) + matmul(h_prev, w, false, true);
    const std::vector<Var<T>> blocks = split(z, 1, {H, H, H, H});
    const Var<T> i = sigmoid(blocks[0]), f = sigmoid(blocks[1]), gg = tanh(blocks[2]), o = sigmoid(blocks[3]);
    const Var<T> t = tanh(f * c + i * gg);
    const Var<T> dh = slice(g, 1, 0, H);
    const Var<T> dc = slice(g, 1, H, 2 * H) + dh * o * (1.0 - t * t);
    const Var<T> dzv = concat(std::vector<Var<T>>{dc * gg * i * (1.0 - i), dc * c * f * (1.0 - f),
                                                  dc * i * (1.0 - gg * gg), dh * t * o * (1.0 - o)},
                              1);
    if (d.needs_grad(0)) d.accumulate(0, scatter_add(dzv, positions, p.shape()));
    if (d.needs_grad(1)) d.accumulate(1, concat(std::vector<Var<T>>{matmul(dzv, w), dc * f}, 1));
    if (d.needs_grad(2)) d.accumulate(2, matmul(dzv, h_prev, true, false));
    for (std::size_t k : {std::size_t{3}, std::size_t{4}})
      if (d.needs_grad(k)) d.accumulate(k, sum(dzv, {0}));
  }
};

template <class T>
struct StateHalvesOp final : Op<T> {
  static constexpr const char* forward_text = "y[n] = the h (half 0) or c (half 1) of state n, stacked on an axis";
  static constexpr const char* backward_text = "dstate_n[that half] += g[n]";
  std::size_t half = 0, axis = 0, count = 0, batch = 0, hidden = 0;
  // element (n, b, j) of the output, as laid out on `axis`
  std::size_t at(std::size_t n, std::size_t b, std::size_t j) const {
    return (axis == 0 ? n * batch + b : b * count + n) * hidden + j;
  }
  void backward(BackwardContext<T>& d) override {
    const T* g = d.grad_output().data();
    for (std::size_t n = 0; n < count; ++n) {
      if (!d.needs_grad(n)) continue;
      T* ds = d.input_grad(n).data();
      for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < hidden; ++j) ds[b * 2 * hidden + half * hidden + j] += g[at(n, b, j)];
    }
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    const Var<T> zeros = d.constant(Tensor<T>::zeros(Shape{batch, hidden}));
    for (std::size_t n = 0; n < count; ++n) {
      if (!d.needs_grad(n)) continue;
      const Var<T> piece = reshape(slice(d.grad_output(), axis, n, n + 1), Shape{batch, hidden});
      d.accumulate(n, concat(half == 0 ? std::vector<Var<T>>{piece, zeros} : std::vector<Var<T>>{zeros, piece}, 1));
    }
  }
};

template <class T>
struct JoinStateOp final : Op<T> {
  static constexpr const char* forward_text = "y = [h[layer] | c[layer]]";
  static constexpr const char* backward_text = "dh[layer] += g's first half, dc[layer] += its second";
  std::size_t layer = 0, layers = 0, batch = 0, hidden = 0;
  void backward(BackwardContext<T>& d) override {
    const T* g = d.grad_output().data();
    for (std::size_t k = 0; k < 2; ++k) {
      if (!d.needs_grad(k)) continue;
      T* dx = d.input_grad(k).data() + layer * batch * hidden;
      for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t j = 0; j < hidden; ++j) dx[b * hidden + j] += g[b * 2 * hidden + k * hidden + j];
    }
  }
  void backward_on_tape(TapeBackwardContext<T>& d) override {
    for (std::size_t k = 0; k < 2; ++k) {
      if (!d.needs_grad(k)) continue;
      std::vector<Var<T>> parts;
      if (layer > 0) parts.push_back(d.constant(Tensor<T>::zeros(Shape{layer, batch, hidden})));
      parts.push_back(reshape(slice(d.grad_output(), 1, k * hidden, (k + 1) * hidden), Shape{1, batch, hidden}));
      if (layer + 1 < layers) parts.push_back(d.constant(Tensor<T>::zeros(Shape{layers - layer - 1, batch, hidden})));
      d.accumulate(k, concat(parts, 0));
    }
  }
};

// The gates' working buffer when nothing needs a gradient (no op is kept then).
template <class T>
Tensor<T>& scratch(std::size_t which) {
  thread_local Tensor<T> buffers[3];
  return buffers[which];
}

}  // namespace

namespace detail {
std::vector<DerivativeRule> recurrent_rules() {
  const char* f = "recurrent";
  return {rule_text<LstmStepOp<double>>("lstm_step", f), rule_text<StateHalvesOp<double>>("state_halves", f),
          rule_text<JoinStateOp<double>>("join_state", f)};
}
}  // namespace detail

template <class T>
Var<T> lstm_step(const Var<T>& projected, const LstmStepAt& at, const Var<T>& state, const Var<T>& w_hh,
                 const Var<T>& b_ih, const Var<T>& b_hh) {
  const Shape &s = state.shape(), &w = w_hh.shape(), &p = projected.shape();
  if (s.rank() != 2 || s[1] % 2 != 0 || s[1] == 0 || s[0] == 0)
    throw ShapeError(fmt::format("lstm_step: the state has shape {}; it is (batch, 2 hidden): [h | c]", s.str()));
  const std::size_t B = s[0], H = s[1] / 2, G = 4 * H;
  if (w.rank() != 2 || w[0] != G || w[1] != H)
    throw ShapeError(fmt::format("lstm_step: W_hh has shape {}; for a hidden size of {} it is ({}, {})", w.str(), H,
                                 G, H));
  const auto is_bias = [G](const Shape& b) { return b.rank() == 1 && b[0] == G; };  // no Shape built: no allocation
  if (!is_bias(b_ih.shape()) || !is_bias(b_hh.shape()))
    throw ShapeError(fmt::format("lstm_step: the biases have shapes {} and {}; each is ({},)", b_ih.shape().str(),
                                 b_hh.shape().str(), G));
  if (at.steps == 0 || at.step >= at.steps || p.rank() != 2 || p[1] != G || p[0] != B * at.steps)
    throw ShapeError(fmt::format("lstm_step: the projected inputs have shape {}; step {} of {} with a batch of {} "
                                 "reads ({}, {})",
                                 p.str(), at.step, at.steps, B, B * at.steps, G));
  auto r = record<LstmStepOp<T>>("lstm_step", {projected, state, w_hh, b_ih, b_hh});
  Tape<T>& tape = r.var.tape();
  Tensor<T>& gates = r.op ? r.op->gates : scratch<T>(0);
  Tensor<T>& tanh_c = r.op ? r.op->tanh_c : scratch<T>(1);
  Tensor<T>& h = r.op ? r.op->h : scratch<T>(2);
  gates.resize({B, G});
  tanh_c.resize({B, H});
  h.resize({B, H});
  const T *pv = tape.value(projected.index()).data(), *sv = tape.value(state.index()).data();
  const T *bi = tape.value(b_ih.index()).data(), *bh = tape.value(b_hh.index()).data();
  T* z = gates.data();
  for (std::size_t b = 0; b < B; ++b) {
    const T* row = pv + row_of(at, B, b) * G;
    for (std::size_t j = 0; j < G; ++j) z[b * G + j] = row[j] + bi[j] + bh[j];
    for (std::size_t j = 0; j < H; ++j) h[b * H + j] = sv[b * 2 * H + j];
  }
  detail::gemm<T>(false, true, B, G, H, h.data(), tape.value(w_hh.index()).data(), T(1), z);
  using detail::VectorFunction;
  for (std::size_t b = 0; b < B; ++b) {  // i and f, then g, then o
    T* gb = z + b * G;
    detail::apply_vector_function(VectorFunction::Sigmoid, gb, gb, 2 * H);
    detail::apply_vector_function(VectorFunction::Tanh, gb + 2 * H, gb + 2 * H, H);
    detail::apply_vector_function(VectorFunction::Sigmoid, gb + 3 * H, gb + 3 * H, H);
  }
  T* tc = tanh_c.data();
  for (std::size_t b = 0; b < B; ++b) {  // c' first, into tanh_c's buffer
    const T* gb = z + b * G;
    for (std::size_t j = 0; j < H; ++j) tc[b * H + j] = gb[H + j] * sv[b * 2 * H + H + j] + gb[j] * gb[2 * H + j];
  }
  r.output.resize({B, 2 * H});
  T* out = r.output.data();
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < H; ++j) out[b * 2 * H + H + j] = tc[b * H + j];
  detail::apply_vector_function(VectorFunction::Tanh, tc, tc, B * H);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < H; ++j) out[b * 2 * H + j] = z[b * G + 3 * H + j] * tc[b * H + j];
  if (r.op) {
    r.op->at = at;
    r.op->batch = B;
    r.op->hidden = H;
  }
  return finish(r.var);
}

template <class T>
Var<T> state_halves(const std::vector<Var<T>>& states, std::size_t half, std::size_t axis) {
  if (states.empty()) throw ShapeError("state_halves: no states");
  const Shape& s = states[0].shape();
  if (s.rank() != 2 || s[1] % 2 != 0 || s[1] == 0)
    throw ShapeError(fmt::format("state_halves: a state has shape {}; it is (batch, 2 hidden): [h | c]", s.str()));
  if (half > 1 || axis > 1)
    throw ShapeError(fmt::format("state_halves: half {} on axis {}; half is 0 (h) or 1 (c), the axis 0 or 1", half,
                                 axis));
  for (std::size_t n = 1; n < states.size(); ++n)
    if (states[n].shape() != s)
      throw ShapeError(fmt::format("state_halves: state {} has shape {}, state 0 {}", n, states[n].shape().str(),
                                   s.str()));
  const std::size_t N = states.size(), B = s[0], H = s[1] / 2;
  auto r = record<StateHalvesOp<T>>("state_halves", states);
  StateHalvesOp<T> layout;
  StateHalvesOp<T>& op = r.op ? *r.op : layout;
  op.half = half;
  op.axis = axis;
  op.count = N;
  op.batch = B;
  op.hidden = H;
  if (axis == 0) r.output.resize({N, B, H});
  else r.output.resize({B, N, H});
  T* out = r.output.data();
  Tape<T>& tape = r.var.tape();
  for (std::size_t n = 0; n < N; ++n) {
    const T* sv = tape.value(states[n].index()).data();
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < H; ++j) out[op.at(n, b, j)] = sv[b * 2 * H + half * H + j];
  }
  return finish(r.var);
}

template <class T>
Var<T> join_state(const Var<T>& h, const Var<T>& c, std::size_t layer) {
  const Shape& s = h.shape();
  if (s.rank() != 3 || c.shape() != s || layer >= s[0])
    throw ShapeError(fmt::format("join_state: h {} and c {}, layer {}; they are one shape (layers, batch, hidden) "
                                 "and the layer below the first",
                                 s.str(), c.shape().str(), layer));
  const std::size_t B = s[1], H = s[2];
  auto r = record<JoinStateOp<T>>("join_state", {h, c});
  if (r.op) {
    r.op->layer = layer;
    r.op->layers = s[0];
    r.op->batch = B;
    r.op->hidden = H;
  }
  r.output.resize({B, 2 * H});
  T* out = r.output.data();
  Tape<T>& tape = r.var.tape();
  const T *hv = tape.value(h.index()).data() + layer * B * H, *cv = tape.value(c.index()).data() + layer * B * H;
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < H; ++j) {
      out[b * 2 * H + j] = hv[b * H + j];
      out[b * 2 * H + H + j] = cv[b * H + j];
    }
  return finish(r.var);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                  \
  template Var<T> lstm_step(const Var<T>&, const LstmStepAt&, const Var<T>&, const Var<T>&, const Var<T>&,      \
                            const Var<T>&);                                                                      \
  template Var<T> state_halves(const std::vector<Var<T>>&, std::size_t, std::size_t);                            \
  template Var<T> join_state(const Var<T>&, const Var<T>&, std::size_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
