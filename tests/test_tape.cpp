// The tape: recording, the reverse sweep, accumulation, reuse, no-grad, detach.
#include <limits>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

TEST_CASE("gradients accumulate where a value is used more than once") {
  tg::Tape<double> tape;
  SUBCASE("b = a + a, c = b + b gives dc/da = 4") {
    const V a = tape.variable(T::scalar(1.5));
    const V b = a + a;
    const V c = b + b;
    c.backward();
    CHECK(a.grad().item() == 4.0);
    CHECK(b.grad().item() == 2.0);
  }
  SUBCASE("x * x gives 2x") {
    const V x = tape.variable(T{3.0, -2.0});
    tg::sum(x * x).backward();
    CHECK(x.grad() == T{6.0, -4.0});
  }
}

TEST_CASE("backward from a non-scalar root takes an upstream gradient of its shape") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{{1, 2}, {3, 4}});
  const V y = x * x;
  y.backward(T{{1, 0}, {0.5, 2}});
  CHECK(x.grad() == T{{2, 0}, {3, 16}});
}

TEST_CASE("a 100,000-op chain backpropagates without recursion") {
  tg::Tape<double> tape;
  const V x = tape.variable(T::scalar(1.0));
  V y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.00001;  // two nodes each: a constant and a mul
  y.backward();
  CHECK(tape.size() == 200001);
  CHECK(x.grad().item() == doctest::Approx(std::pow(1.00001, 100000)).epsilon(1e-9));
}

TEST_CASE("parameters outlive a cleared tape, and the tape keeps its memory") {
  tg::Parameter<double> w("w", T{1.0, 2.0});
  tg::Tape<double> tape;
  std::size_t capacity = 0;
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    w.zero_grad();
    const V wv = tape.parameter(w);
    const V loss = tg::sum(wv * wv * 0.5);
    loss.backward();
    CHECK(w.grad() == w.value);  // d(0.5 w^2)/dw = w
    for (std::size_t i = 0; i < w.value.size(); ++i) w.value[i] -= 0.5 * w.grad()[i];
    if (step == 0) capacity = tape.capacity();
    CHECK(tape.capacity() == capacity);
  }
  CHECK(w.value == T{0.125, 0.25});
}

TEST_CASE("parameter gradients accumulate over backward passes until zeroed") {
  tg::Parameter<double> w("w", T{2.0});
  tg::Tape<double> tape;
  for (int i = 0; i < 2; ++i) {
    tape.clear();
    tg::sum(tape.parameter(w) * 3.0).backward();
  }
  CHECK(w.grad() == T{6.0});
  w.zero_grad();
  CHECK(w.grad() == T{0.0});
}

TEST_CASE("a discarded parameter gradient is written over by the next backward, or zero-filled when none reaches it") {
  tg::Parameter<double> w("w", T{{1.0, 2.0}, {3.0, 4.0}});
  tg::Parameter<double> unused("unused", T{5.0});
  const T x{{1.0, -1.0}, {2.0, 0.5}};
  for (tg::Parameter<double>* p : {&w, &unused}) p->grad().fill(std::numeric_limits<double>::quiet_NaN());  // stale
  for (tg::Parameter<double>* p : {&w, &unused}) p->discard_grad();
  CHECK(w.grad_discarded());
  tg::Tape<double> tape;
  // the weight gradient of x W is written by one product with beta = 0 (no zero-fill, no read of the stale NaN)
  tg::sum(tg::matmul(tape.constant(x), tape.parameter(w))).backward();
  CHECK_FALSE(w.grad_discarded());
  CHECK(w.grad() == T{{3.0, 3.0}, {-0.5, -0.5}});  // x^T 1: row i holds the sum of column i of x
  CHECK(unused.grad_discarded());
  unused.settle_grad();
  CHECK(unused.grad() == T{0.0});
  // a parameter read twice: the second contribution adds to the first
  w.discard_grad();
  tape.clear();
  const V wv = tape.parameter(w);
  tg::sum(wv * 2.0 + tg::matmul(tape.constant(x), tape.parameter(w))).backward();
  CHECK(w.grad() == T{{5.0, 5.0}, {1.5, 1.5}});
}

