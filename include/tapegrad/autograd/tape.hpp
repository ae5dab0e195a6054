#pragma once
// The tape (a Wengert list): every op on variables that need gradients appends one node holding its
// value, its inputs' indices and its backward rule. Nodes are in the order they ran, so backward() is a
// single reverse loop over them (no recursion, no graph search).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <thread>
#include <type_traits>
#include <vector>

#include "tapegrad/autograd/grad_slot.hpp"
#include "tapegrad/autograd/hooks.hpp"
#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

template <class T>
class Tape;
template <class T>
class Op;
namespace detail {
template <class T>
struct Node;
/// How many Vars point at each node of one tape (internal). Under NoGradGuard a node that no Var and no recorded
/// op reads any more is reclaimed: its slot and value buffer serve the next node, so a long no-grad chain keeps a
/// few buffers. Kept apart from the tape so that a Var outliving its tape can still let go: the tape and its
/// Vars share it, and the last of them to go deletes it.
template <class T>
struct Handles {
  // Added to the count of a node that is never reclaimed (recorded with gradients, or read by a recorded op), so
  // that its count never drops to 0 and letting go of its Vars costs no call into the tape.
  static constexpr std::uint32_t kKept = 1u << 31;
  Tape<T>* tape = nullptr;       // null once the tape is destroyed
  std::uint64_t generation = 1;  // the tape's: Vars of an older generation count nowhere
  std::vector<std::uint32_t> per_node;  // Vars of the current generation per node, plus kKept
  std::size_t vars = 0;  // live Vars of any generation
};
}  // namespace detail

/// How a gradient is computed. create_graph (PyTorch's name) records the gradient computation on the tape, so
/// a gradient is a variable that can be used further and differentiated again, to any order.
struct GradOptions {
  bool create_graph = false;
};
/// GradOptions{true}: `y.backward(tapegrad::kCreateGraph)`.
inline constexpr GradOptions kCreateGraph{true};

/// A trainable leaf that outlives every tape: a name, a value, and the gradient backward() accumulates into it.
template <class T>
struct Parameter {
  Parameter() = default;
  Parameter(std::string name, Tensor<T> initial) : name(std::move(name)), value(std::move(initial)) {
    zero_grad();
  }

  std::string name;
  Tensor<T> value;

  /// The gradient backward() accumulated (zeros where none flowed since zero_grad()).
  const Tensor<T>& grad() const { return grad_.read(value.shape()); }
  Tensor<T>& grad() { return grad_.read(value.shape()); }
  void zero_grad() { grad_.zero(value.shape()); }

  // ---- the fast path of a training step (Trainer::step, Optimizer): see GradSlot
  /// zero_grad() without its pass over memory: the next backward writes the gradient instead of adding to it.
  void discard_grad() { grad_.discard(); }
  /// discard_grad(), and the next backward may keep a rank-one gradient (a matrix product's weight at a batch of
  /// one) as its two factors; grad() writes it out when read.
  void defer_grad() { grad_.defer(); }
  /// Writes what grad() would (zeros, or the outer product) now.
  void settle_grad() { (void)grad(); }
  /// For a factored gradient: value -= lr grad in one pass over the value, true; otherwise false.
  bool descend_factored(T lr) { return grad_.descend(lr, value); }
  bool grad_discarded() const { return grad_.stale(); }
  bool grad_factored() const { return grad_.factored(); }

 private:
  friend class Tape<T>;
  GradSlot<T> grad_;
};

