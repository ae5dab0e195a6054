#pragma once
// Modules: layers and networks with named parameters, recorded onto a tape by forward().
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/core/tape.hpp"

namespace tapegrad {

/// A tensor a module keeps and saves but does not train (BatchNorm's running statistics).
template <class T>
struct Buffer {
  std::string name;
  Tensor<T>* tensor;
};

template <class T>
class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;  // optimizers and tapes hold pointers to the parameters
  Module& operator=(const Module&) = delete;

  virtual Var<T> forward(Tape<T>& tape, const Var<T>& x) = 0;
  Var<T> operator()(Tape<T>& tape, const Var<T>& x) { return forward(tape, x); }

  /// Trainable parameters, named ("W", "b"; "0.W" inside a Sequential).
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  /// Saved, untrained state.
  virtual std::vector<Buffer<T>> buffers() { return {}; }
  /// Train mode (Dropout drops, BatchNorm uses batch statistics) or evaluation mode.
  virtual void set_training(bool training) { training_ = training; }
  bool training() const { return training_; }
  /// Reuse the last random draws (Dropout's mask), so that repeated forwards compute one function.
  virtual void freeze_randomness(bool) {}
  /// One line, e.g. "Linear(784 -> 50)".
  virtual std::string describe() const = 0;

  void zero_grad() {
    for (Parameter<T>* p : parameters()) p->zero_grad();
  }
  std::size_t parameter_count() {
    std::size_t n = 0;
    for (Parameter<T>* p : parameters()) n += p->value.size();
    return n;
  }

 protected:
  bool training_ = true;
};

/// Modules applied in order. Parameter names get the layer's index as a prefix.
template <class T>
class Sequential : public Module<T> {
 public:
  Sequential() = default;

  template <class Layer, class... Args>
  Layer& add(Args&&... args) {
    auto layer = std::make_unique<Layer>(std::forward<Args>(args)...);
    Layer& ref = *layer;
    adopt(std::move(layer));
    return ref;
  }
  void adopt(std::unique_ptr<Module<T>> layer);

  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::vector<Parameter<T>*> parameters() override;
  std::vector<Buffer<T>> buffers() override;
  void set_training(bool training) override;
  void freeze_randomness(bool frozen) override;
  std::string describe() const override;  // one layer per line

  std::size_t size() const { return layers_.size(); }
  Module<T>& operator[](std::size_t i) { return *layers_.at(i); }

 private:
  std::vector<std::unique_ptr<Module<T>>> layers_;
};

extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace tapegrad
