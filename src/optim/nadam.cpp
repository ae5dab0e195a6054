// NAdam (Dozat 2016, in PyTorch's form, torch.optim.NAdam): Adam with Nesterov momentum and a momentum schedule
// mu_t = b1 (1 - 0.5 * 0.96^(t psi)), psi = momentum decay (0.004):
//   m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; d = sqrt(v / (1 - b2^t)) + eps;
//   p -= lr (1 - mu_t) / (1 - prod mu_1..t) g / d;  p -= lr mu_{t+1} / (1 - prod mu_1..t+1) m / d
// wd is L2 (g += wd p), as in PyTorch.
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class NAdam : public Optimizer<T> {
 public:
  NAdam(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("nadam", std::move(params), detail::or_default(o.lr, "nadam", "lr"), o.weight_decay.value_or(0)),
        beta1_(detail::fraction("nadam", "beta1", detail::or_default(o.beta1, "nadam", "beta1"))),
        beta2_(detail::fraction("nadam", "beta2", detail::or_default(o.beta2, "nadam", "beta2"))),
        eps_(detail::positive("nadam", "eps", detail::or_default(o.eps, "nadam", "eps"))),
        psi_(detail::positive("nadam", "psi", detail::or_default(o.momentum_decay, "nadam", "psi"))),
        m_(this->add_slot("m")),
        v_(this->add_slot("v")),
        t_(this->add_scalar("t")),
        mu_product_(this->add_scalar("mu_product")) {}
  std::string describe() const override {
    return fmt::format("nadam(lr={:g}, beta1={:g}, beta2={:g}, eps={:g}, psi={:g}{})", this->lr_, beta1_, beta2_,
                       eps_, psi_, this->weight_decay_text());
  }

 private:
  void begin_step() override {
    if (t_ == 0) mu_product_ = 1;
    t_ += 1;
    const double mu = beta1_ * (1 - 0.5 * std::pow(0.96, t_ * psi_));
    const double mu_next = beta1_ * (1 - 0.5 * std::pow(0.96, (t_ + 1) * psi_));
    mu_product_ *= mu;
    gradient_step_ = -this->lr_ * (1 - mu) / (1 - mu_product_);
    momentum_step_ = -this->lr_ * mu_next / (1 - mu_product_ * mu_next);
    correction2_ = 1 - std::pow(beta2_, t_);
  }
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_), eps = static_cast<T>(eps_),
            c2 = static_cast<T>(correction2_), gs = static_cast<T>(gradient_step_ * this->lr_scale(i)),
            ms = static_cast<T>(momentum_step_ * this->lr_scale(i));
    Tensor<T>& m = m_[i];
    Tensor<T>& v = v_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      m[j] = m[j] * b1 + (T(1) - b1) * g[j];
      v[j] = v[j] * b2 + (T(1) - b2) * g[j] * g[j];
      const T denominator = std::sqrt(v[j] / c2) + eps;
      p[j] += gs * g[j] / denominator;
      p[j] += ms * m[j] / denominator;
    }
  }
  double beta1_, beta2_, eps_, psi_;
  std::vector<Tensor<T>>& m_;
  std::vector<Tensor<T>>& v_;
  double& t_;
  double& mu_product_;
  double gradient_step_ = 0, momentum_step_ = 0, correction2_ = 1;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_nadam(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<NAdam<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_nadam)

}  // namespace tapegrad
