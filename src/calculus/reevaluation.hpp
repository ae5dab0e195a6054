#pragma once
// Re-evaluation of only what a change touches (internal; gradcheck's full mode). After one element of a
// parameter changed in place, the nodes between the parameter's uses and a root are recomputed through the ops'
// reevaluate rules, element by element; undo() puts every recomputed value back. A perturbation then costs what
// it changes (a column of a product, a few activations) instead of the whole function.
#include <cstdint>
#include <vector>

#include "tapegrad/autograd/op.hpp"

namespace tapegrad::detail {

template <class T>
class Reevaluation {
 public:
  using Journal = typename ChangeContext<T>::Journal;

  /// Recomputes nodes of `tape` up to `root`, which must stay recorded and unchanged while this is used.
  Reevaluation(Tape<T>& tape, std::uint32_t root);

  /// Element `element` of `p` changed from `before` (p's value holds the new one). False when an op on the way
  /// has no rule for it (everything is put back then): evaluate the function again instead.
  bool propagate(const Parameter<T>& p, std::size_t element, T before);
  /// What changed in the root after propagate(): indices, the values before (the root's value holds the new).
  const Journal& root_changes() const { return journals_[root_]; }
  /// Puts back every value propagate() recomputed (the parameter itself is the caller's).
  void undo();

 private:
  Tape<T>& tape_;
  std::uint32_t root_;
  std::vector<Journal> journals_;           // per node up to the root
  std::vector<std::uint32_t> touched_;      // nodes whose journal is not empty
  std::vector<typename ChangeContext<T>::Input> inputs_;  // reused for each node
  std::vector<std::size_t> no_change_;      // what an unchanged input reports
};

extern template class Reevaluation<float>;
extern template class Reevaluation<double>;

}  // namespace tapegrad::detail
