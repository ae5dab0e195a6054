#include "tapegrad/nn/check.hpp"

namespace tapegrad {

template <class T>
GradcheckReport gradcheck_module(Module<T>& module, const Tensor<T>& input, const GradcheckOptions& options) {
  // Draw the random masks once, then keep them for every evaluation of the check.
  {
    Tape<T> warm_up;
    module.forward(warm_up, warm_up.constant(input));
  }
  std::vector<Tensor<T>> saved_buffers;
  for (const Buffer<T>& b : module.buffers()) saved_buffers.push_back(*b.tensor);
  module.freeze_randomness(true);

  Parameter<T> x("input", input);
  std::vector<Parameter<T>*> params = module.parameters();
  params.push_back(&x);
  GradcheckReport report;
  try {
    report = gradcheck<T>([&](Tape<T>& tape) { return module.forward(tape, tape.parameter(x)); }, params, options);
  } catch (...) {
    module.freeze_randomness(false);
    throw;
  }
  module.freeze_randomness(false);
  const auto buffers = module.buffers();
  for (std::size_t i = 0; i < buffers.size(); ++i) *buffers[i].tensor = saved_buffers[i];
  for (Parameter<T>* p : module.parameters()) p->zero_grad();
  return report;
}

template GradcheckReport gradcheck_module(Module<float>&, const Tensor<float>&, const GradcheckOptions&);
template GradcheckReport gradcheck_module(Module<double>&, const Tensor<double>&, const GradcheckOptions&);

}  // namespace tapegrad
