#include "tapegrad/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "optim/validation.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

namespace detail {
double positive(const char* optimizer, const char* what, double value) {
  if (!std::isfinite(value) || value <= 0)
    throw ValueError(fmt::format("{}: {} must be a positive finite number, got {}", optimizer, what, value));
  return value;
}
double fraction(const char* optimizer, const char* what, double value) {
  if (!std::isfinite(value) || value < 0 || value >= 1)
    throw ValueError(fmt::format("{}: {} must be in [0, 1), got {}", optimizer, what, value));
  return value;
}
}  // namespace detail

template <class T>
Optimizer<T>::Optimizer(std::string name, std::vector<Parameter<T>*> params, double lr, double weight_decay,
                        bool decoupled_decay)
    : name_(std::move(name)),
      params_(std::move(params)),
      lr_(lr),
      weight_decay_(weight_decay),
      decoupled_decay_(decoupled_decay),
      lr_scale_(params_.size(), 1.0),
      weight_decay_per_parameter_(params_.size(), weight_decay) {
  detail::positive(name_.c_str(), "the learning rate", lr);
  if (!std::isfinite(weight_decay) || weight_decay < 0)
    throw ValueError(fmt::format("{}: weight decay must be a non-negative finite number, got {}", name_, weight_decay));
  decayed_.resize(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (params_[i] == nullptr) throw ValueError(fmt::format("{}: parameter {} is null", name_, i));
    for (std::size_t j = 0; j < i; ++j)
      if (params_[j] == params_[i])
        throw ValueError(fmt::format("{}: parameter '{}' is given twice (it would be updated twice per step)", name_,
                                     params_[i]->name));
  }
}

template <class T>
void Optimizer<T>::set_learning_rate(double lr) {
  lr_ = detail::positive(name_.c_str(), "the learning rate", lr);
}

template <class T>
void Optimizer<T>::set_group(const std::vector<Parameter<T>*>& members, const GroupOptions& options) {
  if (!groups_allowed_)
    throw ValueError(fmt::format("{}: takes no parameter groups (it treats all parameters as one vector)", name_));
  if (!std::isfinite(options.lr_scale) || options.lr_scale <= 0)
    throw ValueError(fmt::format("{}: a group's lr_scale must be a positive finite number, got {}", name_,
                                 options.lr_scale));
  if (options.weight_decay && (!std::isfinite(*options.weight_decay) || *options.weight_decay < 0))
    throw ValueError(fmt::format("{}: a group's weight decay must be a non-negative finite number, got {}", name_,
                                 *options.weight_decay));
  std::vector<std::size_t> indices;
  for (const Parameter<T>* member : members) {
    const auto found = std::find(params_.begin(), params_.end(), member);
    if (found == params_.end())
      throw ValueError(fmt::format("{}: set_group: parameter '{}' is not one this optimizer updates", name_,
                                   member ? member->name : std::string("(null)")));
    indices.push_back(std::size_t(found - params_.begin()));
  }
  for (const std::size_t i : indices) {  // validated before anything changes
    lr_scale_[i] = options.lr_scale;
    weight_decay_per_parameter_[i] = options.weight_decay.value_or(weight_decay_);
  }
}

template <class T>
std::string Optimizer<T>::groups_text() const {
  std::vector<std::pair<std::string, std::size_t>> groups;  // each distinct setting and how many have it
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (lr_scale_[i] == 1 && weight_decay_per_parameter_[i] == weight_decay_) continue;
    std::string key;
    if (lr_scale_[i] != 1) key = fmt::format("lr x{:g}", lr_scale_[i]);
    if (weight_decay_per_parameter_[i] != weight_decay_)
      key += fmt::format("{}wd={:g}", key.empty() ? "" : ", ", weight_decay_per_parameter_[i]);
    const auto found = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (found == groups.end()) groups.emplace_back(key, 1);
    else ++found->second;
  }
  std::string text;
  for (const auto& [key, count] : groups) text += fmt::format("; {} of {} parameters: {}", count, params_.size(), key);
  return text;
}

template <class T>
void decay_weights_only(Optimizer<T>& optimizer) {
  std::vector<Parameter<T>*> vectors;
  for (Parameter<T>* p : optimizer.parameters())
    if (p->value.shape().rank() <= 1) vectors.push_back(p);
  optimizer.set_group(vectors, GroupOptions{1, 0.0});
}
template void decay_weights_only(Optimizer<float>&);
template void decay_weights_only(Optimizer<double>&);

template <class T>
std::vector<Tensor<T>>& Optimizer<T>::add_slot(const std::string& slot, T initial) {
  std::vector<Tensor<T>> tensors;
  for (Parameter<T>* p : params_) tensors.emplace_back(p->value.shape(), initial);
  slots_.emplace_back(slot, std::move(tensors));
  return slots_.back().second;
}

template <class T>
double& Optimizer<T>::add_scalar(const std::string& name) {
  scalars_.emplace_back(name, 0.0);
  return scalars_.back().second;
}