TEST_CASE("a deferred parameter gradient at a batch of one is kept as its two factors and written when read") {
  const T x{{1.0, -2.0, 0.5}};  // one row
  tg::Tape<double> tape;
  SUBCASE("x W: dW = x^T G, row i is x_i times G") {
    tg::Parameter<double> w("w", T{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
    w.defer_grad();
    tg::sum(tg::matmul(tape.constant(x), tape.parameter(w)) * tape.constant(T{{1.0, 3.0}})).backward();
    CHECK(w.grad_factored());
    CHECK(w.grad() == T{{1.0, 3.0}, {-2.0, -6.0}, {0.5, 1.5}});
    CHECK_FALSE(w.grad_factored());  // written out by the read
  }
  SUBCASE("x W^T: dW = G^T x, row j is G_j times x") {
    tg::Parameter<double> w("w", T{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    w.defer_grad();
    tg::sum(tg::matmul(tape.constant(x), tape.parameter(w), false, true) * tape.constant(T{{1.0, 3.0}})).backward();
    CHECK(w.grad_factored());
    CHECK(w.grad() == T{{1.0, -2.0, 0.5}, {3.0, -6.0, 1.5}});
  }
  SUBCASE("a Linear layer (affine): the weight is factored, the bias written") {
    tg::Rng rng(2);
    tg::Linear<double> layer(3, 2, tg::Init::he(), rng);
    for (tg::Parameter<double>* p : layer.parameters()) p->defer_grad();
    tg::sum(layer.forward(tape, tape.constant(x)) * tape.constant(T{{1.0, 3.0}})).backward();
    CHECK(layer.W.grad_factored());
    CHECK_FALSE(layer.b.grad_factored());
    CHECK(layer.b.grad() == T{1.0, 3.0});
    CHECK(layer.W.grad() == T{{1.0, 3.0}, {-2.0, -6.0}, {0.5, 1.5}});
  }
  SUBCASE("two rows, or a parameter read twice: written as before") {
    tg::Parameter<double> w("w", T{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}});
    w.defer_grad();
    tg::sum(tg::matmul(tape.constant(T{{1.0, -2.0, 0.5}, {1.0, 1.0, 1.0}}), tape.parameter(w))).backward();
    CHECK_FALSE(w.grad_factored());
    CHECK(w.grad() == T{{2.0, 2.0}, {-1.0, -1.0}, {1.5, 1.5}});
    w.defer_grad();
    tape.clear();
    const V wv = tape.parameter(w);
    // (3, 2) + (1, 2): the product's row is broadcast to 3 rows, so G = (3, 3); dW = 2 + x_i 3
    tg::sum(wv * 2.0 + tg::matmul(tape.constant(x), wv)).backward();
    CHECK_FALSE(w.grad_factored());
    CHECK(w.grad() == T{{5.0, 5.0}, {-4.0, -4.0}, {3.5, 3.5}});
  }
  SUBCASE("no backward reached it: reads as zeros") {
    tg::Parameter<double> w("w", T{{1.0, 2.0}});
    w.grad().fill(std::numeric_limits<double>::quiet_NaN());
    w.defer_grad();
    CHECK(w.grad() == T{{0.0, 0.0}});
  }
}

TEST_CASE("tape.zero_grad clears gradients on the tape and in its parameters") {
  tg::Parameter<double> w("w", T{2.0});
  tg::Tape<double> tape;
  const V x = tape.variable(T{1.0});
  const V y = tg::sum(x * tape.parameter(w));
  y.backward();
  CHECK(x.grad() == T{2.0});
  tape.zero_grad();
  CHECK(x.grad() == T{0.0});
  CHECK(w.grad() == T{0.0});
}

TEST_CASE("no-grad scope records values but no backward rules") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{1.0, 2.0});
  V y;
  {
    tg::NoGradGuard no_grad;
    CHECK_FALSE(tg::is_grad_enabled());
    y = tg::exp(x);
  }
  CHECK(tg::is_grad_enabled());
  CHECK_FALSE(y.requires_grad());
  CHECK(y.value()[1] == doctest::Approx(std::exp(2.0)));
  CHECK_THROWS_AS(tg::sum(y).backward(), tg::TapeError);
}

TEST_CASE("under no-grad a node no Var and no recorded op reads is reclaimed: a 1,000,000-op chain keeps 3 nodes") {
  tg::Tape<double> tape;
  tg::NoGradGuard no_grad;
  const V c = tape.constant(T{{1.0, 0.5}});
  V y = tape.constant(T{{0.0, 0.0}});
  for (int i = 0; i < 1000000; ++i) y = y + c;
  CHECK(y.value() == T{{1e6, 5e5}});  // exact in double
  CHECK(tape.capacity() == 3);        // c, y, and the sum being formed while the old y still has its Var
  // while recording, every node stays: backward needs them
  tg::GradModeGuard recording(true);
  tape.clear();
  const V x = tape.variable(T{2.0});
  V z = x;
  for (int i = 0; i < 100; ++i) z = z * 1.0;
  CHECK(tape.size() == 201);  // x, and a scalar and a product per step
  tg::sum(z).backward();
  CHECK(x.grad() == T{1.0});
}

TEST_CASE("a no-grad value read by a recorded op outlives its Var, and gradients computed under no-grad keep theirs") {
  tg::Tape<double> tape;
  const V w = tape.variable(T{3.0});
  V scale;
  {
    tg::NoGradGuard no_grad;
    V tmp = tape.constant(T{2.0}) * tape.constant(T{5.0});  // 10
    scale = tmp * tape.constant(T{0.5});                     // 5
  }
  const V y = tg::sum(w * scale);  // the product's backward reads scale's value
  scale = V();                     // its last Var goes: still read by the product
  {
    tg::NoGradGuard no_grad;
    for (int i = 0; i < 10; ++i) (void)(tape.constant(T{7.0}) + tape.constant(T{8.0}));  // reuse what is free
  }
  y.backward();
  CHECK(w.grad() == T{5.0});
  // grad() without create_graph computes its gradients with recording off: they are not reclaimed under it
  tape.clear();
  const V x = tape.variable(T{1.5});
  const V cube = x * x * x;
  tg::NoGradGuard no_grad;
  const auto g = tg::grad(cube, {x});
  for (int i = 0; i < 10; ++i) (void)(tape.constant(T{7.0}) + tape.constant(T{8.0}));
  CHECK(g[0].item() == doctest::Approx(3 * 1.5 * 1.5));
}

TEST_CASE("a Var that outlives its tape says so, and letting it go is safe") {
  V survivor;
  {
    tg::Tape<double> tape;
    survivor = tape.variable(T{1.0});
    V copy = survivor;
  }
  CHECK_FALSE(survivor.valid());
  CHECK_THROWS_WITH_AS(survivor.value(), "this Var belongs to a tape that was destroyed", tg::TapeError);
  CHECK_THROWS_WITH_AS(survivor + survivor, "this Var belongs to a tape that was destroyed", tg::TapeError);
  V moved = std::move(survivor);
  CHECK_FALSE(moved.valid());
}

TEST_CASE("detach stops the gradient") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{3.0});
  const V y = x * tg::detach(x);  // d/dx = detach(x) only
  tg::sum(y).backward();
  CHECK(x.grad() == T{3.0});
}