/// A handle to one value recorded on a tape. Cheap to copy; valid until that tape is cleared.
template <class T>
class Var {
 public:
  Var() = default;
  Var(const Var& other) noexcept : handles_(other.handles_), index_(other.index_), generation_(other.generation_) {
    hold();
  }
  Var(Var&& other) noexcept : handles_(other.handles_), index_(other.index_), generation_(other.generation_) {
    other.handles_ = nullptr;
  }
  Var& operator=(const Var& other) noexcept {
    Var copy(other);
    swap(copy);
    return *this;
  }
  Var& operator=(Var&& other) noexcept {
    Var moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~Var() { let_go(); }

  const Tensor<T>& value() const;
  /// d(root)/d(this) after backward(); zeros if nothing flowed here.
  const Tensor<T>& grad() const;
  const Shape& shape() const { return value().shape(); }
  T item() const { return value().item(); }
  bool requires_grad() const;
  /// Name of the op that produced this value ("leaf" for inputs).
  const char* op() const;

  void backward() const;
  void backward(const Tensor<T>& upstream) const;
  /// With options.create_graph, the gradient of every leaf is recorded as well (grad_var()); grad() holds its
  /// value (and parameters' grad too), added to what was there, as in PyTorch.
  void backward(GradOptions options) const;
  /// The recorded gradient of this leaf after backward(kCreateGraph): a variable on the same tape. TapeError,
  /// saying what to do, when none was recorded.
  Var grad_var() const;

  /// Calls `hook` with d(root)/d(this) once backward (or grad()) has it whole, before it flows on to what this
  /// value was computed from. `hook(const Tensor<T>& g)` sees it; a hook that returns a Tensor<T> replaces it (same
  /// shape, ShapeError otherwise), and the values below receive the replacement. On a parameter's handle a hook
  /// sees that use's gradient before it is added into Parameter::grad. Hooks run in the order registered, only
  /// when a gradient reaches this value, and belong to this recording: tape.clear() drops them. TapeError for a
  /// value that needs no gradient or a stale handle, and, when it runs, for a replacing hook in a recorded
  /// sweep (create_graph), whose replacement could not be differentiated.
  template <class F>
  HookHandle register_hook(F&& hook) const;

  Tape<T>& tape() const;
  std::uint32_t index() const { return index_; }
  bool valid() const;

 private:
  friend class Tape<T>;
  Var(detail::Handles<T>* handles, std::uint32_t index, std::uint64_t generation)
      : handles_(handles), index_(index), generation_(generation) {
    hold();
  }
  void swap(Var& other) noexcept {
    std::swap(handles_, other.handles_);
    std::swap(index_, other.index_);
    std::swap(generation_, other.generation_);
  }
  bool counted() const { return handles_->tape != nullptr && generation_ == handles_->generation; }
  void hold() noexcept {
    if (handles_ == nullptr) return;
    ++handles_->vars;
    if (counted()) ++handles_->per_node[index_];
  }
  void let_go() noexcept {
    if (handles_ == nullptr) return;
    if (counted() && --handles_->per_node[index_] == 0) handles_->tape->unreferenced(index_);
    if (--handles_->vars == 0 && handles_->tape == nullptr) delete handles_;
    handles_ = nullptr;
  }

  detail::Handles<T>* handles_ = nullptr;
  std::uint32_t index_ = 0;
  std::uint64_t generation_ = 0;  // detects use after tape.clear()
};

/// One recorded node as a reader sees it (graph drawings, reports): what it is, what it read, what it holds.
template <class T>
struct NodeView {
  const char* op;                   // the op's name; "leaf", "constant" or "parameter" for the leaves
  const std::uint32_t* inputs;      // the nodes it read, by index
  std::size_t input_count;
  const Tensor<T>* value;
  bool requires_grad;
  const Parameter<T>* parameter;    // the parameter a "parameter" node reads; null otherwise
  const Tensor<T>* grad;            // its gradient from the last backward, or null when none reached it (a
                                    // parameter's is parameter->grad())
};

template <class T>
class Tape {
 public:
  Tape();
  ~Tape();
  Tape(const Tape&) = delete;  // variables point at their tape
  Tape& operator=(const Tape&) = delete;

  /// A value that needs no gradient (data, targets). Copied into the node's reused buffer.
  Var<T> constant(const Tensor<T>& value);
  /// The same without the copy: `value` must stay alive and unchanged while the tape is used.
  Var<T> constant_ref(const Tensor<T>& value);
  /// A one-element constant (what `x * 2.0` records for the 2).
  Var<T> scalar(T value);
  /// A leaf owned by this tape; read its gradient with var.grad() after backward().
  Var<T> variable(const Tensor<T>& value, bool requires_grad = true);
  /// A leaf that refers to `p` without copying it; backward() adds into p.grad().
  /// `p` must stay where it is while the tape records.
  Var<T> parameter(Parameter<T>& p);

