// Optimizers: each update rule against steps computed by hand from the book's formulas.
#include <unistd.h>

#include "helpers.hpp"
#include "support/descend.hpp"

using T = tg::Tensor<double>;

namespace {
// One parameter p = 1 with a constant gradient 0.5; returns p after each of `steps` updates.
std::vector<double> run(const std::string& name, tg::OptimizerOptions o, int steps, double weight = 1.0) {
  tg::Parameter<double> p("p", T{weight});
  auto opt = tg::make_optimizer<double>(name, {&p}, o);
  std::vector<double> trace;
  for (int i = 0; i < steps; ++i) {
    p.grad() = T{0.5};
    opt->step();
    trace.push_back(p.value[0]);
  }
  return trace;
}
tg::OptimizerOptions lr(double value) {
  tg::OptimizerOptions o;
  o.lr = value;
  return o;
}
}  // namespace

TEST_CASE("SGD: p -= lr g, with optional weight decay") {
  const auto trace = run("sgd", lr(0.1), 2);
  CHECK(trace[0] == doctest::Approx(0.95).epsilon(1e-15));
  CHECK(trace[1] == doctest::Approx(0.9).epsilon(1e-15));
  auto o = lr(0.1);
  o.weight_decay = 0.1;  // g = 0.5 + 0.1 * 1
  CHECK(run("sgd", o, 1)[0] == doctest::Approx(0.94));
}

TEST_CASE("SGD over 1,000 elements (the vectorised loop and its tail) and discard_grads/settle_grads") {
  tg::Parameter<double> p("p", T::zeros({1001}));
  for (std::size_t i = 0; i < 1001; ++i) p.grad()[i] = double(i);
  auto sgd = tg::make_sgd<double>({&p}, {0.5});
  sgd->step();
  for (std::size_t i : {std::size_t(0), std::size_t(7), std::size_t(1000)}) CHECK(p.value[i] == -0.5 * double(i));
  sgd->discard_grads();  // no backward follows: settling zero-fills
  CHECK(p.grad_discarded());
  sgd->settle_grads();
  CHECK(p.grad() == T::zeros({1001}));
}

TEST_CASE("a factored batch-of-one gradient gives the same steps, bit for bit, as a written one") {
  // The Trainer defers (Parameter::defer_grad): SGD applies the weights' factored gradients without writing them,
  // other rules (and SGD with weight decay) after writing them. A plain loop that zero-fills and writes every
  // gradient must end in the same bits. float: the precision where rounding differences would show first.
  using F = tg::Tensor<float>;
  for (const char* spec : {"sgd:lr=0.1", "sgd:lr=0.1,wd=0.01", "momentum:lr=0.05", "adam:lr=0.01"}) {
    INFO(spec);
    const tg::OptimizerSpec parsed = tg::OptimizerSpec::parse(spec);
    tg::Rng data_rng(5);
    const F rows = F::randn({6, 20}, data_rng);
    const std::vector<std::size_t> labels{0, 2, 1, 1, 0, 2};
    const auto make_net = [] {
      tg::Rng rng(9);
      return tg::make_mlp<float>({{20, 16, 3}, tg::Activation::ReLU, tg::Init::he()}, rng);
    };
    auto trained = make_net(), plain = make_net();
    auto trained_opt = tg::make_optimizer<float>(parsed.name, trained->parameters(), parsed.options);
    auto plain_opt = tg::make_optimizer<float>(parsed.name, plain->parameters(), parsed.options);
    tg::TrainerOptions o;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    tg::Trainer<float> trainer(*trained, *trained_opt, o);
    tg::Tape<float> tape;
    for (std::size_t step = 0; step < 6; ++step) {
      const F x({1, 20}, std::vector<float>(rows.data() + step * 20, rows.data() + step * 20 + 20));
      trainer.step(x, {labels[step]});
      tape.clear();
      plain_opt->zero_grad();
      tg::softmax_cross_entropy(plain->forward(tape, tape.constant(x)), {labels[step]}).backward();
      plain_opt->step();
    }
    const auto a = trained->parameters(), b = plain->parameters();
    CHECK(a[0]->grad_factored() == (parsed.name == "sgd" && parsed.options.weight_decay.value_or(0) == 0));
    for (std::size_t k = 0; k < a.size(); ++k) {
      INFO(a[k]->name);
      CHECK(a[k]->value == b[k]->value);
      CHECK(a[k]->grad() == b[k]->grad());
    }
  }
}

TEST_CASE("Momentum: the book's v = m v - lr g and PyTorch's b = m b + g agree while lr is constant") {
  const auto book = run("momentum", lr(0.1), 2);
  CHECK(book[0] == doctest::Approx(0.95));
  CHECK(book[1] == doctest::Approx(0.855));  // v = 0.9 * -0.05 - 0.05
  auto pt = lr(0.1);
  pt.pytorch_form = true;
  const auto torch = run("momentum", pt, 2);
  CHECK(torch[1] == doctest::Approx(0.855));

  // ... and differ once lr changes: book v = 0.9 * -0.095 - 0.2 * 0.5; PyTorch b = 0.9 * 0.95 + 0.5, p -= 0.2 b
  for (bool pytorch : {false, true}) {
    tg::Parameter<double> p("p", T{1.0});
    auto o = lr(0.1);
    o.pytorch_form = pytorch;
    auto opt = tg::make_momentum<double>({&p}, o);
    for (int i = 0; i < 3; ++i) {
      if (i == 2) opt->set_learning_rate(0.2);
      p.grad() = T{0.5};
      opt->step();
    }
    CHECK(p.value[0] == doctest::Approx(pytorch ? 0.855 - 0.2 * 1.355 : 0.855 - 0.1855));
  }
}

