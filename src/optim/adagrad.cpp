// AdaGrad (book): h += g g; p -= lr g / (sqrt(h) + eps), eps 1e-7, h0 = 0.
// PyTorch's: eps=1e-10. Keras's: h0=0.1 (and eps inside the sqrt; not offered).
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class AdaGrad : public Optimizer<T> {
 public:
  AdaGrad(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("adagrad", std::move(params), detail::or_default(o.lr, "adagrad", "lr"), o.weight_decay.value_or(0)),
        eps_(detail::positive("adagrad", "eps", detail::or_default(o.eps, "adagrad", "eps"))),
        initial_(o.initial_accumulator),
        h_(this->add_slot("h", static_cast<T>(o.initial_accumulator))) {
    if (!(initial_ >= 0) || !std::isfinite(initial_))
      throw ValueError(fmt::format("adagrad: the initial accumulator must be >= 0, got {}", initial_));
  }
  std::string describe() const override {
    return fmt::format("adagrad(lr={:g}, eps={:g}, h0={:g}{})", this->lr_, eps_, initial_, this->weight_decay_text());
  }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr = static_cast<T>(this->lr_of(i)), eps = static_cast<T>(eps_);
    Tensor<T>& h = h_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      h[j] += g[j] * g[j];
      p[j] -= lr * g[j] / (std::sqrt(h[j]) + eps);
    }
  }
  double eps_, initial_;
  std::vector<Tensor<T>>& h_;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_adagrad(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<AdaGrad<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_adagrad)

}  // namespace tapegrad
