#include "tapegrad/nn/per_sample.hpp"

#include <fmt/format.h>

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

// Where a parameter is read on the tape: as affine's weight (input 1) or bias (input 2), with the node.
struct AffineUse {
  std::uint32_t node;
  bool weight;
};

// Every use of p as an affine weight or bias whose input has `batch` rows; empty when some use is anything else.
template <class T>
std::vector<AffineUse> affine_uses(const Tape<T>& tape, const Parameter<T>& p, std::size_t batch) {
  std::vector<AffineUse> found;
  std::size_t uses = 0;
  for (std::uint32_t i = 0; i < tape.size(); ++i) {
    const NodeView<T> node = tape.view(i);
    if (node.parameter == &p) ++uses;
    if (std::string(node.op) != "affine" || node.input_count != 3) continue;
    for (std::size_t k = 1; k < 3; ++k) {
      if (tape.view(node.inputs[k]).parameter != &p) continue;
      const std::size_t in = std::max<std::size_t>(1, tape.view(node.inputs[1]).value->shape()[0]);  // W: (in, out)
      const std::size_t rows = tape.view(node.inputs[0]).value->size() / in;
      if (rows != batch || node.grad == nullptr) return {};
      found.push_back({i, k == 1});
    }
  }
  return found.size() == uses ? found : std::vector<AffineUse>{};
}

template <class T>
Tensor<T> rows_of(const Tensor<T>& batch, std::size_t first, std::size_t count) {
  const std::size_t per = batch.shape()[0] == 0 ? 0 : batch.size() / batch.shape()[0];
  std::vector<std::size_t> dims(batch.shape().begin(), batch.shape().end());
  dims[0] = count;
  Tensor<T> out{Shape(dims)};
  std::copy(batch.begin() + static_cast<std::ptrdiff_t>(first * per),
            batch.begin() + static_cast<std::ptrdiff_t>((first + count) * per), out.begin());
  return out;
}

template <class T>
Var<T> checked_loss(const SampleLoss<T>& loss, const Var<T>& output, std::size_t first, std::size_t count) {
  const Var<T> l = loss(output, first, count);
  if (!l.valid() || l.shape().numel() != 1)
    throw ValueError(fmt::format("per_sample_gradients: the loss must be one element (a mean over the samples), got "
                                 "shape {}",
                                 l.valid() ? l.shape().str() : std::string("(no variable)")));
  return l;
}

}  // namespace

template <class T>
PerSampleGradients<T> per_sample_gradients(Module<T>& model, const Tensor<T>& inputs, const SampleLoss<T>& loss) {
  if (!loss) throw ValueError("per_sample_gradients: the loss function is empty");
  if (inputs.shape().rank() == 0 || inputs.shape()[0] == 0)
    throw ValueError(fmt::format("per_sample_gradients: the batch is empty (shape {})", inputs.shape().str()));
  const auto named = model.named_parameters();
  if (named.empty()) throw ValueError("per_sample_gradients: the model has no parameters");
  bool dropout_training = false;
  for (const auto& [name, m] : model.named_modules()) {
    if (dynamic_cast<BatchNorm<T>*>(m) != nullptr && m->training())
      throw ValueError(fmt::format("per_sample_gradients: BatchNorm '{}' is in training mode, where it mixes the "
                                   "samples of a batch (no sample has a gradient of its own); call "
                                   "model.set_training(false)",
                                   name));
    dropout_training |= dynamic_cast<Dropout<T>*>(m) != nullptr && m->training();
  }
  const std::size_t batch = inputs.shape()[0];
  std::vector<Tensor<T>> saved;
  for (const auto& np : named) saved.push_back(np.second->grad());

  PerSampleGradients<T> out;
  std::vector<std::size_t> per_sample;  // parameters that need a pass per sample
  {
    Tape<T> tape;
    for (const auto& np : named) np.second->zero_grad();
    const Var<T> l = checked_loss(loss, model(tape, tape.constant(inputs)), 0, batch);
    l.backward();
    out.backward_passes = 1;
    for (std::size_t k = 0; k < named.size(); ++k) {
      const Parameter<T>& p = *named[k].second;
      out.names.push_back(named[k].first);
      std::vector<std::size_t> dims{batch};
      dims.insert(dims.end(), p.value.shape().begin(), p.value.shape().end());
      out.gradients.emplace_back(Tensor<T>::zeros(Shape(dims)));
      const std::vector<AffineUse> uses = affine_uses(tape, p, batch);
      if (uses.empty()) {
        per_sample.push_back(k);
        out.methods.emplace_back("a pass per sample");
        continue;
      }
      out.methods.emplace_back("outer products");
      // the loss is a mean: sample n's own gradient is batch times its row of the batch's
      Tensor<T>& g = out.gradients.back();
      const std::size_t size = p.value.size();
      for (const AffineUse& use : uses) {
        const NodeView<T> node = tape.view(use.node);
        const Tensor<T>& dy = *node.grad;
        const std::size_t cols = dy.size() / batch;
        const Tensor<T>& x = *tape.view(node.inputs[0]).value;
        const std::size_t in = x.size() / batch;
        for (std::size_t n = 0; n < batch; ++n) {
          T* target = g.data() + n * size;
          const T* dy_n = dy.data() + n * cols;
          if (!use.weight) {
            for (std::size_t j = 0; j < cols; ++j) target[j] += static_cast<T>(batch) * dy_n[j];
            continue;
          }
          const T* x_n = x.data() + n * in;
          for (std::size_t i = 0; i < in; ++i)
            for (std::size_t j = 0; j < cols; ++j) target[i * cols + j] += static_cast<T>(batch) * x_n[i] * dy_n[j];
        }
      }
    }
  }
  if (!per_sample.empty()) {
    if (dropout_training)
      throw ValueError("per_sample_gradients: Dropout is in training mode, and some parameters need a pass per "
                       "sample, whose masks would differ from the batch's; call model.set_training(false)");
    for (std::size_t n = 0; n < batch; ++n) {
      Tape<T> tape;
      for (const auto& np : named) np.second->zero_grad();
      checked_loss(loss, model(tape, tape.constant(rows_of(inputs, n, 1))), n, 1).backward();
      for (std::size_t k : per_sample) {
        const Tensor<T>& g = named[k].second->grad();
        std::copy(g.begin(), g.end(), out.gradients[k].begin() + static_cast<std::ptrdiff_t>(n * g.size()));
      }
    }
    out.backward_passes += batch;
  }
  for (std::size_t k = 0; k < named.size(); ++k) named[k].second->grad() = saved[k];
  return out;
}

template PerSampleGradients<float> per_sample_gradients(Module<float>&, const Tensor<float>&, const SampleLoss<float>&);
template PerSampleGradients<double> per_sample_gradients(Module<double>&, const Tensor<double>&,
                                                         const SampleLoss<double>&);

}  // namespace tapegrad