TEST_CASE("Nesterov: p += m m v - (1 + m) lr g, v = m v - lr g") {
  const auto trace = run("nesterov", lr(0.1), 2);
  CHECK(trace[0] == doctest::Approx(1 - 1.9 * 0.05));
  CHECK(trace[1] == doctest::Approx(0.905 + 0.81 * -0.05 - 1.9 * 0.05));
}

TEST_CASE("AdaGrad: h += g g, p -= lr g / (sqrt(h) + eps), eps 1e-7 (book) or 1e-10 (PyTorch)") {
  const auto trace = run("adagrad", lr(0.1), 2);
  CHECK(trace[0] == doctest::Approx(1 - 0.05 / (0.5 + 1e-7)).epsilon(1e-14));
  CHECK(trace[1] == doctest::Approx(trace[0] - 0.05 / (std::sqrt(0.5) + 1e-7)).epsilon(1e-14));
  auto pt = lr(0.1);
  pt.eps = 1e-10;  // PyTorch's AdaGrad
  CHECK(run("adagrad", pt, 1)[0] == doctest::Approx(1 - 0.05 / (0.5 + 1e-10)).epsilon(1e-15));
  pt.pytorch_form = true;  // a key of Momentum's alone
  tg::Parameter<double> p("p", T{1.0});
  CHECK_THROWS_WITH_AS(tg::make_optimizer<double>("adagrad", {&p}, pt),
                       "optimizer 'adagrad' does not use 'pytorch' (it takes: lr eps h0 wd)", tg::ValueError);
  auto keras = lr(0.1);
  keras.initial_accumulator = 0.1;  // h = 0.1 + 0.25
  CHECK(run("adagrad", keras, 1)[0] == doctest::Approx(1 - 0.05 / (std::sqrt(0.35) + 1e-7)).epsilon(1e-14));
}

TEST_CASE("RMSProp: h = r h + (1 - r) g g, p -= lr g / (sqrt(h) + eps)") {
  const auto trace = run("rmsprop", lr(0.1), 2);
  CHECK(trace[0] == doctest::Approx(1 - 0.05 / (std::sqrt(0.0025) + 1e-7)).epsilon(1e-12));
  const double h2 = 0.99 * 0.0025 + 0.01 * 0.25;
  CHECK(trace[1] == doctest::Approx(trace[0] - 0.05 / (std::sqrt(h2) + 1e-7)).epsilon(1e-12));
}

TEST_CASE("Adam: the book's bias-corrected step, first two updates") {
  const auto trace = run("adam", {}, 2);  // lr 0.001, b1 0.9, b2 0.999
  const double lr1 = 0.001 * std::sqrt(1 - 0.999) / (1 - 0.9);
  const double m1 = 0.05, v1 = 0.00025;
  CHECK(trace[0] == doctest::Approx(1 - lr1 * m1 / (std::sqrt(v1) + 1e-7)).epsilon(1e-14));
  const double lr2 = 0.001 * std::sqrt(1 - 0.999 * 0.999) / (1 - 0.81);
  const double m2 = m1 + 0.1 * (0.5 - m1), v2 = v1 + 0.001 * (0.25 - v1);
  CHECK(trace[1] == doctest::Approx(trace[0] - lr2 * m2 / (std::sqrt(v2) + 1e-7)).epsilon(1e-14));
}

TEST_CASE("AdamW and AMSGrad: PyTorch's steps, by hand, first two updates") {
  // p = 1, g = 0.5 each step; AdamW decays first (wd 0.01 by default), then divides by sqrt(v_hat) + eps
  const auto adamw = run("adamw", {}, 2);
  double p = 1, m = 0, v = 0;
  for (int t = 1; t <= 2; ++t) {
    p *= 1 - 0.001 * 0.01;
    m = 0.9 * m + 0.1 * 0.5;
    v = 0.999 * v + 0.001 * 0.25;
    const double m_hat = m / (1 - std::pow(0.9, t)), v_hat = v / (1 - std::pow(0.999, t));
    p -= 0.001 * m_hat / (std::sqrt(v_hat) + 1e-8);
    CHECK(adamw[t - 1] == doctest::Approx(p).epsilon(1e-14));
  }
  // AMSGrad divides by the largest v so far: with a gradient that shrinks, v falls but v_max does not
  tg::Parameter<double> q("q", T{1.0});
  auto amsgrad = tg::make_amsgrad<double>({&q});
  double pq = 1, mq = 0, vq = 0, vmax = 0;
  for (int t = 1; t <= 3; ++t) {
    const double g = t == 1 ? 2.0 : 0.01;
    q.grad() = T{g};
    amsgrad->step();
    mq = 0.9 * mq + 0.1 * g;
    vq = 0.999 * vq + 0.001 * g * g;
    vmax = std::max(vmax, vq);
    pq -= 0.001 / (1 - std::pow(0.9, t)) * mq / (std::sqrt(vmax) / std::sqrt(1 - std::pow(0.999, t)) + 1e-8);
    CHECK(q.value[0] == doctest::Approx(pq).epsilon(1e-14));
  }
  CHECK(vmax > vq);  // the case where AMSGrad differs from Adam was reached
}

