#include "tapegrad/autograd/tape.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "autograd/anomaly.hpp"
#include "autograd/node.hpp"
#include "autograd/accumulate.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

// ---- Var

template <class T>
bool Var<T>::valid() const {
  return handles_ != nullptr && counted() && index_ < handles_->tape->size();
}

template <class T>
Tape<T>& Var<T>::tape() const {
  if (!valid())
    throw TapeError(handles_ == nullptr         ? "this Var was default-constructed and refers to no tape"
                    : handles_->tape == nullptr ? "this Var belongs to a tape that was destroyed"
                                                : "this Var belongs to a tape that was cleared since; record it again");
  return *handles_->tape;
}

template <class T>
const Tensor<T>& Var<T>::value() const { return tape().value(index_); }

template <class T>
const Tensor<T>& Var<T>::grad() const { return tape().grad(index_); }

template <class T>
bool Var<T>::requires_grad() const { return tape().requires_grad(index_); }

template <class T>
const char* Var<T>::op() const { return tape().name(index_); }

template <class T>
void Var<T>::backward() const { tape().backward(*this); }

template <class T>
void Var<T>::backward(const Tensor<T>& upstream) const { tape().backward(*this, upstream); }

template <class T>
void Var<T>::backward(GradOptions options) const { tape().backward(*this, options); }

template <class T>
Var<T> Var<T>::grad_var() const {
  const detail::Node<T>& n = tape().node(index_);
  if (n.grad_var == TapeBackwardContext<T>::kNoGradient)
    throw TapeError(fmt::format(
        "grad_var: this {} of shape {} has no recorded gradient: backward ran without create_graph, or not from a "
        "root that depends on it; call root.backward(tapegrad::kCreateGraph), or tapegrad::grad(root, {{x}}, "
        "tapegrad::kCreateGraph)",
        n.name, tape().value(index_).shape().str()));
  return tape().handle(n.grad_var);
}

// ---- Tape

template <class T>
Tape<T>::Tape() : handles_(new detail::Handles<T>) {
  handles_->tape = this;
  handles_->generation = generation_;
}
template <class T>
Tape<T>::~Tape() {
  if (handles_->vars == 0) delete handles_;
  else handles_->tape = nullptr;  // the last Var deletes it
}

template <class T>
struct Tape<T>::PauseReclaim {
  explicit PauseReclaim(Tape& tape) : tape(tape) { ++tape.reclaim_paused_; }
  ~PauseReclaim() { --tape.reclaim_paused_; }
  Tape& tape;
};

template <class T>
void Tape<T>::check_thread(const char* op) {
  const std::thread::id me = std::this_thread::get_id();
  if (size_ == 0) owner_ = me;
  else if (__builtin_expect(owner_ != me, 0))
    throw TapeError(fmt::format("{}: this tape is in use by another thread; a Tape serves one thread at a time: give "
                                "each thread its own Tape (after clear() another thread may take it over)",
                                op));
}

template <class T>
std::uint32_t Tape<T>::push(const char* op) {
  check_thread(op);
  const bool reclaimable = !is_grad_enabled() && reclaim_paused_ == 0;
  std::uint32_t index = 0;
  if (reclaimable && !reclaimed_.empty()) {
    index = reclaimed_.back();
    reclaimed_.pop_back();
  } else {
    if (size_ == std::numeric_limits<std::uint32_t>::max())
      throw TapeError(fmt::format("{}: the tape is full (2^32 - 1 nodes); clear it between steps", op));
    if (size_ == nodes_.size()) {
      nodes_.push_back(std::make_unique<detail::Node<T>>());
      handles_->per_node.resize(nodes_.size(), 0);
    }
    index = static_cast<std::uint32_t>(size_++);
  }
  nodes_[index]->reset(op);
  handles_->per_node[index] = reclaimable ? 0 : detail::Handles<T>::kKept;
  return index;
}

template <class T>
void Tape<T>::unreferenced(std::uint32_t index) {
  if (reclaim_paused_ > 0) return;
  nodes_[index]->reset("reclaimed");  // no parameter or outside value left for uses_of() or a graph to find
  reclaimed_.push_back(index);
}

template <class T>
std::size_t Tape<T>::capacity() const { return nodes_.size(); }

template <class T>
const detail::Node<T>& Tape<T>::node(std::uint32_t index) const { return *nodes_[index]; }

