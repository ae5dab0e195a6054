#include "support/descend.hpp"

#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/reduce.hpp"

namespace tapegrad::support {

Var<double> book_bowl(const Var<double>& xy) {
  const Var<double> weights = xy.tape().constant(Tensor<double>{1.0 / 20, 1.0});
  return sum(weights * xy * xy);
}

std::vector<OptimizerSpec> book_bowl_optimizers(bool all) {
  std::vector<std::string> specs{"sgd:lr=0.95", "momentum:lr=0.1", "adagrad:lr=1.5", "adam:lr=0.3"};
  if (all) specs.insert(specs.end(), {"nesterov:lr=0.1", "rmsprop:lr=0.3"});
  std::vector<OptimizerSpec> out;
  for (const std::string& s : specs) out.push_back(OptimizerSpec::parse(s));
  return out;
}

std::vector<Point2> descend(const OptimizerSpec& spec, const std::function<Var<double>(const Var<double>&)>& f,
                            Point2 start, int steps) {
  Parameter<double> xy("xy", Tensor<double>{start[0], start[1]});
  auto optimizer = make_optimizer<double>(spec, {&xy});
  std::vector<Point2> path{start};
  Tape<double> tape;
  for (int i = 0; i < steps; ++i) {
    tape.clear();
    optimizer->zero_grad();
    f(tape.parameter(xy)).backward();
    optimizer->step();
    path.push_back({xy.value[0], xy.value[1]});
  }
  return path;
}

}  // namespace tapegrad::support