TEST_CASE("NAdam: PyTorch's published steps with the momentum schedule, by hand") {
  const auto trace = run("nadam", {}, 3);  // lr 0.002, b1 0.9, b2 0.999, eps 1e-8, psi 0.004
  double p = 1, m = 0, v = 0, mu_product = 1;
  for (int t = 1; t <= 3; ++t) {
    const double mu = 0.9 * (1 - 0.5 * std::pow(0.96, t * 0.004));
    const double mu_next = 0.9 * (1 - 0.5 * std::pow(0.96, (t + 1) * 0.004));
    mu_product *= mu;
    m = 0.9 * m + 0.1 * 0.5;
    v = 0.999 * v + 0.001 * 0.25;
    const double denominator = std::sqrt(v / (1 - std::pow(0.999, t))) + 1e-8;
    p -= 0.002 * (1 - mu) / (1 - mu_product) * 0.5 / denominator;
    p -= 0.002 * mu_next / (1 - mu_product * mu_next) * m / denominator;
    CHECK(trace[t - 1] == doctest::Approx(p).epsilon(1e-14));
  }
}

TEST_CASE("Lion: every coordinate moves by exactly lr, in the sign of the interpolated momentum") {
  tg::Parameter<double> p("p", T{1.0, -2.0, 0.5});
  tg::OptimizerOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  auto lion = tg::make_lion<double>({&p}, o);
  // step 1: m = 0, c = 0.1 g: sign(g); p -= 0.1 (sign(g) + 0.5 p); m = 0.01 g
  p.grad() = T{3.0, -0.001, 0.0};
  lion->step();
  CHECK(p.value[0] == doctest::Approx(1 - 0.1 * (1 + 0.5)).epsilon(1e-15));
  CHECK(p.value[1] == doctest::Approx(-2 - 0.1 * (-1 + 0.5 * -2)).epsilon(1e-15));
  CHECK(p.value[2] == doctest::Approx(0.5 - 0.1 * (0 + 0.5 * 0.5)).epsilon(1e-15));  // sign(0) = 0: decay only
  // step 2: g flips on the first coordinate but the momentum (0.03) outweighs 0.1 * -0.2: c = 0.9*0.03 - 0.02 > 0
  const double before = p.value[0];
  p.grad() = T{-0.2, 0.0, 0.0};
  lion->step();
  CHECK(p.value[0] == doctest::Approx(before - 0.1 * (1 + 0.5 * before)).epsilon(1e-15));
  CHECK(lion->describe() == "lion(lr=0.1, beta1=0.9, beta2=0.99, wd=0.5)");
}

TEST_CASE("weight decay 0 is a value, not 'unset': adamw:wd=0 turns its default decay off") {
  const tg::OptimizerSpec off = tg::OptimizerSpec::parse("adamw:wd=0");
  CHECK(off.str() == "adamw:wd=0");
  CHECK(off.value("wd") == 0);
  CHECK(tg::OptimizerSpec::parse("adamw").value("wd") == 0.01);
  tg::Parameter<double> p("p", T{1.0});
  CHECK(tg::make_optimizer<double>(off, {&p})->describe() ==
        "adamw(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, wd=0)");
  CHECK(run("adamw", off.options, 1)[0] != run("adamw", {}, 1)[0]);
  tg::OptimizerOptions bad;
  bad.weight_decay = -0.1;
  for (const char* name : {"adamw", "lion", "sgd"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(tg::make_optimizer<double>(name, {&p}, bad), tg::ValueError);
  }
}

TEST_CASE("optimizer state can be saved and restored: the restored copy takes the same steps") {
  // f(w) = (w0 - 0.3)^2 + 2 (w1 + 0.7)^4, stepped through step(closure), which every optimizer takes
  const auto closure_for = [](tg::Optimizer<double>& opt, tg::Parameter<double>& w) {
    return [&opt, &w] {
      opt.zero_grad();
      const double a = w.value[0] - 0.3, b = w.value[1] + 0.7;
      w.grad() = T{2 * a, 8 * b * b * b};
      return a * a + 2 * b * b * b * b;
    };
  };
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) {
    const std::string& name = kind.name;
    CAPTURE(name);
    tg::Parameter<double> a("w", T{1.0, -2.0}), b("w", T{});
    tg::OptimizerOptions options;
    if (name == "lbfgs") options.iterations = 1;  // 20 iterations a step would reach the minimum in three
    auto first = tg::make_optimizer<double>(name, {&a}, options);
    for (int i = 0; i < 3; ++i) first->step(closure_for(*first, a));
    b.value = a.value;
    auto second = tg::make_optimizer<double>(name, {&b}, options);
    second->load_state(first->state());
    const T before = a.value;
    first->step(closure_for(*first, a));
    second->step(closure_for(*second, b));
    CHECK(a.value == b.value);
    CHECK(a.value != before);
  }
}

TEST_CASE("bad hyperparameters are refused with the optimizer and the value named") {
  tg::Parameter<double> p("p", T{1.0});
  CHECK_THROWS_WITH_AS(tg::make_sgd<double>({&p}, lr(-0.1)),
                       "sgd: the learning rate must be a positive finite number, got -0.1", tg::ValueError);
  CHECK_THROWS_AS(tg::make_sgd<double>({&p}, lr(std::nan(""))), tg::ValueError);
  CHECK_THROWS_AS(tg::make_adam<double>({&p}, lr(INFINITY)), tg::ValueError);
  tg::OptimizerOptions o;
  o.momentum = 1.5;
  CHECK_THROWS_AS(tg::make_momentum<double>({&p}, o), tg::ValueError);
  o = {};
  o.weight_decay = -1;
  CHECK_THROWS_AS(tg::make_sgd<double>({&p}, o), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::make_optimizer<double>("lamb", {&p}),
                       "unknown optimizer 'lamb' (sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, amsgrad, "
                       "nadam, lion, lbfgs)",
                       tg::ValueError);
  auto sgd = tg::make_sgd<double>({&p});
  CHECK_THROWS_AS(sgd->load_state(tg::make_adam<double>({&p})->state()), tg::ValueError);
}

