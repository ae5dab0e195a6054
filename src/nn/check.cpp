#include "tapegrad/nn/check.hpp"
#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

template <class T>
GradcheckReport gradcheck_module(Module<T>& module, const Tensor<T>& input, const GradcheckOptions& options) {
  if (module.parameters().empty() && !module.parameter_free())
    throw ValueError(fmt::format("gradcheck_module: the module ({}) has no parameters to check; did you register "
                                 "its layers (register_module, register_parameter)? A layer without parameters by "
                                 "design says so by overriding parameter_free()",
                                 module.describe()));
  std::vector<Tensor<T>> saved_buffers;
  for (const Buffer<T>& b : module.buffers()) saved_buffers.push_back(*b.tensor);
  // Thaw the random draws and restore the buffers however the check ends.
  struct Restore {
    Module<T>& module;
    std::vector<Tensor<T>>& buffers;
    ~Restore() {
      module.freeze_randomness(false);
      const auto current = module.buffers();
      for (std::size_t i = 0; i < current.size(); ++i) *current[i].tensor = buffers[i];
      for (Parameter<T>* p : module.parameters()) p->zero_grad();
    }
  } restore{module, saved_buffers};
  // Draw the random masks once, then keep them for every evaluation of the check.
  {
    Tape<T> warm_up;
    module.forward(warm_up, warm_up.constant(input));
  }
  module.freeze_randomness(true);

  Parameter<T> x("input", input);
  const auto named = module.named_parameters();
  std::vector<Parameter<T>*> params;
  for (const auto& [name, p] : named) params.push_back(p);
  params.push_back(&x);
  GradcheckReport report =
      gradcheck<T>([&](Tape<T>& tape) { return module.forward(tape, tape.parameter(x)); }, params, options);
  for (std::size_t i = 0; i < named.size() && i < report.entries.size(); ++i)
    report.entries[i].name = named[i].first;  // the tree's names ("block.l1.W"), one entry per parameter, in order
  return report;
}

template GradcheckReport gradcheck_module(Module<float>&, const Tensor<float>&, const GradcheckOptions&);
template GradcheckReport gradcheck_module(Module<double>&, const Tensor<double>&, const GradcheckOptions&);

}  // namespace tapegrad
