// Momentum. Book: v = m v - lr g; p += v.  PyTorch form: b = m b + g; p -= lr b
// (the same iterates while lr is constant; they differ once lr changes).
#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class Momentum : public Optimizer<T> {
 public:
  Momentum(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("momentum", std::move(params), detail::or_default(o.lr, "momentum", "lr"), o.weight_decay.value_or(0)),
        momentum_(
            detail::fraction("momentum", "momentum", detail::or_default(o.momentum, "momentum", "momentum"))),
        pytorch_(o.pytorch_form),
        v_(this->add_slot(pytorch_ ? "b" : "v")) {}
  std::string describe() const override {
    return fmt::format("momentum(lr={:g}, momentum={:g}{}{})", this->lr_, momentum_, pytorch_ ? ", pytorch" : "",
                       this->weight_decay_text());
  }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr = static_cast<T>(this->lr_of(i)), m = static_cast<T>(momentum_);
    Tensor<T>& v = v_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (pytorch_) {
        v[j] = m * v[j] + g[j];
        p[j] -= lr * v[j];
      } else {
        v[j] = m * v[j] - lr * g[j];
        p[j] += v[j];
      }
    }
  }
  double momentum_;
  bool pytorch_;
  std::vector<Tensor<T>>& v_;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_momentum(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Momentum<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_momentum)

}  // namespace tapegrad