namespace {
// The book's optimizer_compare_naive.py, written out with plain doubles for x and y separately:
// an independent implementation of each update formula, to check tg::support::descend against.
tg::support::Point2 book_formula(const std::string& name, double lr, int steps) {
  double x = -7, y = 2;
  double vx = 0, vy = 0, hx = 0, hy = 0, mx = 0, my = 0;
  int t = 0;
  for (int i = 0; i < steps; ++i) {
    const double gx = x / 10, gy = 2 * y;  // df/dx, df/dy of x^2/20 + y^2
    if (name == "sgd") {
      x -= lr * gx;
      y -= lr * gy;
    } else if (name == "momentum") {
      vx = 0.9 * vx - lr * gx;
      vy = 0.9 * vy - lr * gy;
      x += vx;
      y += vy;
    } else if (name == "nesterov") {
      x += 0.81 * vx - 1.9 * lr * gx;
      y += 0.81 * vy - 1.9 * lr * gy;
      vx = 0.9 * vx - lr * gx;
      vy = 0.9 * vy - lr * gy;
    } else if (name == "adagrad") {
      hx += gx * gx;
      hy += gy * gy;
      x -= lr * gx / (std::sqrt(hx) + 1e-7);
      y -= lr * gy / (std::sqrt(hy) + 1e-7);
    } else if (name == "rmsprop") {
      hx = 0.99 * hx + 0.01 * gx * gx;
      hy = 0.99 * hy + 0.01 * gy * gy;
      x -= lr * gx / (std::sqrt(hx) + 1e-7);
      y -= lr * gy / (std::sqrt(hy) + 1e-7);
    } else if (name == "adam") {
      ++t;
      const double lr_t = lr * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
      mx += 0.1 * (gx - mx);
      my += 0.1 * (gy - my);
      hx += 0.001 * (gx * gx - hx);
      hy += 0.001 * (gy * gy - hy);
      x -= lr_t * mx / (std::sqrt(hx) + 1e-7);
      y -= lr_t * my / (std::sqrt(hy) + 1e-7);
    }
  }
  return {x, y};
}
}  // namespace

TEST_CASE("the book's 2-D comparison: every optimizer's end point equals the book's formulas to 1e-12") {
  const tg::support::Surface& bowl = tg::support::book_bowl();
  for (const tg::OptimizerSpec& spec : tg::support::surface_optimizers(bowl, true)) {
    CAPTURE(spec.str());
    if (spec.name == "lbfgs") continue;  // not in the book; its own test below
    const auto descent = tg::support::descend(spec, bowl.f, bowl.start, 30);
    const auto& path = descent.path;
    REQUIRE(path.size() == 31);
    CHECK(path.front() == tg::support::Point2{-7, 2});
    const tg::support::Point2 expected = book_formula(spec.name, *spec.options.lr, 30);
    CHECK(path.back()[0] == doctest::Approx(expected[0]).epsilon(1e-12));
    CHECK(path.back()[1] == doctest::Approx(expected[1]).epsilon(1e-12));
  }
}

