// Nesterov (book): p += m m v - (1 + m) lr g; v = m v - lr g  (algebraically Keras's nesterov=True)
#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class Nesterov : public Optimizer<T> {
 public:
  Nesterov(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("nesterov", std::move(params), detail::or_default(o.lr, "nesterov", "lr"), o.weight_decay.value_or(0)),
        momentum_(
            detail::fraction("nesterov", "momentum", detail::or_default(o.momentum, "nesterov", "momentum"))),
        v_(this->add_slot("v")) {}
  std::string describe() const override {
    return fmt::format("nesterov(lr={:g}, momentum={:g}{})", this->lr_, momentum_, this->weight_decay_text());
  }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr = static_cast<T>(this->lr_of(i)), m = static_cast<T>(momentum_);
    Tensor<T>& v = v_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      p[j] += m * m * v[j] - (T(1) + m) * lr * g[j];
      v[j] = m * v[j] - lr * g[j];
    }
  }
  double momentum_;
  std::vector<Tensor<T>>& v_;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_nesterov(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Nesterov<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_nesterov)

}  // namespace tapegrad
