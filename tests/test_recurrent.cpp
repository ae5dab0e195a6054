// Embedding, RNNCell, LSTMCell and GRUCell: hand-computed values, gradients of every parameter, input and state
// over several steps at the first and second order, and the errors that name the cell.
#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;
using P = tg::Parameter<double>;

namespace {

// A (n, 1) matrix: T{{a}, {b}} would be ambiguous.
T column(std::vector<double> values) {
  T t(tg::Shape{values.size(), 1});
  for (std::size_t i = 0; i < values.size(); ++i) t[i] = values[i];
  return t;
}

// A recurrence over `steps` inputs from a checked initial state, as a function gradcheck can vary: every
// parameter of the cell, each input and the initial state(s) are checked.
template <class Cell, class Step>
void check_cell(Cell& cell, std::size_t input, std::size_t hidden, std::size_t states, Step step, tg::Rng& rng) {
  const std::size_t batch = 2, steps = 3;
  std::vector<P> xs, h0;
  xs.reserve(steps);
  h0.reserve(states);
  for (std::size_t t = 0; t < steps; ++t)
    xs.emplace_back("x" + std::to_string(t), testing::kink_free({batch, input}, rng));
  for (std::size_t s = 0; s < states; ++s)
    h0.emplace_back("state" + std::to_string(s), testing::kink_free({batch, hidden}, rng));
  std::vector<P*> params = cell.parameters();
  for (P& x : xs) params.push_back(&x);
  for (P& h : h0) params.push_back(&h);
  const auto f = [&](tg::Tape<double>& tape) {
    std::vector<V> state;
    for (P& h : h0) state.push_back(tape.parameter(h));
    V total = tape.scalar(0.0);
    for (P& x : xs) {
      state = step(tape, tape.parameter(x), state);
      total = total + tg::sum(state[0] * state[0]);
    }
    return total;
  };
  testing::check_first_and_second_order(f, params);
}

}  // namespace

TEST_CASE("an RNN cell of one unit, by hand: h' = tanh(w x + b + u h + c)") {
  tg::Rng rng(1);
  tg::RNNCell<double> cell(1, 1, rng);
  cell.weight_ih.value = column({0.5});
  cell.weight_hh.value = column({-0.25});
  cell.bias_ih.value = T{0.1};
  cell.bias_hh.value = T{0.2};
  tg::Tape<double> tape;
  const V h = cell.step(tape, tape.constant(column({2.0})), tape.constant(column({0.4})));
  CHECK(h.item() == doctest::Approx(std::tanh(0.5 * 2.0 + 0.1 - 0.25 * 0.4 + 0.2)).epsilon(1e-15));
  tg::RNNCell<double> relu_cell(1, 1, rng, tg::Nonlinearity::ReLU);
  relu_cell.weight_ih.value = column({-1.0});
  relu_cell.bias_ih.value = T{0.0};
  relu_cell.bias_hh.value = T{0.0};
  CHECK(relu_cell(tape, tape.constant(column({2.0}))).item() == 0.0);
  CHECK(cell.describe() == "RNNCell(1 -> 1, tanh)");
  CHECK(cell.parameter_count() == 4);
  // LibTorch's names and shapes
  tg::LSTMCell<double> lstm(3, 5, rng);
  const auto named = lstm.named_parameters();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "weight_ih");
  CHECK(named[0].second->value.shape() == tg::Shape{20, 3});
  CHECK(named[1].first == "weight_hh");
  CHECK(named[1].second->value.shape() == tg::Shape{20, 5});
  CHECK(named[3].first == "bias_hh");
  tg::GRUCell<double> gru(3, 5, rng);
  CHECK(gru.named_parameters()[2].second->value.shape() == tg::Shape{15});
}

TEST_CASE("an LSTM cell with its gates opened by hand: c' = f c + i g and h' = o tanh(c')") {
  tg::Rng rng(2);
  tg::LSTMCell<double> cell(1, 1, rng);
  cell.weight_ih.value = column({0.0, 0.0, 1.0, 0.0});  // only the cell input g reads x
  cell.weight_hh.value = T::zeros({4, 1});
  cell.bias_ih.value = T{1.0, -1.0, 0.0, 2.0};  // i, f, g, o
  cell.bias_hh.value = T::zeros({4});
  tg::Tape<double> tape;
  const tg::LSTMState<double> s =
      cell.step(tape, tape.constant(column({0.3})), {tape.constant(column({0.0})), tape.constant(column({0.5}))});
  const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double c = sig(-1.0) * 0.5 + sig(1.0) * std::tanh(0.3);
  CHECK(s.c.item() == doctest::Approx(c).epsilon(1e-15));
  CHECK(s.h.item() == doctest::Approx(sig(2.0) * std::tanh(c)).epsilon(1e-15));
}