  /// Backpropagate from a one-element root (seed 1).
  void backward(const Var<T>& root);
  /// Backpropagate from any root, seeded with `upstream` of the root's shape.
  void backward(const Var<T>& root, const Tensor<T>& upstream);
  /// Backpropagate from a one-element root; with options.create_graph the gradients are recorded (Var::grad_var).
  void backward(const Var<T>& root, GradOptions options);

  /// Every handle through which this tape read parameter `p` (one per tape.parameter(p) call), oldest first.
  std::vector<Var<T>> uses_of(const Parameter<T>& p) const;

  /// Forget every node but keep their memory for the next step; old Vars become invalid.
  void clear();
  /// Forget the nodes recorded after the first `size`, keeping their memory for what is recorded next; every Var
  /// of the tape becomes invalid (re-make the ones still needed with handle(index)). For a loop that records the
  /// same few nodes on top of a fixed recording (HessianOperator). ValueError when `size` exceeds size().
  void rewind(std::size_t size);
  /// Zero every gradient held on the tape and in the parameters it refers to.
  void zero_grad();

  std::size_t size() const { return size_; }
  std::uint64_t generation() const { return generation_; }
  /// Nodes allocated so far (kept across clear()).
  std::size_t capacity() const;
  bool consumed() const { return consumed_; }

  // ---- recording ops (see tapegrad/autograd/op.hpp: record() uses these; user code rarely needs them)
  /// The tape all `inputs` live on; TapeError naming `op` for a stale, foreign or default handle.
  static Tape& of(const char* op, const Var<T>* inputs, std::size_t count);
  /// Appends the node of op `name` reading `inputs` (checked); differentiable when grad mode is on and some
  /// input requires a gradient. Returns its index.
  std::uint32_t append(const char* name, const Var<T>* inputs, std::size_t count);
  bool differentiable(std::uint32_t index) const;
  /// The node's own value buffer, kept across clear() for reuse.
  Tensor<T>& output(std::uint32_t index);
  /// The op object kept at node `index` (null, or of whatever op ran there last).
  std::unique_ptr<Op<T>>& op_slot(std::uint32_t index);
  const Tensor<T>& value(std::uint32_t index) const;
  bool requires_grad(std::uint32_t index) const;
  const char* name(std::uint32_t index) const;
  /// The gradient buffer of a node, zero-filled on first use in this pass.
  Tensor<T>& grad(std::uint32_t index);
  /// The same for a rule that writes every element: on first use in this pass the buffer is sized but not
  /// filled and `overwrite` is set (write, do not add: saves a pass over memory); otherwise it is grad(index).
  Tensor<T>& grad_to_overwrite(std::uint32_t index, bool& overwrite);
  // Node `index`'s gradient is column (rows) x row (cols): kept as those factors when the node is a parameter
  // whose gradient is deferred (Parameter::defer_grad) and nothing was added to it yet; false otherwise.
  bool defer_outer_grad(std::uint32_t index, const T* column, std::size_t rows, const T* row, std::size_t cols);
  Var<T> handle(std::uint32_t index) const { return Var<T>(handles_, index, generation_); }
  void check(const Var<T>& v, const char* op) const;  // throws TapeError for a foreign or stale handle
  /// The recorded sweep behind grad() and backward(kCreateGraph): runs each op's backward_on_tape from `root`
  /// (seeded with ones, or with `seed` of the root's shape) and returns, for every node up to the root, the index of
  /// the node holding its gradient (TapeBackwardContext::kNoGradient when none flowed there). Without create_graph
  /// the gradients are computed but not recorded: they cannot be differentiated.
  /// With `towards`, only the rules on paths from those nodes to the root run, and only towards them (as
  /// torch.autograd.grad prunes its graph): the others' gradients are left out.
  std::vector<std::uint32_t> gradient_nodes(const Var<T>& root, bool create_graph, const Tensor<T>* seed = nullptr,
                                            const std::vector<Var<T>>* towards = nullptr);
  const detail::Node<T>& node(std::uint32_t index) const;  // internal (anomaly reports)
  /// Var::register_hook's entry: exactly one of `see`, `replace` set.
  HookHandle add_hook(std::uint32_t index, std::function<void(const Tensor<T>&)> see,
                      std::function<Tensor<T>(const Tensor<T>&)> replace);
  /// Node `index` (below size()) read-only.
  NodeView<T> view(std::uint32_t index) const;

