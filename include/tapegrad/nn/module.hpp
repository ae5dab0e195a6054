#pragma once
// Modules: layers and networks as a tree. Each module registers its parameters, buffers and child modules
// under local names; qualified names ("block.l1.W") come from the tree, and every walk (parameters, buffers,
// train/eval mode, zero_grad, the description saved in checkpoints, the summary) goes through it, so a
// container of your own overrides nothing but forward().
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// A tensor a module keeps and saves but does not train (BatchNorm's running statistics).
template <class T>
struct Buffer {
  std::string name;  // qualified
  Tensor<T>* tensor;
};

/// One module of a tree as summary() and the layer diagram show it.
struct ModuleInfo {
  std::string name;         // qualified; "" for the model itself
  std::string description;  // describe()
  std::size_t depth = 0;    // 0 for the model, 1 for its children, ...
  bool has_output = false;  // called during the probe forward
  Shape output;             // its output shape then
  std::size_t call = 0;     // the order of its first call (valid when has_output)
  std::size_t parameters = 0;  // its own, not its children's
  bool leaf = true;         // no children
};

template <class T>
class Module {
 public:
  Module();
  virtual ~Module();
  Module(const Module&) = delete;  // the tree, optimizers and tapes hold pointers into modules
  Module& operator=(const Module&) = delete;

  virtual Var<T> forward(Tape<T>& tape, const Var<T>& x) = 0;
  /// Calls forward(). Containers call their children this way (summary() watches these calls).
  Var<T> operator()(Tape<T>& tape, const Var<T>& x);
  /// This module alone, with its settings, on one line: "Linear(784 -> 50)", "Tanh", "Dropout(0.5, book)".
  /// A container describes its own settings only ("Sequential"); its children are listed by description().
  /// By default, the class's name ("Block" for a struct Block): override it to show settings.
  virtual std::string describe() const;
  /// True for a module that has no parameters by design: built-in activations, pooling, Dropout and shaping layers
  /// override it; a container is when it has children and all of them are. gradcheck_module refuses a tree with
  /// no parameters unless this holds, since such a tree is most often one whose layers were never registered.
  virtual bool parameter_free() const;

  // ---- hooks (PyTorch's register_forward_hook and register_full_backward_hook): each runs at every call of
  // this module through operator(), on the thread of that call, and is removed through its handle. A module
  // with none registered pays one pointer test per call.
  /// hook(module, input, output) after each forward.
  using ForwardHook = std::function<void(Module<T>& module, const Var<T>& input, const Var<T>& output)>;
  /// hook(module, grad_input, grad_output) when backward has passed through this call: d(root)/d(output), and
  /// d(root)/d(input) through this module alone (the input's other uses not added), or null when the input needs
  /// no gradient (a first layer on data). Runs in backward and grad() without create_graph.
  using BackwardHook =
      std::function<void(Module<T>& module, const Tensor<T>* grad_input, const Tensor<T>& grad_output)>;
  HookHandle register_forward_hook(ForwardHook hook);
  /// While one is registered, a call with gradients on puts an identity node at the module's input (where
  /// grad_input is read): the tape records one node more per call.
  HookHandle register_backward_hook(BackwardHook hook);

  // ---- the tree
  /// Trainable parameters with qualified names ("block.l1.W"), in registration order, depth first. The names
  /// belong to the tree: a Parameter's own name is left as it was made ("W"); checkpoints, gradcheck_module's
  /// table and the Trainer's messages use these.
  std::vector<std::pair<std::string, Parameter<T>*>> named_parameters();
  std::vector<Parameter<T>*> parameters();
  /// Saved, untrained state, with qualified names.
  std::vector<Buffer<T>> buffers();
  /// Every module of the tree with its qualified name ("" for this one), depth first.
  std::vector<std::pair<std::string, Module<T>*>> named_modules();
  /// Every module's kind and settings, one line each ("l1: Linear(784 -> 50)"): what a checkpoint records and
  /// compares on loading.
  std::string description();
  /// Keras's summary(): each module, its output shape for an input of `input` and its parameter count.
  std::string summary(const Shape& input);
  /// The same as data: runs forward once on zeros of shape `input` (evaluation mode, no gradients, the model
  /// left as it was) and watches every module call.
  std::vector<ModuleInfo> inspect(const Shape& input);

  /// Train mode (Dropout drops, BatchNorm uses batch statistics) or evaluation mode, for the whole tree.
  void set_training(bool training);
  bool training() const { return training_; }
  /// Reuse the last random draws (Dropout's mask) in the whole tree, so repeated forwards compute one function.
  void freeze_randomness(bool frozen);
  /// Keys the tree's random draws (Dropout's masks) to `step` from now on, instead of each layer's running stream:
  /// a Trainer calls it before each step with the iteration, so a run resumed from a checkpoint draws what the
  /// straight run would. Allocates nothing.
  void set_random_step(std::uint64_t step);
  void zero_grad();
  std::size_t parameter_count();

 protected:
  /// Registration; `name` is local (no '.', not empty, unique among this module's parameters, buffers and
  /// children: ValueError otherwise). The registered objects must outlive this module (members do).
  Parameter<T>& register_parameter(const std::string& name, Parameter<T>& p);
  Tensor<T>& register_buffer(const std::string& name, Tensor<T>& t);
  template <class M>
  M& register_module(const std::string& name, M& child) {
    add_child(name, child);
    return child;
  }
  /// The same for a child this module owns.
  template <class M>
  M& register_module(const std::string& name, std::unique_ptr<M> child) {
    M& ref = *child;
    add_child(name, ref);
    owned_.push_back(std::move(child));
    return ref;
  }
  /// Called by freeze_randomness() on each module of the tree.
  virtual void on_freeze_randomness(bool) {}
  /// Called by set_random_step() on each module of the tree.
  virtual void on_random_step(std::uint64_t) {}

  bool training_ = true;

 private:
  void add_child(const std::string& name, Module<T>& child);
  void check_new_name(const std::string& name) const;
  template <class F>
  void walk(const std::string& prefix, F&& visit);

  std::vector<std::pair<std::string, Parameter<T>*>> parameters_;
  std::vector<std::pair<std::string, Tensor<T>*>> buffers_;
  std::vector<std::pair<std::string, Module<T>*>> children_;
  std::vector<std::unique_ptr<Module<T>>> owned_;
  struct Hooks;
  std::unique_ptr<Hooks> hooks_;  // null until a hook is registered
  Var<T> hooked_call(Tape<T>& tape, const Var<T>& x);
};

/// Modules applied in order, registered as children "0", "1", ...
template <class T>
class Sequential : public Module<T> {
 public:
  Sequential() = default;

  template <class Layer, class... Args>
  Layer& add(Args&&... args) {
    return adopt(std::make_unique<Layer>(std::forward<Args>(args)...));
  }
  template <class Layer>
  Layer& adopt(std::unique_ptr<Layer> layer) {
    Layer& ref = this->register_module(std::to_string(layers_.size()), std::move(layer));
    ref.set_training(this->training());
    layers_.push_back(&ref);
    return ref;
  }

  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override { return "Sequential"; }

  std::size_t size() const { return layers_.size(); }
  Module<T>& operator[](std::size_t i) { return *layers_.at(i); }

 private:
  std::vector<Module<T>*> layers_;
};

extern template class Module<float>;
extern template class Module<double>;
extern template class Sequential<float>;
extern template class Sequential<double>;

}  // namespace tapegrad
