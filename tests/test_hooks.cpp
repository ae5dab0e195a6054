// Hooks: Var::register_hook (see or replace a gradient as it flows) and module forward and backward hooks.
#include <thread>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

T scaled(T g, double k) {
  for (double& v : g) v *= k;
  return g;
}

// y = sum(w * tanh(x)), with the hand-derived dy/dh = w and dy/dx = w (1 - tanh(x)^2).
struct TanhChain {
  tg::Tape<double> tape;
  T x0{0.3, -1.2, 0.7};
  T w0{2.0, -0.5, 1.5};
  V x = tape.variable(x0);
  V h = tg::tanh(x);
  V y = tg::sum(tape.constant(w0) * h);
  double dx(std::size_t i) const { return w0[i] * (1 - std::tanh(x0[i]) * std::tanh(x0[i])); }
};

}  // namespace

TEST_CASE("a hook sees the gradient backward writes") {
  TanhChain c;
  T seen_h, seen_x;
  c.h.register_hook([&](const T& g) { seen_h = g; });
  c.x.register_hook([&](const T& g) { seen_x = g; });
  c.y.backward();
  CHECK(seen_h == c.w0);
  for (std::size_t i = 0; i < 3; ++i) CHECK(seen_x[i] == doctest::Approx(c.dx(i)).epsilon(1e-15));
  CHECK(seen_x == c.x.grad());
  CHECK(seen_h == c.h.grad());
}

TEST_CASE("a hook sees the whole gradient of a value used more than once, once") {
  tg::Tape<double> tape;
  const V a = tape.variable(T::scalar(1.5));
  const V b = a * 3.0;
  int calls = 0;
  T seen;
  b.register_hook([&](const T& g) {
    ++calls;
    seen = g;
  });
  (b * b + b).backward();  // d/db = 2b + 1 = 10
  CHECK(calls == 1);
  CHECK(seen.item() == 10.0);
  CHECK(a.grad().item() == 30.0);
}

TEST_CASE("a replacing hook changes what the values below receive") {
  TanhChain c;
  c.h.register_hook([](const T& g) { return scaled(g, 2.0); });
  c.y.backward();
  for (std::size_t i = 0; i < 3; ++i) CHECK(c.x.grad()[i] == doctest::Approx(2 * c.dx(i)).epsilon(1e-15));
  CHECK(c.h.grad() == scaled(c.w0, 2.0));  // the node keeps the replacement
  SUBCASE("zeros stop the flow") {
    TanhChain d;
    d.h.register_hook([](const T& g) { return T::zeros(g.shape()); });
    d.y.backward();
    CHECK(d.x.grad() == T::zeros({3}));
  }
}

TEST_CASE("hooks run in the order registered, each seeing what the one before left") {
  TanhChain c;
  std::vector<double> first;
  c.h.register_hook([](const T& g) { return scaled(g, 10.0); });
  c.h.register_hook([&](const T& g) { first.push_back(g[0]); });
  c.y.backward();
  CHECK(first == std::vector<double>{20.0});
}

TEST_CASE("a hook on a parameter's handle sees that use's gradient before it joins Parameter::grad") {
  tg::Parameter<double> p("p", T{1.0, 2.0});
  tg::Tape<double> tape;
  const V first = tape.parameter(p);
  const V second = tape.parameter(p);
  T seen;
  first.register_hook([&](const T& g) { seen = g; });
  tg::sum(first * 3.0 + second * second).backward();
  CHECK(seen == T{3.0, 3.0});                     // d/dfirst only
  CHECK(p.grad() == T{3.0 + 2.0, 3.0 + 4.0});    // both uses
  CHECK(first.grad() == p.grad());                // a parameter handle's grad() is the parameter's, as before
  SUBCASE("a replacement is what the parameter receives") {
    tg::Parameter<double> q("q", T{1.0, 2.0});
    tg::Tape<double> t2;
    const V use = t2.parameter(q);
    use.register_hook([](const T& g) { return scaled(g, 0.5); });
    tg::sum(use * 4.0).backward();
    CHECK(q.grad() == T{2.0, 2.0});
  }
  SUBCASE("with the Trainer's discarded gradients (a batch of one's factored weight gradient)") {
    tg::Parameter<double> w("W", T(tg::Shape{2, 3}));
    w.value = T{{1, 2, 3}, {4, 5, 6}};
    w.defer_grad();
    tg::Tape<double> t3;
    const V wv = t3.parameter(w);
    T seen_w;
    wv.register_hook([&](const T& g) { seen_w = g; });
    tg::sum(tg::matmul(t3.constant(T{{1.0, -1.0}}), wv)).backward();
    CHECK(seen_w == T{{1, 1, 1}, {-1, -1, -1}});
    CHECK(w.grad() == seen_w);
  }
}