TEST_CASE("2-D surfaces: hand-derived values, gradients and steps on Rosenbrock, Beale and the saddle") {
  namespace sp = tg::support;
  const sp::Surface& rosenbrock = sp::surface("rosenbrock");
  const sp::Surface& beale = sp::surface("beale");
  const sp::Surface& saddle = sp::surface("saddle");
  CHECK(sp::value_at(rosenbrock, {-1.5, 2}) == doctest::Approx(2.5 * 2.5 + 100 * 0.25 * 0.25).epsilon(1e-15));
  CHECK(sp::value_at(rosenbrock, {1, 1}) == 0);
  CHECK(sp::value_at(beale, {3, 0.5}) == 0);
  CHECK(sp::value_at(beale, {1, 1.5}) == doctest::Approx(2.0 * 2.0 + 3.5 * 3.5 + 5.0 * 5.0).epsilon(1e-15));
  // One SGD step from (-1.5, 2) with lr 0.001: df/dx = -2 (1 - x) - 400 x (y - x^2) = -5 - 150 = -155,
  // df/dy = 200 (y - x^2) = -50
  const auto one = sp::descend(tg::OptimizerSpec::parse("sgd:lr=0.001"), rosenbrock.f, rosenbrock.start, 1);
  REQUIRE(one.path.size() == 2);
  CHECK(one.path[1][0] == doctest::Approx(-1.5 + 0.155).epsilon(1e-15));
  CHECK(one.path[1][1] == doctest::Approx(2 + 0.05).epsilon(1e-15));
  // Beale at (1, 1.5): a = 2, b = 3.5, c = 5; df/dx = 2a (y - 1) + 2b (y^2 - 1) + 2c (y^3 - 1),
  // df/dy = 2a x + 2b 2xy + 2c 3xy^2
  const auto beale_step = sp::descend(tg::OptimizerSpec::parse("sgd:lr=0.001"), beale.f, beale.start, 1);
  CHECK(beale_step.path[1][0] == doctest::Approx(1 - 0.001 * (4 * 0.5 + 7 * 1.25 + 10 * 2.375)).epsilon(1e-15));
  CHECK(beale_step.path[1][1] == doctest::Approx(1.5 - 0.001 * (4 + 7 * 3 + 10 * 6.75)).epsilon(1e-15));
  // SGD on x^2 - y^2: x *= 1 - 2 lr, y *= 1 + 2 lr each step, exactly
  const auto sgd = sp::descend(tg::OptimizerSpec::parse("sgd:lr=0.1"), saddle.f, saddle.start, 40);
  REQUIRE(sgd.path.size() == 41);
  CHECK_FALSE(sgd.diverged);
  CHECK(sgd.path.back()[0] == doctest::Approx(-4 * std::pow(0.8, 40)).epsilon(1e-12));
  CHECK(sgd.path.back()[1] == doctest::Approx(0.001 * std::pow(1.2, 40)).epsilon(1e-12));
  // unbounded below: y overflows after log(1e308 / 0.001) / log(1.2) steps, and the path stops before it
  const auto far = sp::descend(tg::OptimizerSpec::parse("sgd:lr=0.1"), saddle.f, saddle.start, 100000);
  CHECK(far.diverged);
  CHECK(far.path.size() == 3929);
  CHECK(std::isfinite(far.path.back()[1]));
  // the surfaces' own optimizers show their lessons: Adam and Momentum follow Rosenbrock's valley, SGD does not
  const auto path_end = [](const sp::Surface& s, const std::string& spec) {
    return sp::descend(tg::OptimizerSpec::parse(spec), s.f, s.start, s.steps).path.back();
  };
  const auto distance = [](sp::Point2 a, sp::Point2 b) { return std::hypot(a[0] - b[0], a[1] - b[1]); };
  CHECK(distance(path_end(rosenbrock, "adam:lr=0.05"), {1, 1}) < 0.05);
  CHECK(distance(path_end(rosenbrock, "sgd:lr=0.001"), {1, 1}) > 1);
  CHECK(distance(path_end(beale, "momentum:lr=0.005"), {3, 0.5}) < 1e-3);
  CHECK_THROWS_WITH_AS(sp::surface("banana"),
                       "surface 'banana': no such surface (accepted: bowl, rosenbrock, beale, saddle)", tg::ValueError);
}

TEST_CASE("optimizer specs parse from text and print back") {
  const auto spec = tg::OptimizerSpec::parse("momentum:lr=0.01,momentum=0.8,wd=0.001");
  CHECK(spec.name == "momentum");
  CHECK(*spec.options.lr == 0.01);
  CHECK(*spec.options.momentum == 0.8);
  CHECK(spec.options.weight_decay == 0.001);
  CHECK(spec.str() == "momentum:lr=0.01,momentum=0.8,wd=0.001");
  CHECK(tg::OptimizerSpec::parse("adam").str() == "adam");
  CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse("sgd:lr"), "optimizer 'sgd:lr': 'lr' is not key=value", tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse("sgd:lr=fast"), "optimizer 'sgd:lr=fast': lr=fast is not a finite number",
                       tg::ValueError);
  CHECK_THROWS_AS(tg::OptimizerSpec::parse("sgd:lr=nan"), tg::ValueError);
}

namespace {
// p after three steps of `spec` on the gradients 0.5, -0.3, 0.8 (a constant one would hide Adam's betas behind
// its bias correction), with the learning rate halved before the third (so forms that agree at a constant rate,
// like Momentum's two, differ).
double after_three_steps(const std::string& spec) {
  const bool closure = tg::optimizer_kind(tg::OptimizerSpec::parse(spec).name).make<double>({}, {})->needs_closure();
  tg::Parameter<double> p("p", closure ? T{-1.5, 2.0} : T{1.0});
  auto opt = tg::make_optimizer<double>(tg::OptimizerSpec::parse(spec), {&p});
  if (closure) {  // L-BFGS: three steps on Rosenbrock from (-1.5, 2)
    const auto f = [&] {
      opt->zero_grad();
      const double x = p.value[0], y = p.value[1];
      p.grad() = T{-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)};
      return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
    };
    for (int i = 0; i < 3; ++i) {
      if (i == 2) opt->set_learning_rate(opt->learning_rate() / 2);
      opt->step(f);
    }
    return p.value[0] + 10 * p.value[1];
  }
  for (int i = 0; i < 3; ++i) {
    if (i == 2) opt->set_learning_rate(opt->learning_rate() / 2);
    p.grad() = T{std::array<double, 3>{0.5, -0.04, -0.2}[i]};
    opt->step();
  }
  return p.value[0];
}
}  // namespace

