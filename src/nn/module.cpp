#include "tapegrad/nn/module.hpp"

#include <fmt/format.h>

namespace tapegrad {

template <class T>
void Sequential<T>::adopt(std::unique_ptr<Module<T>> layer) {
  const std::size_t index = layers_.size();
  for (Parameter<T>* p : layer->parameters()) p->name = fmt::format("{}.{}", index, p->name);
  layer->set_training(this->training_);
  layers_.push_back(std::move(layer));
}

template <class T>
Var<T> Sequential<T>::forward(Tape<T>& tape, const Var<T>& x) {
  Var<T> h = x;
  for (auto& layer : layers_) h = layer->forward(tape, h);
  return h;
}

template <class T>
std::vector<Parameter<T>*> Sequential<T>::parameters() {
  std::vector<Parameter<T>*> all;
  for (auto& layer : layers_)
    for (Parameter<T>* p : layer->parameters()) all.push_back(p);
  return all;
}

template <class T>
std::vector<Buffer<T>> Sequential<T>::buffers() {
  std::vector<Buffer<T>> all;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    for (const Buffer<T>& b : layers_[i]->buffers()) all.push_back({fmt::format("{}.{}", i, b.name), b.tensor});
  return all;
}

template <class T>
void Sequential<T>::set_training(bool training) {
  this->training_ = training;
  for (auto& layer : layers_) layer->set_training(training);
}

template <class T>
void Sequential<T>::freeze_randomness(bool frozen) {
  for (auto& layer : layers_) layer->freeze_randomness(frozen);
}

template <class T>
std::string Sequential<T>::describe() const {
  std::string out;
  for (std::size_t i = 0; i < layers_.size(); ++i) out += fmt::format("{:>3}  {}\n", i, layers_[i]->describe());
  return out;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace tapegrad