template <class T>
void Optimizer<T>::step() {
  if (params_.empty())
    throw ValueError(fmt::format("{}: step() with no parameters to update; did you register the model's layers "
                                 "(register_module / register_parameter) before taking its parameters()?",
                                 name_));
  begin_step();
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Parameter<T>& p = *params_[i];
    for (const auto& [slot, tensors] : slots_)
      if (!tensors.empty() && tensors[i].shape() != p.value.shape())
        throw ShapeError(fmt::format("{}: parameter '{}' has shape {} but its state '{}' has shape {} (was the "
                                     "parameter resized after the optimizer was made?)",
                                     name_, p.name, p.value.shape().str(), slot, tensors[i].shape().str()));
    const double wd = decoupled_decay_ ? 0 : weight_decay_per_parameter_[i];
    if (p.grad_factored() && wd == 0 && update_factored(i, p)) continue;
    const Tensor<T>& grad = p.grad();  // written out here if it was factored
    if (grad.shape() != p.value.shape())
      throw ShapeError(fmt::format("{}: parameter '{}' has shape {} but its gradient {}", name_, p.name,
                                   p.value.shape().str(), grad.shape().str()));
    const Tensor<T>* g = &grad;
    if (wd > 0) {
      decayed_[i] = grad;
      const T decay = static_cast<T>(wd);
      for (std::size_t j = 0; j < p.value.size(); ++j) decayed_[i][j] += decay * p.value[j];
      g = &decayed_[i];
    }
    update(i, p.value, *g);
  }
}

template <class T>
double Optimizer<T>::step(const std::function<double()>& closure) {
  if (!closure) throw ValueError(fmt::format("{}: step(closure) with an empty closure", name_));
  const double loss = closure();
  step();
  return loss;
}

template <class T>
void Optimizer<T>::zero_grad() {
  for (Parameter<T>* p : params_) p->zero_grad();
}

template <class T>
void Optimizer<T>::discard_grads() {
  for (Parameter<T>* p : params_) p->discard_grad();
}

template <class T>
void Optimizer<T>::defer_grads() {
  for (Parameter<T>* p : params_) p->defer_grad();
}

template <class T>
void Optimizer<T>::settle_grads() {
  for (Parameter<T>* p : params_) p->settle_grad();
}

template <class T>
OptimizerState<T> Optimizer<T>::state() const {
  OptimizerState<T> s;
  s.optimizer = name_;
  for (const auto& [slot, tensors] : slots_)
    for (std::size_t i = 0; i < params_.size(); ++i)
      s.tensors.emplace_back(fmt::format("{}/{}", slot, i), tensors[i]);
  for (const auto& [name, value] : scalars_) s.scalars.emplace_back(name, value);
  return s;
}

template <class T>
void Optimizer<T>::load_state(const OptimizerState<T>& s) {
  if (s.optimizer != name_)
    throw ValueError(fmt::format("{}: cannot load the state of a {} optimizer", name_, s.optimizer));
  std::size_t expected = 0;
  for (auto& [slot, tensors] : slots_) expected += tensors.size();
  if (s.tensors.size() != expected || s.scalars.size() != scalars_.size())
    throw ValueError(fmt::format("{}: the saved state has {} tensors and {} scalars, this optimizer {} and {}", name_,
                                 s.tensors.size(), s.scalars.size(), expected, scalars_.size()));
  // validate everything before changing anything
  std::size_t k = 0;
  for (auto& [slot, tensors] : slots_)
    for (std::size_t i = 0; i < tensors.size(); ++i, ++k) {
      const std::string want = fmt::format("{}/{}", slot, i);
      if (s.tensors[k].first != want || s.tensors[k].second.shape() != tensors[i].shape())
        throw ValueError(fmt::format("{}: saved state '{}' {} does not match '{}' {}", name_, s.tensors[k].first,
                                     s.tensors[k].second.shape().str(), want, tensors[i].shape().str()));
    }
  for (std::size_t i = 0; i < scalars_.size(); ++i)
    if (s.scalars[i].first != scalars_[i].first)
      throw ValueError(fmt::format("{}: saved scalar '{}' where '{}' was expected", name_, s.scalars[i].first,
                                   scalars_[i].first));
  k = 0;
  for (auto& [slot, tensors] : slots_)
    for (auto& t : tensors) t = s.tensors[k++].second;
  for (std::size_t i = 0; i < scalars_.size(); ++i) scalars_[i].second = s.scalars[i].second;
}

template <class T>
std::string Optimizer<T>::weight_decay_text() const {
  // shown when on, or when off where the table's default is on (adamw:wd=0)
  const auto& kinds = optimizer_kinds();
  const auto row = std::find_if(kinds.begin(), kinds.end(), [&](const OptimizerKind& k) { return k.name == name_; });
  const bool off_by_default = row == kinds.end() || !row->uses("wd") || row->default_of("wd") == 0;
  const std::string decay =
      weight_decay_ == 0 && off_by_default ? std::string() : fmt::format(", wd={:g}", weight_decay_);
  return decay + groups_text();
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad
