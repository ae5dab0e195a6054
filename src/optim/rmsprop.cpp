// RMSProp (book): h = r h + (1 - r) g g; p -= lr g / (sqrt(h) + eps), r 0.99, eps 1e-7
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class RmsProp : public Optimizer<T> {
 public:
  RmsProp(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("rmsprop", std::move(params), detail::or_default(o.lr, "rmsprop", "lr"), o.weight_decay.value_or(0)),
        decay_(detail::fraction("rmsprop", "decay", detail::or_default(o.decay, "rmsprop", "decay"))),
        eps_(detail::positive("rmsprop", "eps", detail::or_default(o.eps, "rmsprop", "eps"))),
        h_(this->add_slot("h")) {}
  std::string describe() const override {
    return fmt::format("rmsprop(lr={:g}, decay={:g}, eps={:g}{})", this->lr_, decay_, eps_, this->weight_decay_text());
  }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr = static_cast<T>(this->lr_of(i)), r = static_cast<T>(decay_), eps = static_cast<T>(eps_);
    Tensor<T>& h = h_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      h[j] = r * h[j] + (T(1) - r) * g[j] * g[j];
      p[j] -= lr * g[j] / (std::sqrt(h[j]) + eps);
    }
  }
  double decay_, eps_;
  std::vector<Tensor<T>>& h_;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_rmsprop(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<RmsProp<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_rmsprop)

}  // namespace tapegrad