TEST_CASE("the optimizer table: every key an optimizer lists changes its steps, and every other key is refused") {
  std::vector<std::string> names;
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) names.push_back(kind.name);
  CHECK(names == std::vector<std::string>{"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw",
                                          "amsgrad", "nadam", "lion", "lbfgs"});
  const std::map<std::string, std::string> other_value{
      {"lr", "0.05"}, {"momentum", "0.5"}, {"decay", "0.5"}, {"beta1", "0.5"}, {"beta2", "0.5"},  {"eps", "0.1"},
      {"h0", "0.1"},  {"wd", "0.1"},       {"psi", "0.5"},   {"iters", "2"},   {"history", "1"}, {"wolfe", "0"},
      {"pytorch", "1"}};
  REQUIRE(other_value.size() == tg::optimizer_keys().size());
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) {
    CAPTURE(kind.name);
    const double plain = after_three_steps(kind.name);
    for (const auto& [key, meaning] : tg::optimizer_keys()) {
      CAPTURE(key);
      const std::string spec = kind.name + ":" + key + "=" + other_value.at(key);
      if (kind.uses(key)) {
        CHECK(after_three_steps(spec) != plain);
      } else {
        CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse(spec),
                             fmt::format("optimizer '{}': {} does not use '{}' (it takes: {})", spec, kind.name, key,
                                         kind.keys_text())
                                 .c_str(),
                             tg::ValueError);
      }
    }
    // the defaults the table states are the ones the optimizer takes when a key is not given
    std::string with_defaults = kind.name + ":";
    std::istringstream defaults(kind.defaults_text());
    for (std::string pair; defaults >> pair;) with_defaults += pair + ",";
    with_defaults.pop_back();
    CHECK(after_three_steps(with_defaults) == plain);
  }
}

TEST_CASE("the optimizer table's defaults are typed, and a spec reads a key as given or as its default") {
  CHECK(tg::optimizer_kind("adam").default_of("lr") == 0.001);
  CHECK(tg::optimizer_kind("adagrad").default_of("eps") == 1e-7);
  CHECK(tg::optimizer_kind("momentum").defaults_text() == "lr=0.01 momentum=0.9 wd=0 pytorch=0");
  CHECK_THROWS_WITH_AS(tg::optimizer_kind("sgd").default_of("beta1"),
                       "optimizer 'sgd' does not use 'beta1' (it takes: lr wd)", tg::ValueError);
  CHECK(tg::OptimizerSpec::parse("adam").value("lr") == 0.001);
  CHECK(tg::OptimizerSpec::parse("adam:lr=0.02").value("lr") == 0.02);
  CHECK(tg::OptimizerSpec::parse("momentum:pytorch=1").value("pytorch") == 1);
  CHECK_THROWS_AS(tg::OptimizerSpec::parse("sgd").value("momentum"), tg::ValueError);
  // each optimizer's learning rate, with no key given, is its row's
  tg::Parameter<double> p("p", T{1.0});
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) {
    CAPTURE(kind.name);
    CHECK(tg::make_optimizer<double>(kind.name, {&p})->learning_rate() == kind.default_of("lr"));
  }
}

TEST_CASE("docs/reference/optimizers.md is the table the code reads") {
  std::ifstream page(TAPEGRAD_SOURCE_DIR "/docs/reference/optimizers.md", std::ios::binary);
  REQUIRE_MESSAGE(page, "docs/reference/optimizers.md is missing: build/tapegrad optimizers > docs/reference/optimizers.md");
  const std::string text((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(text == tg::optimizers_markdown(),
                "docs/reference/optimizers.md is stale: build/tapegrad optimizers > docs/reference/optimizers.md");
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) CHECK(text.find("| `" + kind.name + "` |") != std::string::npos);
}

TEST_CASE("optimizer specs: a repeated key, an unknown key, and options the optimizer does not use are errors") {
  CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse("sgd:lr=0.1,lr=0.2"), "optimizer 'sgd:lr=0.1,lr=0.2': 'lr' is given twice",
                       tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse("sgd:momentum=0.9"),
                       "optimizer 'sgd:momentum=0.9': sgd does not use 'momentum' (it takes: lr wd)", tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::OptimizerSpec::parse("adam:speed=2"),
                       "optimizer 'adam:speed=2': unknown key 'speed' (adam takes: lr beta1 beta2 eps wd; all keys: lr "
                       "momentum decay beta1 beta2 eps h0 wd psi iters history wolfe pytorch)",
                       tg::ValueError);
  tg::Parameter<double> p("p", T{1.0});
  tg::OptimizerOptions o;
  o.momentum = 0.9;
  CHECK_THROWS_WITH_AS(tg::make_optimizer<double>("adam", {&p}, o),
                       "optimizer 'adam' does not use 'momentum' (it takes: lr beta1 beta2 eps wd)", tg::ValueError);
}

TEST_CASE("an optimizer's description shows weight decay when it is on, so two runs that differ only there differ") {
  tg::Parameter<double> p("p", T{1.0});
  CHECK(tg::make_optimizer<double>(tg::OptimizerSpec::parse("sgd"), {&p})->describe() == "sgd(lr=0.01)");
  CHECK(tg::make_optimizer<double>(tg::OptimizerSpec::parse("sgd:wd=0.1"), {&p})->describe() == "sgd(lr=0.01, wd=0.1)");
  CHECK(tg::make_optimizer<double>(tg::OptimizerSpec::parse("adam:wd=0.001"), {&p})->describe() ==
        "adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, wd=0.001)");
}

