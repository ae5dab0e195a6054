// SGD (book common/optimizer.py): p -= lr g
#include "optim/validation.hpp"

namespace tapegrad {
namespace {
// p -= lr g, built for AVX-512 and AVX2 as well as the baseline (picked when the library loads): at batch 1 this
// pass over every parameter is a third of a step, and bound by the width of a load. One clone set per precision
// (clang multiversions plain functions only).
template <class T>
inline __attribute__((always_inline)) void subtract_scaled_loop(T* p, const T* g, T lr, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) p[j] -= lr * g[j];
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void subtract_scaled(float* p, const float* g, float lr,
                                                                                 std::size_t n) {
  subtract_scaled_loop(p, g, lr, n);
}
__attribute__((target_clones("avx512f", "avx2", "default"))) void subtract_scaled(double* p, const double* g,
                                                                                 double lr, std::size_t n) {
  subtract_scaled_loop(p, g, lr, n);
}

template <class T>
class Sgd : public Optimizer<T> {
 public:
  Sgd(std::vector<Parameter<T>*> params, const OptimizerOptions& o)
      : Optimizer<T>("sgd", std::move(params), detail::or_default(o.lr, "sgd", "lr"), o.weight_decay.value_or(0)) {}
  std::string describe() const override { return fmt::format("sgd(lr={:g}{})", this->lr_, this->weight_decay_text()); }

 private:
  void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) override {
    subtract_scaled(p.data(), g.data(), static_cast<T>(this->lr_of(i)), p.size());
  }
  // a batch of one's weight gradient, written and applied in one pass (the same values as the two passes above)
  bool update_factored(std::size_t i, Parameter<T>& p) override {
    return p.descend_factored(static_cast<T>(this->lr_of(i)));
  }
};
}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_sgd(std::vector<Parameter<T>*> params, const OptimizerOptions& o) {
  return std::make_unique<Sgd<T>>(std::move(params), o);
}
TAPEGRAD_INSTANTIATE_OPTIMIZER(make_sgd)

}  // namespace tapegrad