 private:
  // nodes_[0, size_) are live; the rest keep their buffers for reuse. Held by pointer so that a node never
  // moves: references to values stay valid while more nodes are recorded.
  std::vector<std::unique_ptr<detail::Node<T>>> nodes_;
  // A fresh node, fields reset, buffers kept: at the end, or under NoGradGuard in a reclaimed slot. Its index.
  std::uint32_t push(const char* name);
  friend class Var<T>;
  void unreferenced(std::uint32_t index);  // the last Var of a reclaimable node let go: reclaim it
  // Shared with the Vars (see detail::Handles): deleted here, or by the last Var when this tape is gone first.
  detail::Handles<T>* handles_;
  std::vector<std::uint32_t> reclaimed_;  // free slots, reused by nodes recorded under NoGradGuard
  // While a backward sweep keeps node indices of its own (gradients), nothing it records is reclaimed.
  int reclaim_paused_ = 0;
  struct PauseReclaim;
  // A leaf: a fresh node that fill() sets up; its handle, its value checked in anomaly mode.
  template <class Fill>
  Var<T> leaf(const char* name, Fill&& fill);
  void sweep(const Var<T>& root, const Tensor<T>* upstream);  // the reverse pass; null upstream: seed 1
  void check_root(const Var<T>& root, const char* op) const;  // requires a gradient; the errors say what to do
  // The thread that recorded the first node since the last clear(): a Tape serves one thread at a time, and
  // another thread that records or sweeps on it before clear() hands it over gets a TapeError.
  void check_thread(const char* op);
  std::thread::id owner_;
  // Var hooks of this recording (clear() drops them) and the liveness their handles share.
  struct Hook {
    std::uint32_t index;
    std::size_t id;
    std::function<void(const Tensor<T>&)> see;
    std::function<Tensor<T>(const Tensor<T>&)> replace;
  };
  std::vector<Hook> hooks_;
  std::shared_ptr<detail::HookLiveness> hook_liveness_;
  // During sweep(): a hooked parameter node gathers its gradient in its own slot, for its hooks to see first.
  bool sweeping_ = false;
  bool gathers_own_gradient(const detail::Node<T>& n) const;
  // hook.replace(g) for node `index`; ShapeError unless it keeps the node's shape.
  Tensor<T> replaced_gradient(const Hook& hook, const Tensor<T>& g, std::uint32_t index) const;
  void run_hooks(std::uint32_t index);  // sweep(): node index's hooks on its gradient buffer
  // gradient_nodes(): the same on a recorded gradient; the node that holds the gradient afterwards.
  std::uint32_t run_hooks_on_tape(std::uint32_t index, std::uint32_t gradient, bool recording);
  std::size_t size_ = 0;
  std::uint64_t generation_ = 1;
  bool consumed_ = false;
};

template <class T>
template <class F>
HookHandle Var<T>::register_hook(F&& hook) const {
  using Result = std::invoke_result_t<F&, const Tensor<T>&>;
  if constexpr (std::is_void_v<Result>) {
    return tape().add_hook(index_, std::function<void(const Tensor<T>&)>(std::forward<F>(hook)), {});
  } else {
    static_assert(std::is_convertible_v<Result, Tensor<T>>,
                  "a gradient hook returns nothing (it sees the gradient) or a Tensor (it replaces it)");
    return tape().add_hook(index_, {}, std::function<Tensor<T>(const Tensor<T>&)>(std::forward<F>(hook)));
  }
}

/// A copy of `v`'s value on the same tape that no gradient flows back through.
template <class T>
Var<T> detach(const Var<T>& v);

extern template class Var<float>;
extern template class Var<double>;
extern template class Tape<float>;
extern template class Tape<double>;

}  // namespace tapegrad