TEST_CASE("a GRU cell by hand: h' = (1 - z) n + z h") {
  tg::Rng rng(3);
  tg::GRUCell<double> cell(1, 1, rng);
  cell.weight_ih.value = column({0.0, 0.0, 1.0});
  cell.weight_hh.value = column({0.0, 0.0, 2.0});
  cell.bias_ih.value = T{0.5, -0.5, 0.0};  // r, z, n
  cell.bias_hh.value = T{0.0, 0.0, 0.1};
  tg::Tape<double> tape;
  const V h = cell.step(tape, tape.constant(column({0.3})), tape.constant(column({0.4})));
  const auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  const double r = sig(0.5), z = sig(-0.5), n = std::tanh(0.3 + r * (2.0 * 0.4 + 0.1));
  CHECK(h.item() == doctest::Approx((1 - z) * n + z * 0.4).epsilon(1e-15));
}

TEST_CASE("gradcheck and gradgradcheck of RNN (tanh, relu), LSTM and GRU cells over three steps") {
  tg::Rng rng(4);
  for (const tg::Nonlinearity act : {tg::Nonlinearity::Tanh, tg::Nonlinearity::ReLU}) {
    tg::RNNCell<double> rnn(3, 4, rng, act);
    check_cell(rnn, 3, 4, 1, [&](auto& tape, const V& x, const std::vector<V>& s) {
      return std::vector<V>{rnn.step(tape, x, s[0])};
    }, rng);
  }
  tg::LSTMCell<double> lstm(3, 4, rng);
  check_cell(lstm, 3, 4, 2, [&](auto& tape, const V& x, const std::vector<V>& s) {
    const tg::LSTMState<double> next = lstm.step(tape, x, {s[0], s[1]});
    return std::vector<V>{next.h, next.c};
  }, rng);
  tg::GRUCell<double> gru(3, 4, rng);
  check_cell(gru, 3, 4, 1, [&](auto& tape, const V& x, const std::vector<V>& s) {
    return std::vector<V>{gru.step(tape, x, s[0])};
  }, rng);
  // the module's own forward starts from a zero state: the recurrent weights get no gradient there, and
  // gradcheck_module says so rather than passing
  const tg::GradcheckReport r = tg::gradcheck_module(lstm, testing::kink_free({2, 3}, rng));
  CHECK(r["weight_hh"].all_zero);
  CHECK(r["weight_ih"].passed);
}

TEST_CASE("Embedding reads whole-number indices from its input and refuses others") {
  tg::Rng rng(5);
  tg::Embedding<double> table(4, 2, rng);
  tg::Tape<double> tape;
  const V x = tape.constant(T{{3.0, 0.0}, {3.0, 1.0}});
  const V e = table(tape, x);
  CHECK(e.shape() == tg::Shape{2, 2, 2});
  CHECK(e.value()[0] == table.weight.value[6]);
  CHECK(e.value()[7] == table.weight.value[3]);
  tg::sum(e).backward();
  CHECK(table.weight.grad() == T{{1.0, 1.0}, {1.0, 1.0}, {0.0, 0.0}, {2.0, 2.0}});
  CHECK(table.describe() == "Embedding(4, 2)");
  for (const double bad : {4.0, -1.0, 1.5, std::nan("")}) {
    CAPTURE(bad);
    const std::string m = testing::message_of<tg::ValueError>([&] { table(tape, tape.constant(T{0.0, bad})); });
    CHECK(m.find("Embedding(4, 2): the input's value") == 0);
    CHECK(m.find("at position 1 is not a row index (a whole number in [0, 4))") != std::string::npos);
  }
}

TEST_CASE("recurrent cells name themselves and the shape they take") {
  tg::Rng rng(6);
  tg::LSTMCell<double> cell(3, 4, rng);
  tg::Tape<double> tape;
  const V h = tape.constant(T::zeros({2, 4}));
  CHECK(testing::message_of<tg::ShapeError>([&] { cell.step(tape, tape.constant(T::zeros({2, 5})), {h, h}); }) ==
        "LSTMCell(3 -> 4): the input has shape (2, 5); it takes (batch, 3)");
  CHECK(testing::message_of<tg::ShapeError>(
            [&] { cell.step(tape, tape.constant(T::zeros({3, 3})), {h, h}); }) ==
        "LSTMCell(3 -> 4): the state has shape (2, 4); for a batch of 3 it is (3, 4)");
  CHECK(testing::message_of<tg::ShapeError>([&] {
          cell.step(tape, tape.constant(T::zeros({2, 3})), {h, tape.constant(T::zeros({2, 5}))});
        }).find("the cell state has shape (2, 5)") != std::string::npos);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::GRUCell<double>(0, 4, rng); }) ==
        "GRUCell: sizes must be positive, got input 0 and hidden 4");
  CHECK(testing::message_of<tg::ValueError>([&] { tg::Embedding<double>(0, 4, rng); }).find("Embedding: sizes") == 0);
}

