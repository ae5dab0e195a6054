#include "tapegrad/nn/module.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cxxabi.h>
#include <map>
#include <memory>
#include <typeinfo>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"
#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad {
namespace {

// While inspect() runs on this thread: the output shape and call order of each module call it sees. The only
// state shared between Module::operator() and inspect(); null otherwise.
struct ModuleCalls {
  std::map<const void*, std::pair<Shape, std::size_t>> seen;  // output shape, order of first call
};
thread_local ModuleCalls* inspected_calls = nullptr;

std::string qualified(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

template <class T>
std::string Module<T>::describe() const {
  // The class name without namespaces or template arguments: "(anonymous namespace)::Block<double>" -> "Block".
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(typeid(*this).name(), nullptr, nullptr, &status),
                                                   &std::free);
  std::string name = status == 0 && demangled ? demangled.get() : typeid(*this).name();
  if (const std::size_t open = name.find('<'); open != std::string::npos) name.erase(open);
  if (const std::size_t colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
  return name;
}

template <class T>
struct Module<T>::Hooks {
  std::shared_ptr<detail::HookLiveness> liveness = std::make_shared<detail::HookLiveness>();
  std::vector<std::pair<std::size_t, ForwardHook>> forward;  // liveness id, hook
  std::vector<std::pair<std::size_t, BackwardHook>> backward;
  template <class Hook>
  std::vector<Hook> live(const std::vector<std::pair<std::size_t, Hook>>& list) const {
    std::vector<Hook> hooks;  // a copy: a hook may register or remove others while they run
    for (const auto& [id, hook] : list)
      if (liveness->live[id]) hooks.push_back(hook);
    return hooks;
  }
};

template <class T>
Module<T>::Module() = default;
template <class T>
Module<T>::~Module() = default;

template <class T>
HookHandle Module<T>::register_forward_hook(ForwardHook hook) {
  if (!hook) throw ValueError(fmt::format("{}: register_forward_hook: the hook is empty", describe()));
  if (!hooks_) hooks_ = std::make_unique<Hooks>();
  const std::size_t id = hooks_->liveness->add();
  hooks_->forward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_->liveness, id);
}

template <class T>
HookHandle Module<T>::register_backward_hook(BackwardHook hook) {
  if (!hook) throw ValueError(fmt::format("{}: register_backward_hook: the hook is empty", describe()));
  if (!hooks_) hooks_ = std::make_unique<Hooks>();
  const std::size_t id = hooks_->liveness->add();
  hooks_->backward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_->liveness, id);
}

template <class T>
Var<T> Module<T>::operator()(Tape<T>& tape, const Var<T>& x) {
  Var<T> y = hooks_ ? hooked_call(tape, x) : forward(tape, x);
  if (inspected_calls) inspected_calls->seen.emplace(this, std::make_pair(y.shape(), inspected_calls->seen.size()));
  return y;
}

// A call with hooks: backward hooks read grad_output at the output and grad_input at an identity node of this
// call's own (a hook on x itself would see the gradients of x's other uses as well).
template <class T>
Var<T> Module<T>::hooked_call(Tape<T>& tape, const Var<T>& x) {
  const bool watch_backward = is_grad_enabled() && !hooks_->live(hooks_->backward).empty();
  const bool input_watched = watch_backward && x.requires_grad();
  const Var<T> input = input_watched ? identity(x) : x;
  Var<T> y = forward(tape, input);
  for (const ForwardHook& hook : hooks_->live(hooks_->forward)) hook(*this, x, y);
  if (!watch_backward || !y.requires_grad()) return y;
  // the hooks registered when backward reaches this call run (the module outlives its tape's backward)
  if (!input_watched) {
    y.register_hook([this](const Tensor<T>& g) {
      for (const BackwardHook& hook : hooks_->live(hooks_->backward)) hook(*this, nullptr, g);
    });
    return y;
  }
  auto grad_output = std::make_shared<Tensor<T>>();
  y.register_hook([grad_output](const Tensor<T>& g) { *grad_output = g; });
  input.register_hook([this, grad_output](const Tensor<T>& g) {
    for (const BackwardHook& hook : hooks_->live(hooks_->backward)) hook(*this, &g, *grad_output);
  });
  return y;
}

template <class T>
void Module<T>::check_new_name(const std::string& name) const {
  const auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
  };
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError(fmt::format("{}: '{}' is not a valid name: names are not empty and hold no '.'", describe(), name));
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    throw ValueError(fmt::format("{}: the name '{}' is already registered in this module", describe(), name));
}

template <class T>
Parameter<T>& Module<T>::register_parameter(const std::string& name, Parameter<T>& p) {
  check_new_name(name);
  parameters_.emplace_back(name, &p);
  return p;
}

template <class T>
Tensor<T>& Module<T>::register_buffer(const std::string& name, Tensor<T>& t) {
  check_new_name(name);
  buffers_.emplace_back(name, &t);
  return t;
}

template <class T>
bool Module<T>::parameter_free() const {
  if (children_.empty() || !parameters_.empty()) return false;
  for (const auto& [name, child] : children_)
    if (!child->parameter_free()) return false;
  return true;
}

