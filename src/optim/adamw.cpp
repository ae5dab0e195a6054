// PyTorch's Adam family (eps added to the bias-corrected root, not Keras's eps-hat form of `adam`):
//   adamw   (Loshchilov & Hutter): p -= lr wd p first (decoupled weight decay), then the Adam step;
//   amsgrad (Reddi et al.): the Adam step with the largest second moment so far; wd is L2 (g += wd p), as in
//           PyTorch's Adam(amsgrad=True).
// Both: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g g; p -= lr / (1 - b1^t) m / (sqrt(v') / sqrt(1 - b2^t) + eps),
// with v' = v (adamw) or max(v' , v) (amsgrad); torch.optim.AdamW / Adam in LibTorch 1.13, step for step.
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class PytorchAdam : public Optimizer<T> {
 public:
  PytorchAdam(const char* name, bool decoupled, std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>(name, std::move(params), detail::or_default(o.lr, name, "lr"),
                     detail::or_default(o.weight_decay, name, "wd"), decoupled),
        decoupled_(decoupled),
        beta1_(detail::fraction(name, "beta1", detail::or_default(o.beta1, name, "beta1"))),
        beta2_(detail::fraction(name, "beta2", detail::or_default(o.beta2, name, "beta2"))),
        eps_(detail::positive(name, "eps", detail::or_default(o.eps, name, "eps"))),
        m_(this->add_slot("m")),
        v_(this->add_slot("v")),
        v_max_(decoupled ? v_ : this->add_slot("v_max")),
        t_(this->add_scalar("t")) {}
  std::string describe() const override {
    return fmt::format("{}(lr={:g}, beta1={:g}, beta2={:g}, eps={:g}{})", this->name_, this->lr_, beta1_, beta2_, eps_,
                       this->weight_decay_text());
  }

 private:
  void begin_step() override {
    t_ += 1;
    step_size_ = this->lr_ / (1 - std::pow(beta1_, t_));
    root_correction_ = std::sqrt(1 - std::pow(beta2_, t_));
  }
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T b1 = static_cast<T>(beta1_), b2 = static_cast<T>(beta2_), eps = static_cast<T>(eps_),
            step = static_cast<T>(step_size_ * this->lr_scale(i)), root = static_cast<T>(root_correction_),
            shrink = static_cast<T>(1 - this->lr_of(i) * this->weight_decay_of(i));
    Tensor<T>& m = m_[i];
    Tensor<T>& v = v_[i];
    Tensor<T>& v_max = v_max_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (decoupled_) p[j] *= shrink;
      m[j] = m[j] * b1 + (T(1) - b1) * g[j];
      v[j] = v[j] * b2 + (T(1) - b2) * g[j] * g[j];
      if (!decoupled_) v_max[j] = std::max(v_max[j], v[j]);
      const T denominator = std::sqrt(decoupled_ ? v[j] : v_max[j]) / root + eps;
      p[j] += -step * m[j] / denominator;
    }
  }
  bool decoupled_;
  double beta1_, beta2_, eps_;
  std::vector<Tensor<T>>& m_;
  std::vector<Tensor<T>>& v_;
  std::vector<Tensor<T>>& v_max_;
  double& t_;
  double step_size_ = 0, root_correction_ = 1;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_adamw(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<PytorchAdam<T>>("adamw", true, std::move(params), o);
}
template <class T>
std::unique_ptr<Optimizer<T>> make_amsgrad(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<PytorchAdam<T>>("amsgrad", false, std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_adamw)
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_amsgrad)

}  // namespace tapegrad
