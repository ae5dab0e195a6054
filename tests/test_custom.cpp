// Your own op and your own module: the public CustomOp / Op API, the module tree, and what goes wrong with them.
#include <cmath>
#include <cstdio>

#include "helpers.hpp"

using testing::kink_free;
using testing::random_shape;
using T = tg::Tensor<double>;
using V = tg::Var<double>;

namespace {

// The book's MulLayer: forward saves both inputs, backward swaps them.
struct MulLayer : tg::CustomOp<double> {
  T x, y;
  const char* name() const override { return "MulLayer"; }
  T forward(const tg::Inputs<double>& in) override {
    x = in[0];
    y = in[1];
    T out = x;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] *= y[i];
    return out;
  }
  std::vector<T> backward(const T& dout) override {
    T dx = dout, dy = dout;
    for (std::size_t i = 0; i < dout.size(); ++i) {
      dx[i] *= y[i];
      dy[i] *= x[i];
    }
    return {dx, dy};
  }
};

// y = a*b + c*d + e*f with every kind of saved state: tensors, a mask, a scalar, indices and a struct.
template <class S>
struct FiveTerms : tg::CustomOp<S> {
  using Tn = tg::Tensor<S>;
  struct Saved {
    std::vector<Tn> inputs;
    S scale = 0;
  } saved;
  std::vector<bool> nonzero_mask;
  std::vector<std::size_t> order;
  explicit FiveTerms(S scale) { saved.scale = scale; }
  const char* name() const override { return "FiveTerms"; }
  Tn forward(const tg::Inputs<S>& in) override {
    saved.inputs.clear();
    for (std::size_t k = 0; k < in.size(); ++k) saved.inputs.push_back(in[k]);
    order = {0, 1, 2, 3, 4, 5};
    Tn out(in[0].shape());
    nonzero_mask.assign(out.size(), false);
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = saved.scale * (in[0][i] * in[1][i] + in[2][i] * in[3][i] + in[4][i] * in[5][i]);
      nonzero_mask[i] = out[i] != 0;
    }
    return out;
  }
  std::vector<Tn> backward(const Tn& g) override {
    std::vector<Tn> grads(6, Tn(g.shape()));
    for (std::size_t k : order) {
      if (!this->needs_grad(k)) continue;
      const Tn& partner = saved.inputs[k ^ 1];  // d(a b)/da = b
      for (std::size_t i = 0; i < g.size(); ++i) grads[k][i] = saved.scale * g[i] * partner[i];
    }
    return grads;
  }
};

// The book's Sigmoid with a backward that forgets the factor (1 - y).
struct ForgetfulSigmoid : tg::CustomOp<double> {
  T out;
  const char* name() const override { return "ForgetfulSigmoid"; }
  T forward(const tg::Inputs<double>& in) override {
    out = in[0];
    for (double& v : out) v = 1 / (1 + std::exp(-v));
    return out;
  }
  std::vector<T> backward(const T& dout) override {
    T dx = dout;
    for (std::size_t i = 0; i < dx.size(); ++i) dx[i] *= out[i];  // should be out * (1 - out)
    return {dx};
  }
};

// Ops whose backward breaks the contract in one way each.
enum class Fault { WrongShape, TooFew, Throws, NaN };
struct Faulty : tg::CustomOp<double> {
  Fault fault;
  explicit Faulty(Fault f) : fault(f) {}
  const char* name() const override { return "Faulty"; }
  T forward(const tg::Inputs<double>& in) override { return in[0]; }
  std::vector<T> backward(const T& dout) override {
    switch (fault) {
      case Fault::WrongShape: return {T(tg::Shape{dout.shape()[1], dout.shape()[0]}), dout};
      case Fault::TooFew: return {dout};
      case Fault::Throws: throw std::runtime_error("disk on fire");
      case Fault::NaN: break;
    }
    T bad = dout;
    bad[0] = std::nan("");
    return {bad, dout};
  }
};

}  // namespace

TEST_CASE("custom op: the book's MulLayer on the apple example: 220, then 2.2, 110, 200") {
  tg::Tape<double> tape;
  const V apple = tape.variable(T::scalar(100)), count = tape.variable(T::scalar(2)), tax = tape.variable(T::scalar(1.1));
  const V price = tg::apply<MulLayer>({tg::apply<MulLayer>({apple, count}), tax});
  CHECK(price.item() == doctest::Approx(220.0).epsilon(1e-15));
  CHECK(std::string(price.op()) == "MulLayer");
  price.backward();
  CHECK(apple.grad().item() == doctest::Approx(2.2).epsilon(1e-15));
  CHECK(count.grad().item() == doctest::Approx(110.0).epsilon(1e-15));
  CHECK(tax.grad().item() == doctest::Approx(200.0).epsilon(1e-15));
}

