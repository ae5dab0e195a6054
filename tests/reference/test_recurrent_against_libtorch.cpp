// tapegrad's RNN, LSTM and GRU cells equal LibTorch's: the same weights (copied by name, LibTorch's layout),
// the same inputs, five steps from a given state; every output, the final state and every gradient (weights,
// biases, each input, the initial state) to 1e-12 in double.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>
#include <type_traits>

#include "tapegrad/tapegrad.hpp"

// LibTorch brings glog's CHECK, which aborts the process instead of reporting: doctest's, by its full name.
#undef CHECK
#define CHECK DOCTEST_CHECK

namespace tg = tapegrad;
using T = tg::Tensor<double>;
using V = tg::Var<double>;

namespace {

torch::Tensor to_torch(const T& t) {
  std::vector<int64_t> dims(t.shape().dims().begin(), t.shape().dims().end());
  return torch::from_blob(const_cast<double*>(t.data()), dims, torch::kFloat64).clone();
}

double max_difference(const T& ours, const torch::Tensor& theirs) {
  const torch::Tensor flat = theirs.contiguous().view({-1});
  REQUIRE(static_cast<std::size_t>(flat.numel()) == ours.size());
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, std::abs(ours[i] - flat[i].item<double>()));
  return worst;
}

// Copies the torch module's parameters (by LibTorch's names) into the tapegrad cell.
void copy_weights(torch::nn::Module& from, tg::Module<double>& to) {
  for (auto& [name, p] : to.named_parameters()) {
    const torch::Tensor t = from.named_parameters()[name].contiguous();
    REQUIRE(static_cast<std::size_t>(t.numel()) == p->value.size());
    for (std::size_t i = 0; i < p->value.size(); ++i) p->value[i] = t.view({-1})[i].item<double>();
  }
}

struct Sequence {
  std::vector<T> xs;
  std::vector<T> states;  // h0 (and c0)
  T weights;              // the loss is sum over steps of sum(weights * h_t)
};

Sequence random_sequence(std::size_t steps, std::size_t batch, std::size_t input, std::size_t hidden,
                         std::size_t states, tg::Rng& rng) {
  Sequence s;
  for (std::size_t t = 0; t < steps; ++t) s.xs.push_back(T::randn({batch, input}, rng));
  for (std::size_t k = 0; k < states; ++k) s.states.push_back(T::randn({batch, hidden}, rng, 0.5));
  s.weights = T::randn({batch, hidden}, rng);
  return s;
}

// Runs both and compares; `ours` and `theirs` take one step from a list of states to the next.
template <class Ours, class Theirs>
void compare(tg::Module<double>& cell, torch::nn::Module& reference, const Sequence& seq, Ours ours,
             Theirs theirs) {
  copy_weights(reference, cell);
  tg::Tape<double> tape;
  std::vector<V> xs, state;
  for (const T& x : seq.xs) xs.push_back(tape.variable(x));
  for (const T& s : seq.states) state.push_back(tape.variable(s));
  const std::vector<V> initial = state;
  std::vector<torch::Tensor> txs, tstate;
  for (const T& x : seq.xs) txs.push_back(to_torch(x).requires_grad_(true));
  for (const T& s : seq.states) tstate.push_back(to_torch(s).requires_grad_(true));
  const std::vector<torch::Tensor> tinitial = tstate;
  V loss = tape.scalar(0.0);
  torch::Tensor tloss = torch::zeros({}, torch::kFloat64);
  const torch::Tensor tw = to_torch(seq.weights);
  for (std::size_t t = 0; t < xs.size(); ++t) {
    state = ours(tape, xs[t], state);
    tstate = theirs(txs[t], tstate);
    CHECK(max_difference(state[0].value(), tstate[0].detach()) < 1e-12);
    loss = loss + tg::sum(state[0] * tape.constant(seq.weights));
    tloss = tloss + (tstate[0] * tw).sum();
  }
  for (std::size_t k = 0; k < state.size(); ++k)
    CHECK(max_difference(state[k].value(), tstate[k].detach()) < 1e-12);
  cell.zero_grad();
  loss.backward();
  tloss.backward();
  CHECK(std::abs(loss.item() - tloss.item<double>()) < 1e-12);
  for (auto& [name, p] : cell.named_parameters()) {
    CAPTURE(name);
    CHECK(max_difference(p->grad(), reference.named_parameters()[name].grad()) < 1e-12);
  }
  for (std::size_t t = 0; t < xs.size(); ++t) CHECK(max_difference(xs[t].grad(), txs[t].grad()) < 1e-12);
  for (std::size_t k = 0; k < initial.size(); ++k)
    CHECK(max_difference(initial[k].grad(), tinitial[k].grad()) < 1e-12);
}

}  // namespace

