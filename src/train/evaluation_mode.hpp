#pragma once
// Evaluation mode for a scope (internal): dropout off, BatchNorm on its running statistics, and the model's own
// mode back afterwards, however the scope ends.
#include "tapegrad/nn/module.hpp"

namespace tapegrad::detail {

template <class T>
class EvaluationMode {
 public:
  explicit EvaluationMode(Module<T>& model) : model_(model), training_(model.training()) { model.set_training(false); }
  ~EvaluationMode() { model_.set_training(training_); }
  EvaluationMode(const EvaluationMode&) = delete;
  EvaluationMode& operator=(const EvaluationMode&) = delete;

 private:
  Module<T>& model_;
  bool training_;
};

}  // namespace tapegrad::detail
