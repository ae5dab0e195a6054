#pragma once
// Optimizers behind one small interface: step() over the parameters, zero_grad(), and their state
// (named tensors and scalars) to save and restore.
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "tapegrad/autograd/tape.hpp"

namespace tapegrad {

/// An optimizer's state: per-parameter slots ("v/0.W") and scalars ("t").
template <class T>
struct OptimizerState {
  std::string optimizer;
  std::vector<std::pair<std::string, Tensor<T>>> tensors;
  std::vector<std::pair<std::string, double>> scalars;
};

/// Options every optimizer takes. Unset values mean "the book's default for this optimizer".
struct OptimizerOptions {
  std::optional<double> lr;        // book: 0.01 (Adam 0.001)
  std::optional<double> momentum;  // Momentum, Nesterov (book 0.9)
  std::optional<double> decay;     // RMSProp's rho (book 0.99)
  std::optional<double> beta1, beta2;  // Adam (book 0.9, 0.999)
  std::optional<double> eps;       // book 1e-7 (PyTorch's AdaGrad: 1e-10)
  double initial_accumulator = 0;  // AdaGrad's h0 (book 0, Keras 0.1)
  std::optional<double> weight_decay;  // L2: g += weight_decay * p before the update (adamw, lion: decoupled,
                                       // p -= lr weight_decay p); unset: the table's default (0; adamw 0.01)
  std::optional<double> momentum_decay;  // NAdam's psi (PyTorch 0.004)
  std::optional<double> iterations;      // L-BFGS: iterations per step (PyTorch's max_iter, 20)
  std::optional<double> history;         // L-BFGS: (s, y) pairs kept (PyTorch's history_size, 100)
  std::optional<double> line_search;     // L-BFGS: 1 strong Wolfe (default), 0 a fixed step of lr
  bool pytorch_form = false;   // Momentum only: PyTorch's b = m b + g, p -= lr b
};

/// Settings of some of the parameters (PyTorch's parameter groups): their rate as a multiple of the optimizer's
/// (so a schedule moves every group alike) and a weight decay of their own (unset: the optimizer's).
struct GroupOptions {
  double lr_scale = 1;
  std::optional<double> weight_decay;
};

/// An optimizer by name with its options, as written on a command line: "sgd:lr=0.1",
/// "momentum:lr=0.01,momentum=0.9", "adagrad:lr=0.01,eps=1e-10,h0=0.1", "adam:lr=0.001,beta1=0.9,beta2=0.999".
/// Keys: lr momentum decay beta1 beta2 eps h0 wd psi pytorch(=0/1); each optimizer takes those its row of
/// optimizer_kinds() lists, each at most once.
struct OptimizerSpec {
  std::string name;
  OptimizerOptions options;
  static OptimizerSpec parse(const std::string& text);  // ValueError naming the bad part
  std::string str() const;                              // back to the same form, only the keys that were set
  /// A key's value: as given, or the table's default for this optimizer (ValueError for a key it does not take).
  double value(const std::string& key) const;
};

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter from its current gradient.
  void step();
  /// One update that may evaluate the loss again: `closure` clears the gradients, computes the loss and (by
  /// backward) its gradients, and returns the loss. L-BFGS needs it (its line search evaluates several points);
  /// for the others it is closure() then step(). Returns the loss of the first evaluation.
  virtual double step(const std::function<double()>& closure);
  /// Whether step() alone cannot update (L-BFGS): a training loop then calls step(closure).
  virtual bool needs_closure() const { return false; }
  void zero_grad();
  /// zero_grad() for a backward that comes next, without writing zeros (Parameter::discard_grad); settle_grads()
  /// after that backward zero-fills the gradients it did not reach.
  void discard_grads();
  /// discard_grads(), and the backward may leave rank-one gradients factored (Parameter::defer_grad); step()
  /// settles them, SGD while it applies them.
  void defer_grads();
  void settle_grads();
  const std::string& name() const { return name_; }
  /// "momentum(lr=0.01, momentum=0.9)"
  virtual std::string describe() const = 0;
  double learning_rate() const { return lr_; }
  void set_learning_rate(double lr);