TEST_CASE("sequence layers: LibTorch's parameter names, a gradient check over time and layers, and a checkpoint") {
  tg::Rng rng(11);
  tg::SequenceOptions o;
  o.layers = 2;
  o.batch_first = true;
  tg::LSTM<double> lstm(3, 4, rng, o);
  std::vector<std::string> names;
  for (const auto& [name, p] : lstm.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1",
                                          "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"});
  CHECK(lstm.named_parameters()[4].second->value.shape() == tg::Shape{16, 4});  // layer 1 reads layer 0's h
  CHECK(lstm.describe() == "LSTM(3 -> 4, 2 layers, batch first)");
  tg::Tape<double> tape;
  const tg::SequenceResult<double> r = lstm.run(tape, tape.constant(testing::kink_free({2, 5, 3}, rng)));
  CHECK(r.output.shape() == tg::Shape{2, 5, 4});
  CHECK(r.h.shape() == tg::Shape{2, 2, 4});
  CHECK(r.c.shape() == tg::Shape{2, 2, 4});
  // the top layer's last output is its final h
  CHECK(testing::max_abs_diff(tg::reshape(tg::slice(r.output, 1, 4, 5), {2, 4}).value(),
                              tg::reshape(tg::slice(r.h, 0, 1, 2), {2, 4}).value()) == 0);
  // every parameter and the input, at the first and second order, over 3 steps and 2 layers (from zero states:
  // the recurrent weights get gradients from the second step on)
  for (const int order : {1, 2}) {
    tg::GradcheckOptions options;
    options.order = order;
    tg::SequenceOptions small;
    small.layers = 2;
    tg::GRU<double> gru(2, 3, rng, small);
    const tg::GradcheckReport report = tg::gradcheck_module(gru, testing::kink_free({3, 2, 2}, rng), options);
    INFO(report.table());
    CHECK(report.passed());
  }
  // saved and loaded by those names
  testing::TempDir dir;
  tg::save_checkpoint<double>(dir.file("lstm.tgckpt"), lstm);
  tg::LSTM<double> loaded(3, 4, rng, o);
  tg::load_checkpoint<double>(dir.file("lstm.tgckpt"), loaded);
  for (std::size_t i = 0; i < 8; ++i) CHECK(loaded.parameters()[i]->value == lstm.parameters()[i]->value);
}

TEST_CASE("sequence layers: dropout between layers in training only, and the errors that name the layer") {
  tg::Rng rng(12);
  tg::SequenceOptions o;
  o.layers = 2;
  o.dropout = 0.5;
  tg::RNN<double> rnn(3, 4, rng, o);
  tg::Tape<double> tape;
  const T x = testing::kink_free({4, 2, 3}, rng);
  const T trained = rnn(tape, tape.constant(x)).value();
  rnn.set_training(false);
  const T evaluated = rnn(tape, tape.constant(x)).value();
  CHECK(testing::max_abs_diff(trained, evaluated) > 1e-3);
  CHECK(rnn(tape, tape.constant(x)).value() == evaluated);  // no dropout in evaluation mode
  CHECK(rnn.describe() == "RNN(3 -> 4, 2 layers, dropout 0.5)");
  const V good = tape.constant(x);
  CHECK(testing::message_of<tg::ShapeError>([&] { rnn.run(tape, tape.constant(T::zeros({4, 3}))); }) ==
        "RNN(3 -> 4, 2 layers, dropout 0.5): the input has shape (4, 3); it takes (time, batch, 3)");
  CHECK(testing::message_of<tg::ShapeError>([&] { rnn.run(tape, good, tape.constant(T::zeros({1, 2, 4}))); }) ==
        "RNN(3 -> 4, 2 layers, dropout 0.5): h0 has shape (1, 2, 4); for a batch of 2 it is (2, 2, 4)");
  CHECK(testing::message_of<tg::ValueError>([&] { rnn.run(tape, good, {}, tape.constant(T::zeros({2, 2, 4}))); })
            .find("c0 is an LSTM's") != std::string::npos);
  tg::SequenceOptions none;
  none.layers = 0;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::LSTM<double>(3, 4, rng, none); }) ==
        "LSTM: 0 layers asked for; 1 to 1000");
  tg::SequenceOptions certain;
  certain.dropout = 1;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::GRU<double>(3, 4, rng, certain); }) ==
        "GRU: dropout 1 is not in [0, 1)");
}