template <class T>
NodeView<T> Tape<T>::view(std::uint32_t index) const {
  if (index >= size_)
    throw ValueError(fmt::format("Tape::view: node {} asked for, but the tape holds {} nodes", index, size_));
  const detail::Node<T>& n = *nodes_[index];
  return {n.name, n.inputs.data(), n.inputs.size(), &value(index), n.requires_grad, n.parameter,
          n.parameter ? nullptr : n.grad.written()};
}

template <class T>
Tape<T>& Tape<T>::of(const char* op, const Var<T>* inputs, std::size_t count) {
  if (count == 0) throw ValueError(fmt::format("{}: an op needs at least one input variable", op));
  if (inputs[0].handles_ == nullptr) throw TapeError(fmt::format("{}: input 0 refers to no tape", op));
  if (inputs[0].handles_->tape == nullptr)
    throw TapeError(fmt::format("{}: input 0 belongs to a tape that was destroyed", op));
  Tape& tape = *inputs[0].handles_->tape;
  for (std::size_t k = 0; k < count; ++k) tape.check(inputs[k], op);
  return tape;
}

template <class T>
std::uint32_t Tape<T>::append(const char* name, const Var<T>* inputs, std::size_t count) {
  bool requires = false;
  if (is_grad_enabled())
    for (std::size_t k = 0; k < count; ++k) requires = requires || nodes_[inputs[k].index()]->requires_grad;
  const std::uint32_t index = push(name);
  detail::Node<T>& n = *nodes_[index];
  for (std::size_t k = 0; k < count; ++k) n.inputs.push_back(inputs[k].index());
  n.requires_grad = requires;
  n.differentiable = requires;
  if (requires)  // its backward reads the inputs' values: they are kept
    for (std::size_t k = 0; k < count; ++k) handles_->per_node[inputs[k].index()] |= detail::Handles<T>::kKept;
  if (!requires)  // a value computed from an unrecorded gradient stays one: backward explains why it cannot go on
    for (std::size_t k = 0; k < count; ++k) n.unrecorded_gradient |= nodes_[inputs[k].index()]->unrecorded_gradient;
  return index;
}

template <class T>
bool Tape<T>::differentiable(std::uint32_t index) const { return nodes_[index]->differentiable; }

template <class T>
Tensor<T>& Tape<T>::output(std::uint32_t index) { return nodes_[index]->value; }

template <class T>
std::unique_ptr<Op<T>>& Tape<T>::op_slot(std::uint32_t index) { return nodes_[index]->op; }

template <class T>
bool Tape<T>::requires_grad(std::uint32_t index) const { return nodes_[index]->requires_grad; }

template <class T>
const char* Tape<T>::name(std::uint32_t index) const { return nodes_[index]->name; }

template <class T>
const Tensor<T>& Tape<T>::value(std::uint32_t index) const {
  const detail::Node<T>& n = *nodes_[index];
  return n.value_ref ? *n.value_ref : n.value;
}

template <class T>
bool Tape<T>::gathers_own_gradient(const detail::Node<T>& n) const {
  return n.hooked && sweeping_;
}

template <class T>
Tensor<T>& Tape<T>::grad(std::uint32_t index) {
  detail::Node<T>& n = *nodes_[index];
  if (n.parameter && !gathers_own_gradient(n)) return n.parameter->grad_.accumulate_into(n.parameter->value.shape());
  return n.grad.read(value(index).shape());
}

template <class T>
Tensor<T>& Tape<T>::grad_to_overwrite(std::uint32_t index, bool& overwrite) {
  detail::Node<T>& n = *nodes_[index];
  const bool to_parameter = n.parameter && !gathers_own_gradient(n);
  GradSlot<T>& slot = to_parameter ? n.parameter->grad_ : n.grad;
  overwrite = slot.stale();  // nothing added in this pass: written over, not zero-filled first
  if (!overwrite) return grad(index);
  return slot.overwrite(value(index).shape());
}

template <class T>
bool Tape<T>::defer_outer_grad(std::uint32_t index, const T* column, std::size_t rows, const T* row,
                               std::size_t cols) {
  const detail::Node<T>& n = *nodes_[index];
  Parameter<T>* p = n.parameter;
  return p != nullptr && !gathers_own_gradient(n) && p->grad_.keep_factors(p->value.shape(), column, rows, row, cols);
}