TEST_CASE("custom op: six inputs and every kind of state, gradient-checked in double on random shapes") {
  tg::Rng rng(41);
  for (int trial = 0; trial < 5; ++trial) {
    const tg::Shape s = random_shape(rng);
    std::vector<T> inputs;
    for (int k = 0; k < 6; ++k) inputs.push_back(kink_free(s, rng));
    const auto report = testing::check(
        [](auto&, const std::vector<V>& v) { return tg::apply<FiveTerms<double>>(v, 0.5); }, inputs);
    CHECK(report.entries.size() == 6);
    CHECK(report.ops == std::vector<std::string>{"FiveTerms"});
  }
}

TEST_CASE("custom op: float works too, and a constant input gets no gradient") {
  tg::Tape<float> tape;
  std::vector<tg::Var<float>> v;
  for (int k = 0; k < 6; ++k) {
    const tg::Tensor<float> value(tg::Shape{2, 2}, k == 1 ? 3.0f : float(k + 1));
    v.push_back(k == 1 ? tape.constant(value) : tape.variable(value));
  }
  const tg::Var<float> y = tg::apply<FiveTerms<float>>(v, 2.0f);
  CHECK(y.value()[0] == doctest::Approx(2.0 * (1 * 3 + 3 * 4 + 5 * 6)));
  tg::sum(y).backward();
  CHECK(v[0].grad()[0] == doctest::Approx(6.0));   // 2 * b
  CHECK(v[5].grad()[0] == doctest::Approx(10.0));  // 2 * e
  CHECK_FALSE(v[1].requires_grad());
}

TEST_CASE("custom op: under NoGradGuard or on constants only, nothing is kept for backward") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{1.0, 2.0}), b = tape.variable(T{3.0, 4.0});
  const V with_grad = tg::apply<MulLayer>({a, b});
  CHECK(tape.op_slot(with_grad.index()) != nullptr);
  {
    tg::NoGradGuard no_grad;
    const V y = tg::apply<MulLayer>({a, b});
    CHECK(y.value() == T{3.0, 8.0});
    CHECK(tape.op_slot(y.index()) == nullptr);
    CHECK_FALSE(y.requires_grad());
  }
  const V on_constants = tg::apply<MulLayer>({tape.constant(T{1.0}), tape.constant(T{2.0})});
  CHECK(tape.op_slot(on_constants.index()) == nullptr);
}

TEST_CASE("custom op: a wrong backward is a named error: shape, count, exception, NaN under anomaly mode") {
  const auto run = [](Fault f) {
    tg::Tape<double> tape;
    const V a = tape.variable(T::ones({2, 3})), b = tape.variable(T::ones({2, 3}));
    tg::sum(tg::apply<Faulty>({a, b}, f)).backward();
  };
  CHECK_THROWS_WITH_AS(run(Fault::WrongShape),
                       "Faulty: backward: the gradient of input 0 has shape (3, 2), the input has shape (2, 3)",
                       tg::ShapeError);
  CHECK_THROWS_WITH_AS(run(Fault::TooFew), "Faulty: backward returned 1 gradient for 2 inputs", tg::OpError);
  CHECK_THROWS_WITH_AS(run(Fault::Throws), "Faulty: backward threw: disk on fire", tg::OpError);
  run(Fault::NaN);  // without anomaly mode a NaN is the user's business
  tg::DetectAnomalyGuard anomaly;
  CHECK_THROWS_WITH_AS(run(Fault::NaN), doctest::Contains("anomaly: backward of Faulty"), tg::NumericError);
}

TEST_CASE("custom op: a forward that throws or makes NaN names the op") {
  struct Throwing : tg::CustomOp<double> {
    const char* name() const override { return "Throwing"; }
    T forward(const tg::Inputs<double>& in) override { return in[5]; }  // there is no input 5
    std::vector<T> backward(const T&) override { return {}; }
  };
  tg::Tape<double> tape;
  const V a = tape.variable(T{1.0});
  CHECK_THROWS_WITH_AS(tg::apply<Throwing>({a}), doctest::Contains("Throwing: forward threw"), tg::OpError);
  tg::DetectAnomalyGuard anomaly;
  const V big = tape.variable(T{1e308, 1.0});
  CHECK_THROWS_WITH_AS(tg::apply<MulLayer>({big, big}), doctest::Contains("anomaly: MulLayer"), tg::NumericError);
}

