#include "calculus/reevaluation.hpp"

#include "autograd/node.hpp"

namespace tapegrad::detail {

template <class T>
Reevaluation<T>::Reevaluation(Tape<T>& tape, std::uint32_t root) : tape_(tape), root_(root), journals_(root + 1) {}

template <class T>
bool Reevaluation<T>::propagate(const Parameter<T>& p, std::size_t element, T before) {
  std::uint32_t first = root_ + 1;
  for (std::uint32_t i = 0; i <= root_; ++i) {
    const Node<T>& node = tape_.node(i);
    if (node.parameter != &p) continue;
    Journal& j = journals_[i];
    j.changed.push_back(element);
    j.before.push_back(before);
    touched_.push_back(i);
    if (first > root_) first = i;
  }
  for (std::uint32_t i = first + 1; i <= root_; ++i) {
    const Node<T>& node = tape_.node(i);
    if (node.inputs.empty()) continue;  // a leaf: data or constants, unchanged
    bool reads_change = false;
    for (std::uint32_t input : node.inputs) reads_change |= !journals_[input].changed.empty();
    if (!reads_change) continue;
    const Op<T>* op = node.differentiable ? node.op.get() : nullptr;
    if (op == nullptr) return false;  // recorded without an op (grad mode off in f): its rule is unknown
    inputs_.clear();
    for (std::uint32_t input : node.inputs) {
      const std::vector<std::size_t>& changed = journals_[input].changed;
      inputs_.push_back({&tape_.value(input), changed.empty() ? &no_change_ : &changed});
    }
    Journal& journal = journals_[i];
    ChangeContext<T> context(node.name, inputs_.data(), inputs_.size(), tape_.output(i), journal);
    bool done = false;
    try {
      done = op->reevaluate(context);
    } catch (...) {
      touched_.push_back(i);
      undo();
      throw;
    }
    if (!journal.changed.empty()) touched_.push_back(i);
    if (!done) {
      undo();
      return false;
    }
  }
  return true;
}

template <class T>
void Reevaluation<T>::undo() {
  for (std::uint32_t i : touched_) {
    Journal& j = journals_[i];
    if (tape_.node(i).parameter == nullptr) {  // a recomputed value: put the recorded one back
      Tensor<T>& value = tape_.output(i);
      for (std::size_t k = j.changed.size(); k-- > 0;) value[j.changed[k]] = j.before[k];
    }
    for (std::size_t index : j.changed)
      if (index < j.written.size()) j.written[index] = 0;
    j.changed.clear();
    j.before.clear();
  }
  touched_.clear();
}

template class Reevaluation<float>;
template class Reevaluation<double>;

}  // namespace tapegrad::detail