template <class T>
HookHandle Tape<T>::add_hook(std::uint32_t index, std::function<void(const Tensor<T>&)> see,
                             std::function<Tensor<T>(const Tensor<T>&)> replace) {
  if (index >= size_) throw TapeError("register_hook: the variable is not on this tape");
  check_thread("register_hook");
  detail::Node<T>& n = *nodes_[index];
  if (!n.requires_grad)
    throw TapeError(fmt::format("register_hook: this {} of shape {} needs no gradient, so no gradient would reach the "
                                "hook; record it with tape.variable() or tape.parameter(), or from one",
                                n.name, value(index).shape().str()));
  if (!see && !replace) throw ValueError("register_hook: the hook is empty");
  if (!hook_liveness_) hook_liveness_ = std::make_shared<detail::HookLiveness>();
  const std::size_t id = hook_liveness_->add();
  hooks_.push_back(Hook{index, id, std::move(see), std::move(replace)});
  n.hooked = true;
  return HookHandle(hook_liveness_, id);
}

template <class T>
Tensor<T> Tape<T>::replaced_gradient(const Hook& hook, const Tensor<T>& g, std::uint32_t index) const {
  Tensor<T> replacement = hook.replace(g);
  const Shape& shape = value(index).shape();
  if (replacement.shape() != shape)
    throw ShapeError(fmt::format("register_hook: a hook on a {} of shape {} returned a gradient of shape {}",
                                 nodes_[index]->name, shape.str(), replacement.shape().str()));
  return replacement;
}

template <class T>
void Tape<T>::run_hooks(std::uint32_t index) {
  detail::Node<T>& n = *nodes_[index];
  if (n.grad.stale()) return;  // no gradient reached it
  const Shape& shape = value(index).shape();
  Tensor<T>& g = n.grad.read(shape);
  for (std::size_t k = 0; k < hooks_.size(); ++k) {  // by position: a hook may register more
    if (hooks_[k].index != index || !hook_liveness_->live[hooks_[k].id]) continue;
    const Hook hook = hooks_[k];  // a copy: the hook may register more, moving hooks_
    if (hook.see) {
      hook.see(g);
      continue;
    }
    g = replaced_gradient(hook, g, index);
  }
  if (n.parameter) {  // the hooks have seen this use's gradient: now it joins the parameter's
    Tensor<T>& target = n.parameter->grad_.accumulate_into(shape);
    for (std::size_t e = 0; e < g.size(); ++e) target[e] += g[e];
  }
}

template <class T>
std::uint32_t Tape<T>::run_hooks_on_tape(std::uint32_t index, std::uint32_t gradient, bool recording) {
  for (std::size_t k = 0; k < hooks_.size(); ++k) {
    if (hooks_[k].index != index || !hook_liveness_->live[hooks_[k].id]) continue;
    const Hook hook = hooks_[k];
    if (hook.see) {
      hook.see(value(gradient));
      continue;
    }
    if (recording)
      throw TapeError(fmt::format("register_hook: a hook on a {} replaces its gradient, but this backward records the "
                                  "gradients (create_graph) and a replacement could not be differentiated; use a "
                                  "hook that only sees the gradient, or backward without create_graph",
                                  nodes_[index]->name));
    gradient = constant(replaced_gradient(hook, value(gradient), index)).index();
  }
  return gradient;
}

template <class T>
void Tape<T>::check(const Var<T>& v, const char* op) const {
  if (v.handles_ == nullptr) throw TapeError(fmt::format("{}: the variable refers to no tape", op));
  if (v.handles_ != handles_) throw TapeError(fmt::format("{}: the variables live on different tapes", op));
  if (v.generation_ != generation_ || v.index_ >= size_)
    throw TapeError(fmt::format("{}: the variable was recorded before tape.clear(); record it again", op));
}

template <class T>
template <class Fill>
Var<T> Tape<T>::leaf(const char* name, Fill&& fill) {
  const std::uint32_t index = push(name);
  fill(*nodes_[index]);
  if (is_anomaly_detection_enabled()) detail::check_value(*this, index);
  return handle(index);
}

template <class T>
Var<T> Tape<T>::constant(const Tensor<T>& value) {
  return leaf("constant", [&](detail::Node<T>& n) { n.value = value; });
}

template <class T>
Var<T> Tape<T>::constant_ref(const Tensor<T>& value) {
  return leaf("constant", [&](detail::Node<T>& n) { n.value_ref = &value; });
}

template <class T>
Var<T> Tape<T>::scalar(T value) {
  return leaf("constant", [&](detail::Node<T>& n) {
    n.value.resize(Shape{});
    n.value[0] = value;
  });
}