TEST_CASE("sequence_cross_entropy averages over the labelled steps and skips the ignored ones") {
  tg::Rng rng(13);
  tg::Tape<double> tape;
  const T z = testing::kink_free({1, 3, 4}, rng);  // one sequence of three steps, four classes
  const V logits = tape.variable(z);
  const std::size_t skip = 99;
  const V loss = tg::sequence_cross_entropy(logits, {2, skip, 0}, skip);
  // by hand: the mean of -log softmax(z_t)[label_t] over steps 0 and 2
  const auto nll = [&](std::size_t t, std::size_t label) {
    double total = 0;
    for (std::size_t c = 0; c < 4; ++c) total += std::exp(z[t * 4 + c]);
    return std::log(total) - z[t * 4 + label];
  };
  CHECK(loss.item() == doctest::Approx((nll(0, 2) + nll(2, 0)) / 2).epsilon(1e-14));
  loss.backward();
  for (std::size_t c = 0; c < 4; ++c) CHECK(logits.grad()[4 + c] == 0.0);  // the ignored step gets nothing
  for (const int order : {1, 2}) {
    tg::GradcheckOptions o;
    o.order = order;
    testing::check(
        [&](auto&, const std::vector<V>& v) { return tg::sequence_cross_entropy(v[0], {1, 3, skip, 0, 2, skip}, skip); },
        {testing::kink_free({2, 3, 4}, rng)}, o);
  }
  CHECK(testing::message_of<tg::ValueError>([&] { tg::sequence_cross_entropy(logits, {skip, skip, skip}, skip); })
            .find("every one of the 3 labels is the ignored label 99") != std::string::npos);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::sequence_cross_entropy(logits, {1, 4, 0}); }) ==
        "sequence_cross_entropy: label 4 at position 1 is out of range for 4 classes");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::sequence_cross_entropy(logits, {1, 2}); })
            .find("2 labels for logits of shape (1, 3, 4) (3 positions)") != std::string::npos);
}

TEST_CASE("SequenceBatcher cuts one long sequence into rows that go on from chunk to chunk") {
  std::vector<std::size_t> tokens(21);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = i;
  const tg::SequenceBatcher batches(tokens, 2, 3);  // rows of (21 - 1) / 2 = 10 steps: 3 chunks of 3
  CHECK(batches.chunks() == 3);
  const auto [x0, y0] = batches[0];
  CHECK(x0 == std::vector<std::size_t>{0, 1, 2, 10, 11, 12});
  CHECK(y0 == std::vector<std::size_t>{1, 2, 3, 11, 12, 13});
  const auto [x1, y1] = batches[1];
  CHECK(x1 == std::vector<std::size_t>{3, 4, 5, 13, 14, 15});
  CHECK(testing::message_of<tg::ValueError>([&] { (void)batches[3]; }) ==
        "SequenceBatcher: chunk 3 asked for; there are 3");
  CHECK(testing::message_of<tg::ValueError>([&] { tg::SequenceBatcher(tokens, 4, 6); }) ==
        "SequenceBatcher: 21 tokens make 4 rows of 5 steps, fewer than one chunk of 6");
  CHECK(testing::message_of<tg::ValueError>([&] { tg::SequenceBatcher(tokens, 0, 3); }).find("must be positive") !=
        std::string::npos);
}

TEST_CASE("truncated BPTT: a stateful layer's chunks equal one long run, and its tape stays one chunk long") {
  tg::Rng rng(14);
  tg::LSTM<double> lstm(2, 3, rng);
  const T x = testing::kink_free({12, 2, 2}, rng);  // 12 steps, batch 2
  tg::Tape<double> whole;
  const T expected = lstm(whole, whole.constant(x)).value();
  lstm.set_stateful(true);
  tg::Tape<double> tape;
  std::size_t first_size = 0, first_capacity = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    tape.clear();
    const V chunk = tg::slice(tape.constant(x), 0, 4 * k, 4 * k + 4);
    const tg::SequenceResult<double> r = lstm.run(tape, chunk);
    for (std::size_t i = 0; i < r.output.value().size(); ++i)
      CHECK(r.output.value()[i] == doctest::Approx(expected[k * 4 * 2 * 3 + i]).epsilon(1e-14));
    tg::sum(r.output).backward();  // reaches this chunk's start and stops: the carried state is a constant
    if (k == 0) first_size = tape.size(), first_capacity = tape.capacity();
    CHECK(tape.size() == first_size);
  }
  for (int k = 0; k < 100; ++k) {  // 100 chunks more: the tape reuses its nodes, memory stays flat
    tape.clear();
    tg::sum(lstm(tape, tg::slice(tape.constant(x), 0, 0, 4))).backward();
  }
  CHECK(tape.capacity() == first_capacity);
  // another batch size, or reset_state(), starts from zeros
  lstm.reset_state();
  tape.clear();
  const T restarted = lstm(tape, tg::slice(tape.constant(x), 0, 0, 4)).value();
  for (std::size_t i = 0; i < restarted.size(); ++i)
    CHECK(restarted[i] == doctest::Approx(expected[i]).epsilon(1e-14));
}