TEST_CASE("gradcheck finds a custom op whose backward forgets a factor, and points at the worst element") {
  tg::Rng rng(42);
  const auto report = tg::gradcheck<double>(
      [](auto&, const std::vector<V>& v) { return tg::apply<ForgetfulSigmoid>({v[0]}); }, {kink_free({3, 4}, rng)});
  CHECK_FALSE(report.passed());
  const tg::GradcheckEntry& e = report["input0"];
  CHECK(e.worst_index.size() == 2);
  CHECK(e.worst_analytic != doctest::Approx(e.worst_numerical).epsilon(1e-3));
  CHECK(report.table().find("gradcheck of ForgetfulSigmoid") != std::string::npos);
  CHECK(report.table().find("FAIL") != std::string::npos);
}

TEST_CASE("gradcheck reports elements at a kink instead of passing or failing them") {
  T x{0.0, 0.7, -0.4, 1.2};  // relu at 0 and abs at 0 have no derivative
  for (auto op : {+[](const V& v) { return tg::relu(v); }, +[](const V& v) { return tg::abs(v); }}) {
    const auto report = tg::gradcheck<double>([op](auto&, const std::vector<V>& v) { return op(v[0]); }, {x});
    const tg::GradcheckEntry& e = report["input0"];
    CHECK(e.kinks == 1);
    CHECK(e.first_kink == std::vector<std::size_t>{0});
    CHECK(e.checked == 3);
    CHECK(e.passed);
    CHECK(report.table().find("(1 at kinks)") != std::string::npos);
    CHECK(report.table().find("kink: input0 has 1 element") != std::string::npos);
  }
  // ties in max: the two maximal elements are both kinks
  const auto tie = tg::gradcheck<double>(
      [](auto&, const std::vector<V>& v) { return tg::max(v[0], 0); }, {T{2.0, 2.0, 1.0}});
  CHECK(tie["input0"].kinks == 2);
}

TEST_CASE("gradcheck: a kink closer than the step is left out at any distance, as real inputs put some there") {
  // relu at u x eps from its kink (eps 1e-6). The central difference there is (1 + u) / 2 instead of 1, so judging
  // them would fail a correct rule. Halving the step once leaves u = 0.3 and 0.7 looking smooth; twice does not.
  const T x{0.3e-6, 0.7e-6, -0.45e-6, 0.2e-6, 0.95e-6, 1.0, -2.0};
  const auto report =
      tg::gradcheck<double>([](auto&, const std::vector<V>& v) { return tg::relu(v[0]); }, {x});
  INFO(report.table());
  CHECK(report["input0"].kinks == 5);
  CHECK(report["input0"].checked == 2);
  CHECK(report.passed());
}

TEST_CASE("gradcheck: a zero gradient next to a rounding-sized numerical one is not a 100 % relative error") {
  // d/dx of x^3 at 0 is 0; the central difference is eps^2 = 1e-12
  const auto report = tg::gradcheck<double>(
      [](auto&, const std::vector<V>& v) { return tg::pow(v[0], 3.0) + v[0] * 0.0; }, {T{0.0, 1.0}});
  CHECK(report["input0"].max_rel_error < 1e-6);
  CHECK(report.passed());
}

// ---- the module tree

namespace {
template <class S>
struct Block : tg::Module<S> {
  tg::Linear<S> l1, l2;
  tg::Tanh<S> act;
  Block(std::size_t in, std::size_t out, tg::Rng& rng) : l1(in, out, tg::Init::he(), rng), l2(out, out, tg::Init::he(), rng) {
    this->register_module("l1", l1);
    this->register_module("act", act);
    this->register_module("l2", l2);
  }
  tg::Var<S> forward(tg::Tape<S>& tape, const tg::Var<S>& x) override { return l2(tape, act(tape, l1(tape, x))); }
  // no describe(): a container overrides nothing but forward, and is described by its class name
};

template <class S>
struct Net : tg::Module<S> {
  Block<S> block;
  tg::Parameter<S> scale{"scale", tg::Tensor<S>::ones({1})};
  Net(tg::Rng& rng) : block(3, 4, rng) {
    this->register_module("block", block);
    this->register_parameter("scale", scale);
  }
  tg::Var<S> forward(tg::Tape<S>& tape, const tg::Var<S>& x) override {
    return block(tape, x) * tape.parameter(scale);
  }
  std::string describe() const override { return "Net"; }
};
}  // namespace