TEST_CASE("constants need no gradient, and nothing flows into them") {
  tg::Tape<double> tape;
  const V c = tape.constant(T{2.0});
  const V x = tape.variable(T{5.0});
  tg::sum(c * x).backward();
  CHECK_FALSE(c.requires_grad());
  CHECK(x.grad() == T{2.0});
  CHECK(c.grad() == T{0.0});
}

TEST_CASE("the float path computes the same gradients as double, to float precision") {
  tg::Tape<float> tape_f;
  tg::Tape<double> tape_d;
  tg::Rng rng(1);
  const T x = T::randn({3, 4}, rng), w = T::randn({4, 2}, rng);
  const tg::Var<float> xf = tape_f.variable(x.cast<float>()), wf = tape_f.variable(w.cast<float>());
  const V xd = tape_d.variable(x), wd = tape_d.variable(w);
  tg::sum(tg::tanh(tg::matmul(xf, wf)) * 2.0f).backward();
  tg::sum(tg::tanh(tg::matmul(xd, wd)) * 2.0).backward();
  CHECK(testing::max_abs_diff(wf.grad().cast<double>(), wd.grad()) < 1e-5);
  CHECK(testing::max_abs_diff(xf.grad().cast<double>(), xd.grad()) < 1e-5);
}

TEST_CASE("float gradcheck works and warns that double is the precision to check in") {
  tg::Rng rng(2);
  const auto report = tg::gradcheck<float>(
      [](auto&, const std::vector<tg::Var<float>>& v) { return tg::sigmoid(v[0]) * v[1]; },
      {tg::Tensor<float>::randn({3, 3}, rng), tg::Tensor<float>::randn({3}, rng)});
  INFO(report.table());
  CHECK(report.passed());
  CHECK_FALSE(report.warning.empty());
}