TEST_CASE("optimizer state is named by position, and a checkpoint names it after the model's parameters") {
  tg::Rng rng(2);
  auto net = tg::make_mlp<double>({{2, 3, 2}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  auto adam = tg::make_adam<double>(net->parameters());
  const tg::OptimizerState<double> state = adam->state();
  REQUIRE(state.tensors.size() == 8);
  CHECK(state.tensors[0].first == "m/0");
  CHECK(state.tensors[7].first == "v/3");
  testing::TempDir dir;
  tg::save_checkpoint<double>(dir.file("m.tgckpt"), *net, adam.get());
  const tg::Checkpoint saved(dir.file("m.tgckpt"));
  auto again = tg::make_mlp<double>({{2, 3, 2}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  auto adam_again = tg::make_adam<double>(again->parameters());
  tg::load_checkpoint(saved, *again, adam_again.get());
  // an optimizer over a parameter the model does not hold cannot be saved with it
  tg::Parameter<double> stray("stray", T{1.0});
  auto sgd = tg::make_sgd<double>({&stray});
  CHECK_THROWS_WITH_AS(tg::save_checkpoint<double>(dir.file("n.tgckpt"), *net, sgd.get()),
                       doctest::Contains("the optimizer updates a parameter ('stray') that the model does not hold"),
                       tg::ValueError);
  CHECK_FALSE(std::filesystem::exists(dir.file("n.tgckpt")));
}

TEST_CASE("parameter groups: every optimizer steps a group as a separate optimizer with the group's rate and decay") {
  // one optimizer over (a, b) with b's group at half the rate and decay 0.3, against two optimizers of one
  // parameter each: b's with lr/2 and wd 0.3
  for (const tg::OptimizerKind& kind : tg::optimizer_kinds()) {
    CAPTURE(kind.name);
    const double base_lr = kind.default_of("lr");
    tg::Parameter<double> a("a", T{1.0, -2.0}), b("b", T{0.5, 3.0});
    if (kind.name == "lbfgs") {  // one direction over all parameters: no groups
      auto lbfgs = tg::make_optimizer<double>(kind.name, {&a, &b});
      CHECK(testing::message_of<tg::ValueError>([&] { lbfgs->set_group({&b}, tg::GroupOptions{0.5, {}}); }) ==
            "lbfgs: takes no parameter groups (it treats all parameters as one vector)");
      continue;
    }
    tg::Parameter<double> a_alone("a", a.value), b_alone("b", b.value);
    auto grouped = tg::make_optimizer<double>(kind.name, {&a, &b});
    grouped->set_group({&b}, tg::GroupOptions{0.5, 0.3});
    tg::OptimizerOptions half;
    half.lr = base_lr / 2;
    half.weight_decay = 0.3;
    auto for_a = tg::make_optimizer<double>(kind.name, {&a_alone});
    auto for_b = tg::make_optimizer<double>(kind.name, {&b_alone}, half);
    for (int step = 0; step < 5; ++step) {
      for (tg::Parameter<double>* p : {&a, &b, &a_alone, &b_alone})
        p->grad() = T{std::sin(p->value[0] + step), 0.3 * p->value[1] - 1.0};
      grouped->step();
      for_a->step();
      for_b->step();
    }
    for (std::size_t j = 0; j < 2; ++j) {
      CHECK(a.value[j] == doctest::Approx(a_alone.value[j]).epsilon(1e-13));
      CHECK(b.value[j] == doctest::Approx(b_alone.value[j]).epsilon(1e-13));
    }
    CHECK(std::abs(b.value[0] - a.value[0]) > 0);  // the group's settings did act
  }
}

TEST_CASE("parameter groups: decay_weights_only leaves rank-1 parameters undecayed, describe() shows groups") {
  tg::Parameter<double> w("W", T::zeros({2, 2})), bias("b", T{1.0, 1.0});
  w.value.fill(1.0);
  auto sgd = tg::make_optimizer<double>(tg::OptimizerSpec::parse("sgd:lr=0.1,wd=0.5"), {&w, &bias});
  tg::decay_weights_only(*sgd);
  CHECK(sgd->weight_decay_of(0) == 0.5);
  CHECK(sgd->weight_decay_of(1) == 0);
  CHECK(sgd->describe() == "sgd(lr=0.1, wd=0.5; 1 of 2 parameters: wd=0)");
  sgd->zero_grad();
  sgd->step();
  CHECK(w.value[0] == doctest::Approx(1 - 0.1 * 0.5).epsilon(1e-15));  // decayed
  CHECK(bias.value[0] == 1.0);                                          // not
  sgd->set_group({&w}, tg::GroupOptions{2.0, std::nullopt});
  CHECK(sgd->lr_of(0) == doctest::Approx(0.2));
  CHECK(sgd->describe() == "sgd(lr=0.1, wd=0.5; 1 of 2 parameters: lr x2; 1 of 2 parameters: wd=0)");
  sgd->set_learning_rate(0.05);  // a schedule moves every group alike
  CHECK(sgd->lr_of(0) == doctest::Approx(0.1));
  CHECK(sgd->lr_of(1) == doctest::Approx(0.05));
}

TEST_CASE("parameter groups: a stray parameter, a bad scale or a negative decay is refused, and nothing changes") {
  tg::Parameter<double> p("p", T{1.0}), q("q", T{2.0}), stray("stray", T{3.0});
  auto adam = tg::make_optimizer<double>("adam", {&p, &q});
  CHECK(testing::message_of<tg::ValueError>([&] { adam->set_group({&q, &stray}, {0.5, 0.0}); }) ==
        "adam: set_group: parameter 'stray' is not one this optimizer updates");
  CHECK(adam->lr_of(1) == doctest::Approx(0.001));  // q was not changed before the error
  CHECK(testing::message_of<tg::ValueError>([&] { adam->set_group({&q, nullptr}, {}); }) ==
        "adam: set_group: parameter '(null)' is not one this optimizer updates");
  for (const double scale : {0.0, -1.0, std::nan(""), double(INFINITY)})
    CHECK(testing::message_of<tg::ValueError>([&] { adam->set_group({&p}, {scale, std::nullopt}); })
              .find("adam: a group's lr_scale must be a positive finite number") == 0);
  for (const double wd : {-0.1, std::nan("")})
    CHECK(testing::message_of<tg::ValueError>([&] { adam->set_group({&p}, {1.0, wd}); })
              .find("adam: a group's weight decay must be a non-negative finite number") == 0);
}

TEST_CASE("L-BFGS reaches Rosenbrock's minimum (1, 1) from (-1.5, 2) in three steps, where first-order methods crawl") {
  const tg::support::Surface& rosenbrock = tg::support::surface("rosenbrock");
  const auto on_rosenbrock = [&](const std::string& spec, int steps) {
    return tg::support::descend(tg::OptimizerSpec::parse(spec), rosenbrock.f, rosenbrock.start, steps);
  };
  const auto descent = on_rosenbrock("lbfgs", 3);
  REQUIRE(descent.path.size() == 4);
  const tg::support::Point2 end = descent.path.back();
  // PyTorch's tolerance on the change of the loss (1e-9) stops it here, f = 1.9e-10
  CHECK(std::hypot(end[0] - 1, end[1] - 1) < 1e-5);
  CHECK(descent.values.back() < 1e-9);
  const auto adam = on_rosenbrock("adam:lr=0.05", 1000);
  CHECK(std::hypot(adam.path.back()[0] - 1, adam.path.back()[1] - 1) > 1e-3);
  // one iteration per step: a path to draw, along the valley, reaching the minimum too
  const auto drawn = on_rosenbrock("lbfgs:iters=1", 60);
  CHECK(std::hypot(drawn.path.back()[0] - 1, drawn.path.back()[1] - 1) < 1e-5);
  // Beale's plateaus: its minimum (3, 0.5) too, in the program's 500 one-iteration steps
  const tg::support::Surface& beale = tg::support::surface("beale");
  const auto on_beale = tg::support::descend(tg::OptimizerSpec::parse("lbfgs:iters=1"), beale.f, beale.start, 500);
  CHECK(std::hypot(on_beale.path.back()[0] - 3, on_beale.path.back()[1] - 0.5) < 1e-8);
  // the bowl, a quadratic: its minimum (0, 0) too
  const tg::support::Surface& bowl = tg::support::surface("bowl");
  const auto on_bowl = tg::support::descend(tg::OptimizerSpec::parse("lbfgs"), bowl.f, bowl.start, 5);
  CHECK(std::hypot(on_bowl.path.back()[0], on_bowl.path.back()[1]) < 1e-4);
}

TEST_CASE("L-BFGS refuses step() without a closure, bad settings, a NaN loss and a history that would not fit") {
  tg::Parameter<double> p("p", T{1.0, 2.0});
  auto lbfgs = tg::make_optimizer<double>("lbfgs", {&p});
  CHECK(lbfgs->needs_closure());
  CHECK(lbfgs->describe() == "lbfgs(lr=1, iters=20, history=100, line search: strong Wolfe)");
  CHECK(testing::message_of<tg::ValueError>([&] { lbfgs->step(); }).rfind("lbfgs: step() without a closure", 0) == 0);
  CHECK(testing::message_of<tg::ValueError>([&] { lbfgs->step(std::function<double()>()); }) ==
        "lbfgs: step(closure) with an empty closure");
  for (const auto& [spec, message] : std::vector<std::pair<std::string, std::string>>{
           {"lbfgs:iters=0", "lbfgs: iters=0 must be a whole number from 1 to 1000000"},
           {"lbfgs:iters=2.5", "lbfgs: iters=2.5 must be a whole number from 1 to 1000000"},
           {"lbfgs:history=0", "lbfgs: history=0 must be a whole number from 1 to 1000"},
           {"lbfgs:history=5000", "lbfgs: history=5000 must be a whole number from 1 to 1000"},
           {"lbfgs:wolfe=2", "lbfgs: wolfe=2 must be 0 or 1"},
           {"lbfgs:lr=0", "lbfgs: the learning rate must be a positive finite number, got 0"}}) {
    CAPTURE(spec);
    const auto make = [&] { tg::make_optimizer<double>(tg::OptimizerSpec::parse(spec), {&p}); };
    CHECK(testing::message_of<tg::ValueError>(make) == message);
  }
  // a loss that turns NaN in the line search: an error naming it, the parameters back where the iteration began
  const T start = p.value;
  int calls = 0;
  const auto nan_later = [&] {
    lbfgs->zero_grad();
    p.grad() = T{2 * p.value[0], 2 * p.value[1]};
    return ++calls == 1 ? p.value[0] * p.value[0] + p.value[1] * p.value[1] : std::nan("");
  };
  const std::string message = testing::message_of<tg::NumericError>([&] { lbfgs->step(nan_later); });
  CHECK(message.rfind("lbfgs: the closure returned a loss of nan in the line search at t = ", 0) == 0);
  CHECK(p.value == start);
  // (2 history + 10) copies of the parameters: a history that would take more than half the memory is refused
  const double physical = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
  tg::Parameter<double> big("big", T(tg::Shape{std::size_t(physical / (2 * 1000 * 8)) + 1}));
  tg::OptimizerOptions long_history;
  long_history.history = 1000;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::make_lbfgs<double>({&big}, long_history); })
            .find("lbfgs: history=1000 over ") == 0);
}