TEST_CASE("module tree: qualified names, description, summary and gradcheck of a container of your own") {
  tg::Rng rng(43);
  Net<double> net(rng);
  std::vector<std::string> names;
  for (const auto& [name, p] : net.named_parameters()) names.push_back(name);
  // each module's own parameters, then its children's, depth first (PyTorch's order)
  CHECK(names == std::vector<std::string>{"scale", "block.l1.W", "block.l1.b", "block.l2.W", "block.l2.b"});
  CHECK(net.parameters()[3]->name == "W");  // the tree names it; the parameter keeps the name it was made with
  CHECK(net.description() ==
        "(model): Net\nblock: Block\nblock.l1: Linear(3 -> 4)\nblock.act: Tanh\nblock.l2: Linear(4 -> 4)\n");
  const std::string summary = net.summary(tg::Shape{5, 3});
  INFO(summary);
  const auto line_of = [&](const std::string& start) {
    const std::size_t at = summary.find(start);
    return at == std::string::npos ? std::string() : summary.substr(at, summary.find('\n', at) - at);
  };
  CHECK(line_of("    block.l1 ").find("Linear(3 -> 4)  (5, 4)") != std::string::npos);
  CHECK(line_of("    block.l1 ").substr(line_of("    block.l1 ").size() - 2) == "16");
  CHECK(line_of("(model)").find("Net") != std::string::npos);
  CHECK(summary.find("input (5, 3), 37 trainable parameters") != std::string::npos);
  CHECK(net.parameter_count() == 3 * 4 + 4 + 4 * 4 + 4 + 1);
  net.set_training(false);
  CHECK_FALSE(net.block.l1.training());
  const auto report = tg::gradcheck_module(net, kink_free({5, 3}, rng));
  INFO(report.table());
  CHECK(report.passed());
  CHECK(report["block.l1.W"].checked == 12);
}

TEST_CASE("module tree: one name twice is an error at registration") {
  struct Twice : tg::Module<double> {
    tg::Linear<double> a, b;
    explicit Twice(tg::Rng& rng) : a(2, 2, tg::Init::he(), rng), b(2, 2, tg::Init::he(), rng) {
      register_module("layer", a);
      register_module("layer", b);
    }
    V forward(tg::Tape<double>&, const V& x) override { return x; }
    std::string describe() const override { return "Twice"; }
  };
  tg::Rng rng(44);
  CHECK_THROWS_WITH_AS(Twice{rng}, "Twice: the name 'layer' is already registered in this module", tg::ValueError);
  struct Dotted : tg::Module<double> {
    tg::Parameter<double> p{"p", T{1.0}};
    Dotted() { register_parameter("a.b", p); }
    V forward(tg::Tape<double>&, const V& x) override { return x; }
    std::string describe() const override { return "Dotted"; }
  };
  CHECK_THROWS_WITH_AS(Dotted{}, doctest::Contains("'a.b' is not a valid name"), tg::ValueError);
}

TEST_CASE("module tree: two Linears in a container save and load as themselves") {
  testing::TempDir dir;
  const std::string path = dir.file("block.tgckpt");
  tg::Rng rng(45);
  Block<double> saved(3, 3, rng), loaded(3, 3, rng);
  tg::save_checkpoint(path, saved);  // no optimizer, no template arguments
  tg::load_checkpoint(path, loaded);
  CHECK(loaded.l1.W.value == saved.l1.W.value);
  CHECK(loaded.l2.W.value == saved.l2.W.value);
  CHECK(loaded.l1.W.value != loaded.l2.W.value);
}

