// ch04 simpleNet with the book's fixed weights: prediction, loss, and dL/dW from backpropagation and from
// the book's numerical_gradient side by side.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "book_exercises.hpp"

int main() {
  book::SimpleNet net;
  tapegrad::Tape<double> tape;
  fmt::print("W =\n{}\n\n", net.W.value);
  fmt::print("predict(x = {}) = {}\n", book::simple_net_x, net.predict(tape, book::simple_net_x));
  fmt::print("loss(t = {})    = {}\n\n", book::simple_net_t, net.loss(tape, book::simple_net_x, book::simple_net_t));
  const auto backprop = net.backprop_gradient(book::simple_net_x, book::simple_net_t);
  const auto numerical = net.numerical_gradient(book::simple_net_x, book::simple_net_t);
  fmt::print("dW by backpropagation:\n{:.8}\n\ndW by numerical_gradient (h = 1e-4):\n{:.8}\n\n", backprop, numerical);
  double worst = 0;
  for (std::size_t i = 0; i < backprop.size(); ++i) worst = std::max(worst, std::abs(backprop[i] - numerical[i]));
  fmt::print("largest |backprop - numerical| = {:.3g}\n", worst);
}