TEST_CASE("hooks run in grad() and in a recorded backward") {
  TanhChain c;
  T seen;
  c.h.register_hook([&](const T& g) { seen = g; });
  SUBCASE("grad() without create_graph: a replacement is used") {
    c.h.register_hook([](const T& g) { return scaled(g, 3.0); });
    const auto g = tg::grad(c.y, {c.x});
    CHECK(seen == c.w0);
    for (std::size_t i = 0; i < 3; ++i) CHECK(g[0].value()[i] == doctest::Approx(3 * c.dx(i)).epsilon(1e-15));
  }
  SUBCASE("create_graph: a hook that sees runs") {
    c.y.backward(tg::kCreateGraph);
    CHECK(seen == c.w0);
    for (std::size_t i = 0; i < 3; ++i) CHECK(c.x.grad()[i] == doctest::Approx(c.dx(i)).epsilon(1e-15));
  }
  SUBCASE("create_graph: a replacing hook is refused, as its result could not be differentiated") {
    c.h.register_hook([](const T& g) { return g; });
    const std::string m = testing::message_of<tg::TapeError>([&] { c.y.backward(tg::kCreateGraph); });
    CHECK(m.find("replaces its gradient") != std::string::npos);
    CHECK(m.find("create_graph") != std::string::npos);
  }
}

TEST_CASE("a hook is removed through its handle, and a tape's clear() drops its recording's hooks") {
  tg::Parameter<double> p("p", T{1.0});
  tg::Tape<double> tape;
  int calls = 0;
  tg::HookHandle handle;
  for (int step = 0; step < 3; ++step) {
    tape.clear();
    const V use = tape.parameter(p);
    if (step == 0) {
      handle = use.register_hook([&](const T&) { ++calls; });
      CHECK(handle.active());
    }
    tg::sum(use * 2.0).backward();
    if (step == 0) CHECK_FALSE(!handle.active());
    // step 1 records the same slot again: the old hook must not fire there
  }
  CHECK(calls == 1);
  CHECK_FALSE(handle.active());
  handle.remove();  // nothing left to remove: no error
  SUBCASE("remove() before backward") {
    TanhChain c;
    int n = 0;
    tg::HookHandle h = c.h.register_hook([&](const T&) { ++n; });
    h.remove();
    h.remove();
    c.y.backward();
    CHECK(n == 0);
    CHECK_FALSE(h.active());
  }
  SUBCASE("a handle outliving its tape") {
    tg::HookHandle h;
    {
      TanhChain c;
      h = c.h.register_hook([](const T&) {});
    }
    CHECK_FALSE(h.active());
    h.remove();
  }
  SUBCASE("rewind() drops the hooks of the nodes it forgets and keeps the others") {
    tg::Tape<double> t;
    const V x = t.variable(T{1.0, 2.0});
    int kept = 0, dropped = 0;
    x.register_hook([&](const T&) { ++kept; });
    const std::size_t mark = t.size();
    const V y = x * 3.0;
    y.register_hook([&](const T&) { ++dropped; });
    t.rewind(mark);
    const V x2 = t.handle(0);
    tg::sum(x2 * x2).backward();
    CHECK(kept == 1);
    CHECK(dropped == 0);
  }
}

TEST_CASE("register_hook refuses what no gradient could reach and reports a hook's wrong shape") {
  tg::Tape<double> tape;
  const V c = tape.constant(T{1.0, 2.0});
  std::string m = testing::message_of<tg::TapeError>([&] { c.register_hook([](const T&) {}); });
  CHECK(m.find("needs no gradient") != std::string::npos);
  const V x = tape.variable(T{1.0, 2.0});
  tape.clear();
  m = testing::message_of<tg::TapeError>([&] { x.register_hook([](const T&) {}); });
  CHECK(m.find("cleared") != std::string::npos);
  m = testing::message_of<tg::TapeError>([&] { V().register_hook([](const T&) {}); });
  CHECK(m.find("refers to no tape") != std::string::npos);
  const V z = tape.variable(T{1.0, 2.0});
  z.register_hook([](const T&) { return T{1.0}; });
  m = testing::message_of<tg::ShapeError>([&] { tg::sum(z * z).backward(); });
  CHECK(m.find("returned a gradient of shape (1,)") != std::string::npos);
  CHECK(m.find("shape (2,)") != std::string::npos);
  SUBCASE("from another thread than the one recording on the tape") {
    std::string from_thread;
    std::thread other(
        [&] { from_thread = testing::message_of<tg::TapeError>([&] { z.register_hook([](const T&) {}); }); });
    other.join();
    CHECK(from_thread.find("register_hook: this tape is in use by another thread") == 0);
  }
  SUBCASE("a hook that throws: the error reaches the caller and the tape stays usable after clear()") {
    tg::Parameter<double> p("p", T{1.0});
    tg::Tape<double> t;
    t.parameter(p).register_hook([](const T&) { throw tg::ValueError("from the hook"); });
    CHECK(testing::message_of<tg::ValueError>([&] { tg::sum(t.handle(0) * 2.0).backward(); }) == "from the hook");
    t.clear();
    p.zero_grad();
    tg::sum(t.parameter(p) * 2.0).backward();
    CHECK(p.grad() == T{2.0});
  }
}