template <class T>
Var<T> Tape<T>::variable(const Tensor<T>& value, bool requires_grad) {
  return leaf("leaf", [&](detail::Node<T>& n) {
    n.value = value;
    n.requires_grad = requires_grad;
  });
}

template <class T>
Var<T> Tape<T>::parameter(Parameter<T>& p) {
  return leaf("parameter", [&](detail::Node<T>& n) {
    n.parameter = &p;
    n.value_ref = &p.value;
    n.requires_grad = true;
  });
}

template <class T>
void Tape<T>::backward(const Var<T>& root) {
  check(root, "backward");
  const Shape& shape = value(root.index()).shape();
  if (shape.numel() != 1)
    throw TapeError(fmt::format(
        "backward: the root has shape {}; call backward(upstream) with an upstream gradient of that shape, "
        "or reduce the root to a scalar first (e.g. sum or mean)",
        shape.str()));
  sweep(root, nullptr);
}

template <class T>
void Tape<T>::backward(const Var<T>& root, const Tensor<T>& upstream) {
  check(root, "backward");
  if (upstream.shape() != value(root.index()).shape())
    throw ShapeError(fmt::format("backward: the upstream gradient has shape {} but the root has shape {}",
                                 upstream.shape().str(), value(root.index()).shape().str()));
  sweep(root, &upstream);
}

template <class T>
void Tape<T>::backward(const Var<T>& root, GradOptions options) {
  if (!options.create_graph) {
    backward(root);
    return;
  }
  check(root, "backward");
  const Shape& shape = value(root.index()).shape();
  if (shape.numel() != 1)
    throw TapeError(fmt::format("backward: with create_graph the root must have one element, got shape {}; reduce it "
                                "first (e.g. sum or mean)",
                                shape.str()));
  const PauseReclaim keep_gradient_nodes(*this);  // grads and grad_var hold indices, not Vars
  const std::vector<std::uint32_t> grads = gradient_nodes(root, true);
  for (std::uint32_t i = 0; i < grads.size(); ++i) {
    detail::Node<T>& n = *nodes_[i];
    if (grads[i] == TapeBackwardContext<T>::kNoGradient || !n.inputs.empty()) continue;  // leaves only
    const Tensor<T>& g = value(grads[i]);
    Tensor<T>& target = grad(i);
    for (std::size_t e = 0; e < g.size(); ++e) target[e] += g[e];
    n.grad_var = n.grad_var == TapeBackwardContext<T>::kNoGradient
                     ? grads[i]
                     : detail::accumulate(handle(n.grad_var), handle(grads[i])).index();
  }
}

template <class T>
void Tape<T>::check_root(const Var<T>& root, const char* op) const {
  const detail::Node<T>& r = *nodes_[root.index()];
  if (r.requires_grad) return;
  if (r.unrecorded_gradient)
    throw TapeError(fmt::format(
        "{}: the root was computed from a gradient that was not recorded, so it cannot be differentiated; compute "
        "that gradient with create_graph: tapegrad::grad(y, {{x}}, tapegrad::kCreateGraph) or "
        "y.backward(tapegrad::kCreateGraph)",
        op));
  throw TapeError(fmt::format(
      "{}: the root does not require a gradient: it was computed only from constants or under NoGradGuard; create "
      "the inputs with tape.variable() or tape.parameter()",
      op));
}

template <class T>
std::vector<std::uint32_t> Tape<T>::gradient_nodes(const Var<T>& root, bool create_graph, const Tensor<T>* seed,
                                                   const std::vector<Var<T>>* towards) {
  check(root, "grad");
  check_root(root, "grad");
  const PauseReclaim keep_gradient_nodes(*this);  // grads holds indices, not Vars
  constexpr std::uint32_t none = TapeBackwardContext<T>::kNoGradient;
  // leads[i]: node i depends on one of `towards` (the tape is in topological order: one pass forward)
  std::vector<char> leads;
  if (towards != nullptr) {
    leads.assign(root.index() + std::size_t{1}, 0);
    for (const Var<T>& t : *towards)
      if (t.index() <= root.index()) leads[t.index()] = 1;
    for (std::uint32_t i = 0; i <= root.index(); ++i)
      for (std::uint32_t input : nodes_[i]->inputs) leads[i] = leads[i] || leads[input];
  }
  std::vector<std::uint32_t> grads(root.index() + std::size_t{1}, none);
  grads[root.index()] =  // the seed, d(root)/d(root)
      seed != nullptr ? constant(*seed).index() : constant(Tensor<T>::ones(value(root.index()).shape())).index();
  const std::size_t first_new = size_;
  {
    GradModeGuard recording(create_graph);
    for (std::uint32_t i = root.index() + 1; i-- > 0;) {
      detail::Node<T>& n = *nodes_[i];  // nodes never move, though the rules append more of them
      if (grads[i] != none && n.hooked) grads[i] = run_hooks_on_tape(i, grads[i], create_graph);
      if (!n.differentiable || grads[i] == none || (towards != nullptr && !leads[i])) continue;
      TapeBackwardContext<T> context(*this, i, handle(grads[i]), grads, towards != nullptr ? &leads : nullptr);
      n.op->backward_on_tape(context);
    }
  }
  if (!create_graph)
    for (std::size_t j = first_new; j < size_; ++j) nodes_[j]->unrecorded_gradient = true;
  return grads;
}