  /// Gives `members` (parameters it updates) their own rate and weight decay; a later call overrides an earlier one
  /// for the parameters both name. ValueError for a parameter it does not update, a scale that is not positive and
  /// finite, or a negative decay.
  void set_group(const std::vector<Parameter<T>*>& members, const GroupOptions& options);
  /// The rate and the weight decay parameter i is updated with.
  double lr_of(std::size_t i) const { return lr_ * lr_scale_.at(i); }
  double weight_decay_of(std::size_t i) const { return weight_decay_per_parameter_.at(i); }
  /// "; 2 of 4 parameters: wd=0" per group that differs from the optimizer's settings, else "".
  std::string groups_text() const;

  /// The parameters it updates, in the order it was given them.
  const std::vector<Parameter<T>*>& parameters() const { return params_; }
  /// Its state: per-parameter tensors named "<slot>/<k>" for the k-th parameter (a checkpoint names them after
  /// the model's parameters instead), and scalars.
  OptimizerState<T> state() const;
  /// Restores a state saved from the same optimizer over as many parameters of the same shapes.
  void load_state(const OptimizerState<T>& state);

 protected:
  /// A decoupled decay (AdamW, Lion) is applied by the rule itself (p -= lr wd p); otherwise step() adds wd p to g.
  Optimizer(std::string name, std::vector<Parameter<T>*> params, double lr, double weight_decay,
            bool decoupled_decay = false);
  double lr_scale(std::size_t i) const { return lr_scale_[i]; }
  /// One slot of per-parameter state (e.g. velocity), zero-initialised (the book's lazy zeros).
  std::vector<Tensor<T>>& add_slot(const std::string& slot, T initial = T(0));
  double& add_scalar(const std::string& name);
  /// ", wd=0.1" when weight decay is on (or off where the table's default is on), then groups_text(): describe()
  /// shows every setting that is not the default.
  std::string weight_decay_text() const;
  /// The update rule for parameter i with gradient g (weight decay already applied).
  virtual void update(std::size_t i, Tensor<T>& p, const Tensor<T>& g) = 0;
  /// The update rule for parameter i whose gradient is factored (Parameter::grad_factored), weight decay off: a
  /// rule that can apply it while writing it (SGD) does so and returns true; by default the gradient is written
  /// first and update() applies it.
  virtual bool update_factored(std::size_t, Parameter<T>&) { return false; }
  virtual void begin_step() {}

  std::string name_;
  std::vector<Parameter<T>*> params_;
  double lr_, weight_decay_;
  bool decoupled_decay_;
  bool groups_allowed_ = true;  // false: one rule over all parameters together (L-BFGS)

 private:
  // deques: the references add_slot and add_scalar hand out stay valid as more are added
  std::deque<std::pair<std::string, std::vector<Tensor<T>>>> slots_;
  std::deque<std::pair<std::string, double>> scalars_;
  std::vector<Tensor<T>> decayed_;  // scratch for g + weight_decay * p
  std::vector<double> lr_scale_, weight_decay_per_parameter_;
};