TEST_CASE("module forward hooks see each call's input and output") {
  tg::Rng rng(3);
  tg::Sequential<double> net;
  auto& l1 = net.add<tg::Linear<double>>(4, 5, tg::Init::he(), rng);
  net.add<tg::Tanh<double>>();
  net.add<tg::Linear<double>>(5, 3, tg::Init::he(), rng);
  std::vector<tg::Shape> shapes;
  T out;
  tg::HookHandle h = l1.register_forward_hook([&](tg::Module<double>& m, const V& in, const V& y) {
    CHECK(&m == &l1);
    shapes.push_back(in.shape());
    out = y.value();
  });
  tg::Tape<double> tape;
  const T x = tg::support::kink_free({2, 4}, rng);
  const V y = net(tape, tape.constant(x));
  CHECK(shapes == std::vector<tg::Shape>{tg::Shape{2, 4}});
  const T& w = l1.parameters()[0]->value;
  const T& b = l1.parameters()[1]->value;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 5; ++j) {
      double expected = b[j];
      for (std::size_t k = 0; k < 4; ++k) expected += x[i * 4 + k] * w[k * 5 + j];
      CHECK(out[i * 5 + j] == doctest::Approx(expected).epsilon(1e-14));
    }
  h.remove();
  (void)net(tape, tape.constant(x));
  CHECK(shapes.size() == 1);
}

TEST_CASE("module backward hooks see the gradients at the module's boundary") {
  tg::Rng rng(5);
  tg::Linear<double> inner(3, 3, tg::Init::he(), rng);
  tg::Tape<double> tape;
  const V x = tape.variable(tg::support::kink_free({2, 3}, rng));
  T grad_in, grad_out;
  int calls = 0;
  inner.register_backward_hook([&](tg::Module<double>&, const T* gi, const T& go) {
    ++calls;
    REQUIRE(gi != nullptr);
    grad_in = *gi;
    grad_out = go;
  });
  // a residual: x's gradient is the module's path plus the skip's, and the hook sees the module's path alone
  const V y = inner(tape, x);
  T y_grad;
  y.register_hook([&](const T& g) { y_grad = g; });
  const T weights = tg::support::kink_free({2, 3}, rng);
  tg::sum((y + x) * tape.constant(weights)).backward();
  CHECK(calls == 1);
  CHECK(grad_out == weights);
  CHECK(y_grad == weights);
  const T& w = inner.parameters()[0]->value;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t k = 0; k < 3; ++k) {
      double through = 0;  // (g W^T)[i, k]
      for (std::size_t j = 0; j < 3; ++j) through += weights[i * 3 + j] * w[k * 3 + j];
      CHECK(grad_in[i * 3 + k] == doctest::Approx(through).epsilon(1e-14));
      CHECK(x.grad()[i * 3 + k] == doctest::Approx(through + weights[i * 3 + k]).epsilon(1e-14));
    }
  SUBCASE("a first layer on data: grad_input is null") {
    tg::Tape<double> t;
    const T* seen = reinterpret_cast<const T*>(1);
    tg::Linear<double> first(3, 2, tg::Init::he(), rng);
    first.register_backward_hook([&](tg::Module<double>&, const T* gi, const T& go) {
      seen = gi;
      CHECK(go.shape() == tg::Shape{2, 2});
    });
    tg::sum(first(t, t.constant(tg::support::kink_free({2, 3}, rng)))).backward();
    CHECK(seen == nullptr);
  }
  SUBCASE("no gradients: no identity node and no hook") {
    tg::Tape<double> t;
    const tg::NoGradGuard off;
    const std::size_t before = t.size();
    (void)inner(t, t.constant(tg::support::kink_free({2, 3}, rng)));
    CHECK(t.size() - before == 4);  // x, W, b, and the affine: no identity node
  }
}

TEST_CASE("module hooks fire at every call across tape reuse, and a Trainer's steps") {
  tg::Rng rng(1);
  auto net = tg::make_mlp<double>({{2, 8, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  std::size_t forwards = 0, backwards = 0, root_forwards = 0;
  (*net)[1].register_forward_hook([&](tg::Module<double>&, const V&, const V&) { ++forwards; });
  (*net)[1].register_backward_hook([&](tg::Module<double>&, const T* gi, const T&) {
    CHECK(gi != nullptr);
    ++backwards;
  });
  net->register_forward_hook([&](tg::Module<double>&, const V&, const V&) { ++root_forwards; });
  tg::OptimizerOptions o;
  o.lr = 0.01;
  const auto adam = tg::make_optimizer<double>("adam", net->parameters(), o);
  tg::TrainerOptions options = testing::quiet_options(2, 100, 4);
  options.evaluate_train = false;
  tg::Trainer<double> trainer(*net, *adam, options);
  trainer.fit(testing::spiral());  // 300 points, batch 100: 6 steps on one tape, cleared each step
  CHECK(root_forwards == 6);
  CHECK(forwards == 6);
  CHECK(backwards == 6);
}
