// d/dx sum(x * x) at (1, 2) is (2, 4): exit 0 when the installed library says so.
#include <tapegrad/tapegrad.hpp>

int main() {
  tapegrad::Tape<double> tape;
  const auto x = tape.variable(tapegrad::Tensor<double>{1.0, 2.0});
  tapegrad::sum(x * x).backward();
  fmt::print("consumer: grad = {}\n", x.grad());
  return x.grad() == tapegrad::Tensor<double>{2.0, 4.0} ? 0 : 1;
}
