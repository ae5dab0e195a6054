// A parameter's gradient states: written, discarded (stale, to be written over), or factored (a rank-one
// gradient kept as its two factors until it is read).
#include "autograd/outer_product.hpp"
#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

template <class T>
void Parameter<T>::write_grad() const {
  grad_.resize(value.shape());
  if (state_ == GradState::Factored)
    detail::outer_product(column_.size(), row_.size(), column_.data(), row_.data(), T(0), grad_.data());
  else
    grad_.fill(T(0));
  state_ = GradState::Written;
}

template <class T>
bool Parameter<T>::descend_factored(T lr) {
  if (state_ != GradState::Factored) return false;
  detail::descend_outer_product(column_.size(), row_.size(), column_.data(), row_.data(), lr, value.data());
  return true;
}

template struct Parameter<float>;
template struct Parameter<double>;

}  // namespace tapegrad