template <class T>
std::vector<Var<T>> Tape<T>::uses_of(const Parameter<T>& p) const {
  std::vector<Var<T>> uses;
  for (std::uint32_t i = 0; i < size_; ++i)
    if (nodes_[i]->parameter == &p) uses.push_back(handle(i));
  return uses;
}

template <class T>
void Tape<T>::sweep(const Var<T>& root, const Tensor<T>* upstream) {
  check_root(root, "backward");
  check_thread("backward");
  if (consumed_)
    throw TapeError(
        "backward: this tape was already backpropagated; call tape.clear() and record the forward pass again "
        "(gradients of parameters accumulate until you zero them). To differentiate a gradient (a second "
        "backward), record the first one: root.backward(tapegrad::kCreateGraph) or tapegrad::grad(root, {x}, "
        "tapegrad::kCreateGraph)");
  consumed_ = true;
  struct Sweeping {
    explicit Sweeping(bool& flag) : flag(flag) { flag = true; }
    ~Sweeping() { flag = false; }
    bool& flag;
  } sweeping(sweeping_);
  Tensor<T>& seed = grad(root.index());
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] += upstream ? (*upstream)[i] : T(1);
  // The tape is in topological order already: one reverse sweep applies the chain rule. Node i's gradient is
  // whole when the sweep reaches it (only later nodes add to it): its hooks run then.
  for (std::uint32_t i = root.index() + 1; i-- > 0;) {
    detail::Node<T>& n = *nodes_[i];
    if (__builtin_expect(n.hooked, 0)) run_hooks(i);
    if (!n.differentiable || n.grad.stale()) continue;
    BackwardContext<T> context(*this, i);
    n.op->backward(context);
    if (is_anomaly_detection_enabled()) detail::check_input_gradients(*this, i);
  }
}

template <class T>
void Tape<T>::clear() {
  size_ = 0;  // push() sets each node's count afresh; Vars of older generations count nowhere
  reclaimed_.clear();
  hooks_.clear();
  hook_liveness_.reset();  // the handles of this recording's hooks go inactive
  ++generation_;
  handles_->generation = generation_;
  consumed_ = false;
}

template <class T>
void Tape<T>::rewind(std::size_t size) {
  if (size > size_)
    throw ValueError(fmt::format("Tape::rewind: to {} nodes, but the tape holds {}", size, size_));
  check_thread("rewind");
  size_ = size;
  reclaimed_.erase(std::remove_if(reclaimed_.begin(), reclaimed_.end(), [&](std::uint32_t i) { return i >= size; }),
                   reclaimed_.end());
  for (Hook& hook : hooks_)  // the forgotten nodes' hooks; the slots may serve new nodes
    if (hook.index >= size) hook_liveness_->live[hook.id] = false;
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(), [&](const Hook& h) { return h.index >= size; }),
               hooks_.end());
  ++generation_;  // every Var of this tape goes stale: a Var of a forgotten node could otherwise read a new one
  handles_->generation = generation_;
}

template <class T>
void Tape<T>::zero_grad() {
  for (std::size_t i = 0; i < size_; ++i) {
    nodes_[i]->grad.discard();
    nodes_[i]->grad_var = TapeBackwardContext<T>::kNoGradient;
    if (nodes_[i]->parameter) nodes_[i]->parameter->zero_grad();
  }
}

template <class T>
Var<T> detach(const Var<T>& v) {
  return v.tape().constant(v.value());  // nodes never move, so the reference stays valid while it is copied
}

template class Var<float>;
template class Var<double>;
template class Tape<float>;
template class Tape<double>;
template Var<float> detach(const Var<float>&);
template Var<double> detach(const Var<double>&);

}  // namespace tapegrad