TEST_CASE("Tape::view: each recorded node read-only, as drawings read it, and an index past the tape refused") {
  tg::Tape<double> tape;
  tg::Parameter<double> w("w", tg::Tensor<double>{2.0});
  const tg::Var<double> x = tape.variable(tg::Tensor<double>{3.0});
  const tg::Var<double> y = x * tape.parameter(w);
  tg::sum(y).backward();
  const tg::NodeView<double> leaf = tape.view(x.index()), param = tape.view(1), mul = tape.view(y.index());
  CHECK(std::string(leaf.op) == "leaf");
  CHECK(leaf.input_count == 0);
  REQUIRE(leaf.grad != nullptr);
  CHECK((*leaf.grad)[0] == 2.0);
  CHECK(param.parameter == &w);
  CHECK(param.grad == nullptr);  // a parameter's gradient is its own
  CHECK(std::string(mul.op) == "mul");
  REQUIRE(mul.input_count == 2);
  CHECK(mul.inputs[0] == x.index());
  CHECK((*mul.value)[0] == 6.0);
  CHECK(mul.requires_grad);
  CHECK_THROWS_WITH_AS(tape.view(99), doctest::Contains("node 99 asked for, but the tape holds"), tg::ValueError);
}

TEST_CASE("rewind forgets the nodes after a point, keeps their memory, and makes every Var stale") {
  tg::Tape<double> tape;
  const tg::Var<double> x = tape.variable(tg::Tensor<double>({2}, {1.0, 2.0}));
  const tg::Var<double> y = tg::tanh(x);
  const std::size_t kept = tape.size();
  const tg::Var<double> z = tg::exp(y) * 2.0;
  const std::size_t capacity = tape.capacity();
  tape.rewind(kept);
  CHECK(tape.size() == kept);
  CHECK(tape.capacity() == capacity);
  CHECK_THROWS_AS(z.value(), tg::TapeError);  // a forgotten node
  CHECK_THROWS_AS(y.value(), tg::TapeError);  // a kept one too: re-make it with handle()
  CHECK(tape.handle(y.index()).value()[0] == std::tanh(1.0));
  const tg::Var<double> again = tg::exp(tape.handle(y.index())) * 2.0;  // recorded into the same slots
  CHECK(tape.capacity() == capacity);
  CHECK(again.value()[1] == 2 * std::exp(std::tanh(2.0)));
  const std::string expected =
      fmt::format("Tape::rewind: to {} nodes, but the tape holds {}", tape.size() + 1, tape.size());
  CHECK_THROWS_WITH_AS(tape.rewind(tape.size() + 1), expected.c_str(), tg::ValueError);
}