TEST_CASE("the fused lstm_step gives the cell's step built from ops, in both layouts, and names bad shapes") {
  tg::Rng rng(8);
  const std::size_t batch = 3, input = 4, hidden = 5, steps = 2;
  tg::LSTMCell<double> cell(input, hidden, rng);
  for (const bool batch_first : {false, true}) {
    CAPTURE(batch_first);
    const T x = T::randn({batch_first ? batch : steps, batch_first ? steps : batch, input}, rng);
    const T h0 = T::randn({batch, hidden}, rng), c0 = T::randn({batch, hidden}, rng);
    tg::Tape<double> tape;
    const V xv = tape.constant(x);
    // by the cell's ops, step by step
    tg::LSTMState<double> composite{tape.constant(h0), tape.constant(c0)};
    // fused: one projection of every step, then lstm_step on [h | c]
    const V projected = tg::matmul(tg::reshape(xv, {batch * steps, input}), tape.parameter(cell.weight_ih), false,
                                   true);
    V state = tg::concat(std::vector<V>{tape.constant(h0), tape.constant(c0)}, 1);
    for (std::size_t t = 0; t < steps; ++t) {
      const V xt = tg::reshape(tg::slice(xv, batch_first ? 1 : 0, t, t + 1), {batch, input});
      composite = cell.step(tape, xt, composite);
      state = tg::lstm_step(projected, tg::LstmStepAt{t, steps, batch_first}, state, tape.parameter(cell.weight_hh),
                            tape.parameter(cell.bias_ih), tape.parameter(cell.bias_hh));
    }
    const T fused = state.value(), h = composite.h.value(), c = composite.c.value();
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < hidden; ++j) {
        CHECK(fused[b * 2 * hidden + j] == doctest::Approx(h[b * hidden + j]).epsilon(1e-14));
        CHECK(fused[b * 2 * hidden + hidden + j] == doctest::Approx(c[b * hidden + j]).epsilon(1e-14));
      }
  }
  tg::Tape<double> tape;
  const V p = tape.constant(T::zeros({6, 20})), s = tape.constant(T::zeros({3, 10}));
  const V w = tape.parameter(cell.weight_hh), bi = tape.parameter(cell.bias_ih), bh = tape.parameter(cell.bias_hh);
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::lstm_step(p, {2, 2, false}, s, w, bi, bh); }) ==
        "lstm_step: the projected inputs have shape (6, 20); step 2 of 2 with a batch of 3 reads (6, 20)");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::lstm_step(p, {0, 2, false}, tape.constant(T::zeros({3, 9})), w,
                                                                 bi, bh); }) ==
        "lstm_step: the state has shape (3, 9); it is (batch, 2 hidden): [h | c]");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::lstm_step(p, {0, 2, false}, s, bi, bi, bh); }) ==
        "lstm_step: W_hh has shape (20,); for a hidden size of 5 it is (20, 5)");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::lstm_step(p, {0, 2, false}, s, w, w, bh); }) ==
        "lstm_step: the biases have shapes (20, 5) and (20,); each is (20,)");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::state_halves(std::vector<V>{s}, 2, 0); }) ==
        "state_halves: half 2 on axis 0; half is 0 (h) or 1 (c), the axis 0 or 1");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::state_halves(std::vector<V>{}, 0, 0); }) ==
        "state_halves: no states");
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::state_halves(std::vector<V>{s, p}, 0, 0); }) ==
        "state_halves: state 1 has shape (6, 20), state 0 (3, 10)");
  const V h3 = tape.constant(T::zeros({2, 3, 5}));
  CHECK(testing::message_of<tg::ShapeError>([&] { tg::join_state(h3, h3, 2); }) ==
        "join_state: h (2, 3, 5) and c (2, 3, 5), layer 2; they are one shape (layers, batch, hidden) and the layer "
        "below the first");
}