template <class T>
void Module<T>::add_child(const std::string& name, Module<T>& child) {
  check_new_name(name);
  if (&child == this) throw ValueError(fmt::format("{}: a module cannot be its own child", describe()));
  children_.emplace_back(name, &child);
}

template <class T>
template <class F>
void Module<T>::walk(const std::string& prefix, F&& visit) {
  visit(prefix, *this);
  for (auto& [name, child] : children_) child->walk(qualified(prefix, name), visit);
}

template <class T>
std::vector<std::pair<std::string, Parameter<T>*>> Module<T>::named_parameters() {
  std::vector<std::pair<std::string, Parameter<T>*>> all;
  walk("", [&](const std::string& prefix, Module<T>& m) {
    for (auto& [name, p] : m.parameters_) all.emplace_back(qualified(prefix, name), p);
  });
  return all;
}

template <class T>
std::vector<Parameter<T>*> Module<T>::parameters() {
  std::vector<Parameter<T>*> all;
  for (auto& [name, p] : named_parameters()) all.push_back(p);
  return all;
}

template <class T>
std::vector<Buffer<T>> Module<T>::buffers() {
  std::vector<Buffer<T>> all;
  walk("", [&](const std::string& prefix, Module<T>& m) {
    for (auto& [name, t] : m.buffers_) all.push_back({qualified(prefix, name), t});
  });
  return all;
}

template <class T>
std::vector<std::pair<std::string, Module<T>*>> Module<T>::named_modules() {
  std::vector<std::pair<std::string, Module<T>*>> all;
  walk("", [&](const std::string& prefix, Module<T>& m) { all.emplace_back(prefix, &m); });
  return all;
}

template <class T>
std::string Module<T>::description() {
  std::string out;
  for (auto& [name, m] : named_modules()) out += fmt::format("{}: {}\n", name.empty() ? "(model)" : name, m->describe());
  return out;
}

template <class T>
void Module<T>::set_training(bool training) {
  walk("", [&](const std::string&, Module<T>& m) { m.training_ = training; });
}

template <class T>
void Module<T>::freeze_randomness(bool frozen) {
  walk("", [&](const std::string&, Module<T>& m) { m.on_freeze_randomness(frozen); });
}

template <class T>
void Module<T>::set_random_step(std::uint64_t step) {
  on_random_step(step);  // depth first, without walk()'s qualified names: a training step must not allocate
  for (auto& child : children_) child.second->set_random_step(step);
}

template <class T>
void Module<T>::zero_grad() {
  for (Parameter<T>* p : parameters()) p->zero_grad();
}

template <class T>
std::size_t Module<T>::parameter_count() {
  std::size_t n = 0;
  for (Parameter<T>* p : parameters()) n += p->value.size();
  return n;
}

template <class T>
std::vector<ModuleInfo> Module<T>::inspect(const Shape& input) {
  ModuleCalls calls;
  struct Watch {  // evaluation mode, no gradients, calls recorded; all undone however forward ends
    Module<T>& model;
    bool was_training;
    NoGradGuard no_grad;
    Watch(Module<T>& m, ModuleCalls& c) : model(m), was_training(m.training()) {
      model.set_training(false);
      inspected_calls = &c;
    }
    ~Watch() {
      inspected_calls = nullptr;
      model.set_training(was_training);
    }
  };
  {
    Watch watch(*this, calls);
    Tape<T> tape;
    (*this)(tape, tape.constant(Tensor<T>::zeros(input)));
  }
  std::vector<ModuleInfo> infos;
  for (auto& [name, m] : named_modules()) {
    ModuleInfo info;
    info.name = name;
    info.description = m->describe();
    info.depth = name.empty() ? 0 : static_cast<std::size_t>(std::count(name.begin(), name.end(), '.')) + 1;
    for (auto& [local, p] : m->parameters_) info.parameters += p->value.size();
    info.leaf = m->children_.empty();
    if (const auto it = calls.seen.find(m); it != calls.seen.end()) {
      info.has_output = true;
      info.output = it->second.first;
      info.call = it->second.second;
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

template <class T>
std::string Module<T>::summary(const Shape& input) {
  std::vector<std::array<std::string, 4>> rows;
  std::size_t total = 0;
  for (const ModuleInfo& m : inspect(input)) {
    total += m.parameters;
    rows.push_back({std::string(2 * m.depth, ' ') + (m.name.empty() ? "(model)" : m.name), m.description,
                    m.has_output ? m.output.str() : "-", m.parameters ? fmt::format("{}", m.parameters) : ""});
  }
  std::array<std::size_t, 4> width{6, 5, 12, 6};
  for (const auto& r : rows)
    for (std::size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], r[c].size());
  std::string out = fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", "module", width[0], "layer", width[1],
                                "output shape", width[2], "params", width[3]);
  for (const auto& r : rows)
    out += fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}\n", r[0], width[0], r[1], width[1], r[2], width[2], r[3], width[3]);
  out += fmt::format("input {}, {} trainable parameters\n", input.str(), total);
  return out;
}

template <class T>
Var<T> Sequential<T>::forward(Tape<T>& tape, const Var<T>& x) {
  Var<T> h = x;
  for (Module<T>* layer : layers_) h = (*layer)(tape, h);
  return h;
}

template class Module<float>;
template class Module<double>;
template class Sequential<float>;
template class Sequential<double>;

}  // namespace tapegrad