TEST_CASE("RNN cells (tanh and relu) equal torch::nn::RNNCell: outputs, states and gradients to 1e-12") {
  torch::manual_seed(0);
  tg::Rng rng(7);
  for (const bool relu : {false, true}) {
    for (const auto& [input, hidden, batch] : {std::tuple{3, 5, 2}, std::tuple{1, 4, 1}, std::tuple{6, 2, 3}}) {
      CAPTURE(relu);
      CAPTURE(hidden);
      torch::nn::RNNCellOptions options(input, hidden);
      if (relu) options.nonlinearity(torch::kReLU);
      torch::nn::RNNCell theirs(options);
      theirs->to(torch::kFloat64);
      tg::RNNCell<double> ours(input, hidden, rng, relu ? tg::Nonlinearity::ReLU : tg::Nonlinearity::Tanh);
      const Sequence seq = random_sequence(5, batch, input, hidden, 1, rng);
      compare(
          ours, *theirs, seq,
          [&](tg::Tape<double>& tape, const V& x, const std::vector<V>& s) {
            return std::vector<V>{ours.step(tape, x, s[0])};
          },
          [&](const torch::Tensor& x, const std::vector<torch::Tensor>& s) {
            return std::vector<torch::Tensor>{theirs->forward(x, s[0])};
          });
    }
  }
}

TEST_CASE("LSTM cells equal torch::nn::LSTMCell (gates i, f, g, o): outputs, both states and gradients to 1e-12") {
  torch::manual_seed(1);
  tg::Rng rng(8);
  for (const auto& [input, hidden, batch] : {std::tuple{3, 5, 2}, std::tuple{1, 4, 1}, std::tuple{6, 2, 3}}) {
    CAPTURE(hidden);
    torch::nn::LSTMCell theirs(torch::nn::LSTMCellOptions(input, hidden));
    theirs->to(torch::kFloat64);
    tg::LSTMCell<double> ours(input, hidden, rng);
    const Sequence seq = random_sequence(5, batch, input, hidden, 2, rng);
    compare(
        ours, *theirs, seq,
        [&](tg::Tape<double>& tape, const V& x, const std::vector<V>& s) {
          const tg::LSTMState<double> next = ours.step(tape, x, {s[0], s[1]});
          return std::vector<V>{next.h, next.c};
        },
        [&](const torch::Tensor& x, const std::vector<torch::Tensor>& s) {
          const auto [h, c] = theirs->forward(x, std::make_tuple(s[0], s[1]));
          return std::vector<torch::Tensor>{h, c};
        });
  }
}

TEST_CASE("GRU cells equal torch::nn::GRUCell (gates r, z, n): outputs, states and gradients to 1e-12") {
  torch::manual_seed(2);
  tg::Rng rng(9);
  for (const auto& [input, hidden, batch] : {std::tuple{3, 5, 2}, std::tuple{1, 4, 1}, std::tuple{6, 2, 3}}) {
    CAPTURE(hidden);
    torch::nn::GRUCell theirs(torch::nn::GRUCellOptions(input, hidden));
    theirs->to(torch::kFloat64);
    tg::GRUCell<double> ours(input, hidden, rng);
    const Sequence seq = random_sequence(5, batch, input, hidden, 1, rng);
    compare(
        ours, *theirs, seq,
        [&](tg::Tape<double>& tape, const V& x, const std::vector<V>& s) {
          return std::vector<V>{ours.step(tape, x, s[0])};
        },
        [&](const torch::Tensor& x, const std::vector<torch::Tensor>& s) {
          return std::vector<torch::Tensor>{theirs->forward(x, s[0])};
        });
  }
}

