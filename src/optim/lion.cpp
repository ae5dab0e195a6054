// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2): the sign of an
// interpolated momentum, with decoupled weight decay:
//   c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g
// Every coordinate moves by exactly lr (before decay): a rate 3-10x below AdamW's is the paper's advice.
#include <cmath>

#include "optim/validation.hpp"

namespace tapegrad {
namespace {
template <class T>
class Lion : public Optimizer<T> {
 public:
  Lion(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("lion", std::move(params), detail::or_default(o.lr, "lion", "lr"),
                     detail::or_default(o.weight_decay, "lion", "wd"), true),
        beta1_(detail::fraction("lion", "beta1", detail::or_default(o.beta1, "lion", "beta1"))),
        beta2_(detail::fraction("lion", "beta2", detail::or_default(o.beta2, "lion", "beta2"))),
        m_(this->add_slot("m")) {}
  std::string describe() const override {
    return fmt::format("lion(lr={:g}, beta1={:g}, beta2={:g}{})", this->lr_, beta1_, beta2_,
                       this->weight_decay_text());
  }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    const T lr = static_cast<T>(this->lr_of(i)), wd = static_cast<T>(this->weight_decay_of(i)), b1 = static_cast<T>(beta1_),
            b2 = static_cast<T>(beta2_);
    Tensor<T>& m = m_[i];
    for (std::size_t j = 0; j < p.size(); ++j) {
      const T c = b1 * m[j] + (T(1) - b1) * g[j];
      const T sign = c > T(0) ? T(1) : c < T(0) ? T(-1) : T(0);
      p[j] -= lr * (sign + wd * p[j]);
      m[j] = b2 * m[j] + (T(1) - b2) * g[j];
    }
  }
  double beta1_, beta2_;
  std::vector<Tensor<T>>& m_;
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_lion(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Lion<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_lion)

}  // namespace tapegrad
