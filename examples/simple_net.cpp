// ch04 simpleNet with the book's fixed weights: prediction, loss, and dL/dW from backpropagation and from
// the book's numerical_gradient side by side.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;

// One 2x3 weight (the book's printed values), softmax, cross-entropy.
struct SimpleNet {
  tg::Parameter<double> W{"W", tg::Tensor<double>{{0.47355232, 0.9977393, 0.84668094},
                                                  {0.85557411, 0.03563661, 0.69422093}}};

  tg::Var<double> predict(tg::Tape<double>& tape, const tg::Tensor<double>& x) {
    return tg::matmul(tape.constant(x), tape.parameter(W));
  }
  tg::Var<double> loss(tg::Tape<double>& tape, const tg::Tensor<double>& x, const tg::Tensor<double>& t) {
    return tg::softmax_cross_entropy(predict(tape, x), tape.constant(t));
  }
};

int main() {
  SimpleNet net;
  const tg::Tensor<double> x{0.6, 0.9}, t{0, 0, 1};
  tg::Tape<double> tape;
  fmt::print("W =\n{}\n\n", net.W.value);
  fmt::print("predict(x = {}) = {}\n", x, net.predict(tape, x));
  const tg::Var<double> loss = net.loss(tape, x, t);
  fmt::print("loss(t = {})    = {}\n\n", t, loss);
  loss.backward();
  const tg::Tensor<double> backprop = net.W.grad();
  // the book's numerical_gradient over W, which the loss reads in place
  const tg::Tensor<double> numerical = tg::numerical_gradient<double>(
      [&](const tg::Tensor<double>&) {
        tg::NoGradGuard no_grad;
        tg::Tape<double> scratch;
        return net.loss(scratch, x, t).item();
      },
      net.W.value);
  fmt::print("dW by backpropagation:\n{:.8}\n\ndW by numerical_gradient (h = 1e-4):\n{:.8}\n\n", backprop, numerical);
  double worst = 0;
  for (std::size_t i = 0; i < backprop.size(); ++i) worst = std::max(worst, std::abs(backprop[i] - numerical[i]));
  fmt::print("largest |backprop - numerical| = {:.3g}\n", worst);
}
