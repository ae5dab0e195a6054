#pragma once
// The book's chapter-4 exercises ("Deep Learning from Scratch", ch04/gradient_method.py, ch04/gradient_simplenet.py),
// written against tapegrad. The program draws simpleNet's graph (`tapegrad graph simple-net`) and the tests
// assert the book's figures; examples/gradient_descent.cpp and examples/simple_net.cpp show the same exercises on
// their own, against the installed package.
#include <functional>

#include "tapegrad/tapegrad.hpp"

namespace tapegrad::support::book {

namespace tg = tapegrad;

/// f(x) = x0^2 + x1^2, the function ch04 descends.
inline tg::Var<double> function_2(const tg::Var<double>& x) { return tg::sum(x * x); }

/// ch04 gradient_descent from `init`, gradients from the tape.
inline tg::Tensor<double> gradient_descent_tape(tg::Tensor<double> init, double lr, int steps) {
  tg::Parameter<double> x("x", std::move(init));
  tg::Tape<double> tape;
  for (int i = 0; i < steps; ++i) {
    tape.clear();
    x.zero_grad();
    function_2(tape.parameter(x)).backward();
    for (std::size_t j = 0; j < x.value.size(); ++j) x.value[j] -= lr * x.grad()[j];
  }
  return x.value;
}

/// The same descent with the book's numerical_gradient (central differences, h = 1e-4).
inline tg::Tensor<double> gradient_descent_numerical(tg::Tensor<double> x, double lr, int steps) {
  const auto f = [](const tg::Tensor<double>& v) {
    double total = 0;
    for (double e : v) total += e * e;
    return total;
  };
  for (int i = 0; i < steps; ++i) {
    const tg::Tensor<double> grad = tg::numerical_gradient<double>(f, x);
    for (std::size_t j = 0; j < x.size(); ++j) x[j] -= lr * grad[j];
  }
  return x;
}

/// ch04's simpleNet: one 2x3 weight, softmax, the book's cross-entropy.
struct SimpleNet {
  tg::Parameter<double> W{"W", tg::Tensor<double>{{0.47355232, 0.9977393, 0.84668094},
                                                  {0.85557411, 0.03563661, 0.69422093}}};

  tg::Var<double> predict(tg::Tape<double>& tape, const tg::Tensor<double>& x) {
    return tg::matmul(tape.constant(x), tape.parameter(W));
  }
  /// softmax + cross-entropy, exact: the book's printed loss and dW are those of -log softmax without its
  /// 1e-7 guard (with the guard, both shift by about 2.5e-7).
  tg::Var<double> loss(tg::Tape<double>& tape, const tg::Tensor<double>& x, const tg::Tensor<double>& t) {
    return tg::softmax_cross_entropy(predict(tape, x), tape.constant(t));
  }
  /// dL/dW by backpropagation.
  tg::Tensor<double> backprop_gradient(const tg::Tensor<double>& x, const tg::Tensor<double>& t) {
    tg::Tape<double> tape;
    W.zero_grad();
    loss(tape, x, t).backward();
    return W.grad();
  }
  /// dL/dW by the book's numerical_gradient over W (which the loss reads in place).
  tg::Tensor<double> numerical_gradient(const tg::Tensor<double>& x, const tg::Tensor<double>& t) {
    return tg::numerical_gradient<double>(
        [&](const tg::Tensor<double>&) {
          tg::NoGradGuard no_grad;
          tg::Tape<double> tape;
          return loss(tape, x, t).item();
        },
        W.value);
  }
};

inline const tg::Tensor<double> simple_net_x{0.6, 0.9};
inline const tg::Tensor<double> simple_net_t{0, 0, 1};

}  // namespace tapegrad::support::book