namespace {

// A sequence layer against its LibTorch twin: output, h_n (and c_n), the loss and every gradient to 1e-12.
template <class Ours, class Theirs>
void compare_sequence(Ours& ours, Theirs& theirs, bool batch_first, std::size_t steps, std::size_t batch,
                      std::size_t input, std::size_t hidden, std::size_t layers, bool lstm, tg::Rng& rng) {
  copy_weights(*theirs, ours);
  const T x = batch_first ? T::randn({batch, steps, input}, rng) : T::randn({steps, batch, input}, rng);
  const T h0 = T::randn({layers, batch, hidden}, rng, 0.5), c0 = T::randn({layers, batch, hidden}, rng, 0.5);
  const T w = batch_first ? T::randn({batch, steps, hidden}, rng) : T::randn({steps, batch, hidden}, rng);
  const T wh = T::randn({layers, batch, hidden}, rng);
  tg::Tape<double> tape;
  const V vx = tape.variable(x), vh = tape.variable(h0), vc = tape.variable(c0);
  const tg::SequenceResult<double> r = lstm ? ours.run(tape, vx, vh, vc) : ours.run(tape, vx, vh);
  V loss = tg::sum(r.output * tape.constant(w)) + tg::sum(r.h * tape.constant(wh));
  if (lstm) loss = loss + tg::sum(r.c * r.c);
  torch::Tensor tx = to_torch(x).requires_grad_(true), th = to_torch(h0).requires_grad_(true),
                tc = to_torch(c0).requires_grad_(true);
  torch::Tensor out, hn, cn;
  if constexpr (std::is_same_v<Theirs, torch::nn::LSTM>) {
    auto [o, state] = theirs->forward(tx, std::make_tuple(th, tc));
    out = o;
    hn = std::get<0>(state);
    cn = std::get<1>(state);
  } else {
    std::tie(out, hn) = theirs->forward(tx, th);
  }
  torch::Tensor tloss = (out * to_torch(w)).sum() + (hn * to_torch(wh)).sum();
  if (lstm) tloss = tloss + (cn * cn).sum();
  CHECK(max_difference(r.output.value(), out.detach()) < 1e-12);
  CHECK(max_difference(r.h.value(), hn.detach()) < 1e-12);
  if (lstm) CHECK(max_difference(r.c.value(), cn.detach()) < 1e-12);
  ours.zero_grad();
  loss.backward();
  tloss.backward();
  for (auto& [name, p] : ours.named_parameters()) {
    CAPTURE(name);
    CHECK(max_difference(p->grad(), theirs->named_parameters()[name].grad()) < 1e-12);
  }
  CHECK(max_difference(vx.grad(), tx.grad()) < 1e-12);
  CHECK(max_difference(vh.grad(), th.grad()) < 1e-12);
  if (lstm) CHECK(max_difference(vc.grad(), tc.grad()) < 1e-12);
}

}  // namespace

TEST_CASE("RNN, LSTM and GRU layers equal torch::nn's: 1 and 2 layers, time- and batch-first, 1 and 4 steps") {
  torch::manual_seed(3);
  tg::Rng rng(10);
  const std::size_t input = 3, hidden = 4, batch = 2;
  for (const std::size_t layers : {1, 2})
    for (const bool batch_first : {false, true})
      for (const std::size_t steps : {1, 4}) {
        CAPTURE(layers);
        CAPTURE(batch_first);
        CAPTURE(steps);
        tg::SequenceOptions o;
        o.layers = layers;
        o.batch_first = batch_first;
        {
          torch::nn::LSTM theirs(torch::nn::LSTMOptions(input, hidden).num_layers(layers).batch_first(batch_first));
          theirs->to(torch::kFloat64);
          tg::LSTM<double> ours(input, hidden, rng, o);
          compare_sequence(ours, theirs, batch_first, steps, batch, input, hidden, layers, true, rng);
        }
        {
          torch::nn::GRU theirs(torch::nn::GRUOptions(input, hidden).num_layers(layers).batch_first(batch_first));
          theirs->to(torch::kFloat64);
          tg::GRU<double> ours(input, hidden, rng, o);
          compare_sequence(ours, theirs, batch_first, steps, batch, input, hidden, layers, false, rng);
        }
        {
          torch::nn::RNN theirs(torch::nn::RNNOptions(input, hidden).num_layers(layers).batch_first(batch_first));
          theirs->to(torch::kFloat64);
          tg::RNN<double> ours(input, hidden, rng, o);
          compare_sequence(ours, theirs, batch_first, steps, batch, input, hidden, layers, false, rng);
        }
      }
}
