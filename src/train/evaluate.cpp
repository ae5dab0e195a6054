#include "tapegrad/train/evaluate.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/tensor/error.hpp"
#include "train/evaluation_mode.hpp"

namespace tapegrad {

template <class T>
std::vector<std::size_t> predict(Module<T>& model, const Dataset& data, std::size_t batch, std::size_t begin,
                                 std::size_t end) {
  if (batch == 0) throw ValueError("predict: the batch must hold at least one row");
  end = std::min(end, data.rows);
  if (begin > end) throw ValueError(fmt::format("predict: rows {} to {} of {}", begin, end, data.rows));
  const detail::EvaluationMode<T> evaluation(model);
  NoGradGuard no_grad;
  std::vector<std::size_t> order(end - begin), predicted(end - begin), labels;
  std::iota(order.begin(), order.end(), begin);
  Tensor<T> x;
  Tape<T> tape;
  for (std::size_t start = 0; start < order.size(); start += batch) {
    const std::size_t count = std::min(batch, order.size() - start);
    data.gather(order.data() + start, count, x, labels);
    tape.clear();
    const Var<T> scores = model.forward(tape, tape.constant_ref(x));  // held: under no-grad a node is reclaimed
    const Tensor<T>& logits = scores.value();                          // once no Var refers to it
    if (logits.rank() != 2 || logits.shape()[0] != count)
      throw ShapeError(fmt::format("predict: the model gives {} for a batch of {} rows; it must give (rows, classes)",
                                   logits.shape().str(), count));
    const std::size_t classes = logits.shape()[1];
    for (std::size_t i = 0; i < count; ++i) {
      const T* row = logits.data() + i * classes;
      predicted[start + i] = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
    }
  }
  return predicted;
}

template <class T>
double accuracy(Module<T>& model, const Dataset& data, std::size_t batch) {
  if (data.rows == 0) throw ValueError(fmt::format("accuracy: the data set '{}' is empty", data.name));
  const std::vector<std::size_t> predicted = predict(model, data, batch);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < data.rows; ++i) correct += predicted[i] == data.labels[i];
  return double(correct) / double(data.rows);
}

template <class T>
RoundedPrediction predict_rounded(Sequential<T>& model, const Dataset& data, Precision precision, bool activations,
                                  std::size_t batch) {
  if (batch == 0) throw ValueError("predict_rounded: the batch must hold at least one row");
  RoundedPrediction out;
  std::vector<Tensor<T>> saved;
  const std::vector<Parameter<T>*> params = model.parameters();
  for (Parameter<T>* p : params) saved.push_back(p->value);
  struct Restore {  // the parameters as they were, however this ends
    const std::vector<Parameter<T>*>& params;
    std::vector<Tensor<T>>& saved;
    ~Restore() {
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = std::move(saved[i]);
    }
  } restore{params, saved};
  for (Parameter<T>* p : params) out.overflowed_parameters += round_to(p->value, precision);
  const detail::EvaluationMode<T> evaluation(model);
  NoGradGuard no_grad;
  std::vector<std::size_t> order(data.rows), labels;
  std::iota(order.begin(), order.end(), std::size_t{0});
  out.predicted.resize(data.rows);
  Tensor<T> x, values;
  Tape<T> tape;
  for (std::size_t start = 0; start < order.size(); start += batch) {
    const std::size_t count = std::min(batch, order.size() - start);
    data.gather(order.data() + start, count, x, labels);
    if (activations) out.overflowed_values += round_to(x, precision);
    tape.clear();
    Var<T> h = tape.constant_ref(x);
    for (std::size_t i = 0; i < model.size(); ++i) {
      h = model[i](tape, h);
      if (!activations) continue;
      values = h.value();
      out.overflowed_values += round_to(values, precision);
      h = tape.constant(values);
    }
    const Tensor<T>& logits = h.value();
    if (logits.rank() != 2 || logits.shape()[0] != count)
      throw ShapeError(fmt::format("predict_rounded: the model gives {} for a batch of {} rows; it must give (rows, "
                                   "classes)",
                                   logits.shape().str(), count));
    const std::size_t classes = logits.shape()[1];
    for (std::size_t i = 0; i < count; ++i) {
      const T* row = logits.data() + i * classes;
      out.predicted[start + i] = static_cast<std::size_t>(std::max_element(row, row + classes) - row);
    }
  }
  return out;
}

template RoundedPrediction predict_rounded(Sequential<float>&, const Dataset&, Precision, bool, std::size_t);
template RoundedPrediction predict_rounded(Sequential<double>&, const Dataset&, Precision, bool, std::size_t);
template std::vector<std::size_t> predict(Module<float>&, const Dataset&, std::size_t, std::size_t, std::size_t);
template std::vector<std::size_t> predict(Module<double>&, const Dataset&, std::size_t, std::size_t, std::size_t);
template double accuracy(Module<float>&, const Dataset&, std::size_t);
template double accuracy(Module<double>&, const Dataset&, std::size_t);

}  // namespace tapegrad