/// p -= lr g
template <class T>
std::unique_ptr<Optimizer<T>> make_sgd(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// book: v = m v - lr g; p += v.   PyTorch: b = m b + g; p -= lr b.
template <class T>
std::unique_ptr<Optimizer<T>> make_momentum(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// book: p += m m v - (1 + m) lr g; v = m v - lr g   (Keras's nesterov=True)
template <class T>
std::unique_ptr<Optimizer<T>> make_nesterov(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// h += g g; p -= lr g / (sqrt(h) + eps)
template <class T>
std::unique_ptr<Optimizer<T>> make_adagrad(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// h = r h + (1 - r) g g; p -= lr g / (sqrt(h) + eps)
template <class T>
std::unique_ptr<Optimizer<T>> make_rmsprop(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// book (Keras's eps-hat form): t += 1; lr_t = lr sqrt(1 - b2^t) / (1 - b1^t); m += (1 - b1)(g - m);
/// v += (1 - b2)(g g - v); p -= lr_t m / (sqrt(v) + eps)
template <class T>
std::unique_ptr<Optimizer<T>> make_adam(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});

/// PyTorch's AdamW (decoupled weight decay, default 0.01): p -= lr wd p; m = b1 m + (1 - b1) g;
/// v = b2 v + (1 - b2) g g; p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
template <class T>
std::unique_ptr<Optimizer<T>> make_adamw(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// PyTorch's Adam(amsgrad=True): as adamw without decoupled decay (wd is L2), dividing by the largest v so far
template <class T>
std::unique_ptr<Optimizer<T>> make_amsgrad(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// PyTorch's NAdam: Adam with Nesterov momentum and the momentum schedule mu_t = b1 (1 - 0.5 * 0.96^(t psi))
template <class T>
std::unique_ptr<Optimizer<T>> make_nadam(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});
/// Lion (Chen et al. 2023): c = b1 m + (1 - b1) g; p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g
template <class T>
std::unique_ptr<Optimizer<T>> make_lion(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});

/// PyTorch's L-BFGS (Nocedal & Wright, algorithm 7.4; strong Wolfe line search, algorithms 3.5-3.6): up to `iters`
/// iterations per step(closure), each along -H g from the last `history` pairs (s, y), with a step of lr (the first
/// iteration: min(1, 1 / |g|_1) lr) refined by the line search. For full-batch problems; step() alone is refused.
template <class T>
std::unique_ptr<Optimizer<T>> make_lbfgs(std::vector<Parameter<T>*> params, const OptimizerOptions& o = {});

/// One row of the optimizer table (src/optim/table.cpp): everything the library and the program know of an
/// optimizer by name. Specs, make_optimizer and the program's help all read this one table.
struct OptimizerKind {
  /// One key the optimizer takes and the book's default for it in this optimizer.
  struct Key {
    std::string key;  // "momentum"
    double value;     // 0.9
  };
  std::string name;
  std::string rule;         // the update, as the book writes it
  std::vector<Key> keys;    // the spec keys it takes, with their defaults: {{"lr", 0.01}, {"momentum", 0.9}, ...}
  std::unique_ptr<Optimizer<float>> (*make_float)(std::vector<Parameter<float>*>, const OptimizerOptions&);
  std::unique_ptr<Optimizer<double>> (*make_double)(std::vector<Parameter<double>*>, const OptimizerOptions&);

  bool uses(const std::string& key) const;
  /// The default of a key it takes; ValueError naming the optimizer and its keys otherwise.
  double default_of(const std::string& key) const;
  std::string keys_text() const;      // "lr momentum wd pytorch"
  std::string defaults_text() const;  // "lr=0.01 momentum=0.9 wd=0 pytorch=0"
  template <class T>
  std::unique_ptr<Optimizer<T>> make(std::vector<Parameter<T>*> params, const OptimizerOptions& o) const {
    if constexpr (std::is_same_v<T, float>) return make_float(std::move(params), o);
    else return make_double(std::move(params), o);
  }
};

/// The book's regularisation (multi_layer_net_extend.py): weight decay on the weights only. Parameters of rank 1
/// (biases, BatchNorm's scale and shift) are put in a group without decay.
template <class T>
void decay_weights_only(Optimizer<T>& optimizer);

/// The table: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, amsgrad, nadam, lion, lbfgs.
const std::vector<OptimizerKind>& optimizer_kinds();
/// The row of that name; ValueError listing the names otherwise.
const OptimizerKind& optimizer_kind(const std::string& name);
/// Every spec key (lr momentum decay beta1 beta2 eps h0 wd psi pytorch) with what it sets.
const std::vector<std::pair<std::string, std::string>>& optimizer_keys();
/// The table as a Markdown page (docs/reference/optimizers.md, `tapegrad optimizers`): each optimizer's update,
/// its keys and their defaults, then what each key sets.
std::string optimizers_markdown();

/// By name (a row of the table). ValueError for an unknown name, and for an option set in `o` that this optimizer
/// does not use (e.g. momentum for sgd), naming the keys it accepts.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const std::string& name, std::vector<Parameter<T>*> params,
                                             const OptimizerOptions& o = {});

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerSpec& spec, std::vector<Parameter<T>*> params) {
  return make_optimizer<T>(spec.name, std::move(params), spec.options);
}

extern template class Optimizer<float>;
extern template class Optimizer<double>;

}  // namespace tapegrad