TEST_CASE("module tree: a checkpoint does not load into a model of another kind, and one parameter twice is refused") {
  testing::TempDir dir;
  const std::string path = dir.file("tanh.tgckpt");
  tg::Rng rng(46);
  auto tanh_net = tg::make_mlp<double>({{4, 5, 2}, tg::Activation::Tanh, tg::Init::xavier(), false, 0}, rng);
  auto relu_net = tg::make_mlp<double>({{4, 5, 2}, tg::Activation::ReLU, tg::Init::xavier(), false, 0}, rng);
  tg::save_checkpoint(path, *tanh_net);
  const T before = relu_net->parameters()[0]->value;
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(path, *relu_net), doctest::Contains("saved '1: Tanh', this model '1: ReLU'"),
                       tg::DataError);
  CHECK(relu_net->parameters()[0]->value == before);

  struct Tied : tg::Module<double> {
    tg::Parameter<double> w{"w", T{1.0}};
    tg::Linear<double> inner;
    explicit Tied(tg::Rng& r) : inner(1, 1, tg::Init::he(), r) {
      register_parameter("w", w);
      register_module("inner", inner);
      register_parameter("w_again", w);
    }
    V forward(tg::Tape<double>&, const V& x) override { return x; }
    std::string describe() const override { return "Tied"; }
  };
  Tied tied(rng);
  CHECK_THROWS_WITH_AS(tg::save_checkpoint(path, tied), doctest::Contains("one parameter is registered twice"),
                       tg::ValueError);
}

// ---- what a new user tripped over

TEST_CASE("small API: compound assignment, matmul with a tensor, argmax, accuracy, numerical_gradient on const") {
  tg::Tape<double> tape;
  V h = tape.variable(T{1.0, 2.0});
  const V start = h;
  h += tape.constant(T{1.0, 1.0});
  h *= 3.0;
  h -= 1.0;
  h /= tape.constant(T{2.0, 2.0});
  CHECK(h.value() == T{2.5, 4.0});
  tg::sum(h).backward();
  CHECK(start.grad() == T{1.5, 1.5});

  tg::Tape<double> t2;
  const V x = t2.variable(T{{1.0, 2.0}});
  const T w{{1.0, 0.0, 2.0}, {0.0, 1.0, 3.0}};
  CHECK(tg::matmul(x, w).value() == T{{1.0, 2.0, 8.0}});
  CHECK(tg::matmul(T{{1.0, 1.0}}, t2.variable(w)).value() == T{{1.0, 1.0, 5.0}});

  const T scores{{0.1, 0.7, 0.2}, {0.5, 0.5, 0.0}, {0.0, 0.1, 0.9}};
  CHECK(tg::argmax(scores) == std::vector<std::size_t>{1, 0, 2});
  CHECK(tg::accuracy(scores, {1, 2, 2}) == doctest::Approx(2.0 / 3.0));
  CHECK_THROWS_AS(tg::accuracy(scores, {1}), tg::ShapeError);

  const T point{3.0, 4.0};
  const T g = tg::numerical_gradient<double>([](const T& p) { return p[0] * p[0] + p[1] * p[1]; }, point);
  CHECK(g[0] == doctest::Approx(6.0).epsilon(1e-8));
  CHECK(g[1] == doctest::Approx(8.0).epsilon(1e-8));
  CHECK(point == T{3.0, 4.0});
}

TEST_CASE("derivative rules: docs/reference/derivatives.md is the table the op classes give, and every op is in it") {
  std::FILE* f = std::fopen(TAPEGRAD_SOURCE_DIR "/docs/reference/derivatives.md", "rb");
  REQUIRE_MESSAGE(f != nullptr, "docs/reference/derivatives.md is missing: build/tapegrad rules > docs/reference/derivatives.md");
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  CHECK_MESSAGE(text == tg::derivative_rules_markdown(), "docs/reference/derivatives.md is stale: build/tapegrad rules > docs/reference/derivatives.md");
  std::vector<std::string> ops;
  for (const auto& r : tg::derivative_rules()) ops.push_back(r.op);
  for (const char* op : {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "sin", "cos", "abs", "clamp", "relu", "sigmoid",
                         "tanh", "step", "softmax", "log_softmax", "matmul", "affine", "transpose", "reshape", "identity",
                         "slice", "concat", "embedding",
                         "broadcast_to", "sum_to", "gather", "scatter_add", "pick", "sum", "mean", "max",
                         "softmax_cross_entropy", "conv2d", "max_pool2d", "avg_pool2d"})
    CHECK_MESSAGE(std::find(ops.begin(), ops.end(), op) != ops.end(), op);
}

TEST_CASE("gradcheck: a smooth, strongly curved point is not mistaken for a kink") {
  // 500 x^2 at 0: the one-sided slopes differ by 1000 * 2h, beyond tolerance, but the gap halves with the step
  const auto report = tg::gradcheck<double>(
      [](auto&, const std::vector<V>& v) { return tg::sum(v[0] * v[0] * 500.0); }, {T{0.0, 0.3}});
  INFO(report.table());
  CHECK(report["input0"].kinks == 0);
  CHECK(report["input0"].checked == 2);
  CHECK(report.passed());
}
