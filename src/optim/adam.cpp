// Adam (book; Keras's "eps-hat" form, PyTorch adds eps to sqrt(v_hat) instead):
// t += 1; lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); m += (1 - b1)(g - m); v += (1 - b2)(g g - v);
// p -= lr_t m / (sqrt(v) + eps); defaults lr 0.001, b1 0.9, b2 0.999, eps 1e-7
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("adam", std::move(params), detail::or_default(o.lr, "adam", "lr"), o.weight_decay.value_or(0)),
        beta1_(detail::fraction("adam", "beta1", detail::or_default(o.beta1, "adam", "beta1"))),
        beta2_(detail::fraction("adam", "beta2", detail::or_default(o.beta2, "adam", "beta2"))),
        eps_(detail::positive("adam", "eps", detail::or_default(o.eps, "adam", "eps"))),
        m_(this->add_slot("m")),
        v_(this->add_slot("v")),
        t_(this->add_scalar("t")) {}
  std::string describe() const override {
    return fmt::format("adam(lr={:g}, beta1={:g}, beta2={:g}, eps={:g}{})", this->lr_, beta1_, beta2_, eps_,
                       this->weight_decay_text());
  }

 private:
  void begin_step() override {
    t_ += 1;
    lr_t_ = this->lr_ * std::sqrt(1 - std::pow(beta2_, t_)) / (1 - std::pow(beta1_, t_));
  }
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr_t = static_cast<T>(lr_t_ * this->lr_scale(i)), b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_),
            eps = static_cast<T>(eps_);
    Tensor<T>& m = m_[i];
    Tensor<T>& v = v_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      m[j] += (T(1) - b1) * (g[j] - m[j]);
      v[j] += (T(1) - b2) * (g[j] * g[j] - v[j]);
      p[j] -= lr_t * m[j] / (std::sqrt(v[j]) + eps);
    }
  }
  double beta1_, beta2_, eps_;
  std::vector<Tensor<T>>& m_;
  std::vector<Tensor<T>>& v_;
  double& t_;
  double lr_t_ = 0;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_adam(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Adam<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_adam)

}  // namespace tapegrad
