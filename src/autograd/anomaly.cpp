#include "autograd/anomaly.hpp"

#include <cmath>

#include <fmt/format.h>

#include "autograd/node.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {
namespace {

// Index of the first NaN or infinity, or size() if all are finite.
template <class T>
std::size_t first_non_finite(const Tensor<T>& t) {
  for (std::size_t i = 0; i < t.size(); ++i)
    if (!std::isfinite(t[i])) return i;
  return t.size();
}

template <class T>
std::string describe_element(const Tensor<T>& t, std::size_t at) {
  return fmt::format("{} at element ({})", t[at], fmt::join(unravel_index(at, t.shape()), ", "));
}

template <class T>
std::string input_shapes(const Tape<T>& tape, const Node<T>& n) {
  std::vector<std::string> shapes;
  for (std::size_t k = 0; k < n.inputs.size(); ++k) shapes.push_back(tape.value(n.inputs[k]).shape().str());
  return shapes.empty() ? "no inputs" : fmt::format("inputs of shape {}", fmt::join(shapes, " and "));
}

}  // namespace

template <class T>
void check_value(const Tape<T>& tape, std::uint32_t index) {
  const Node<T>& n = tape.node(index);
  const Tensor<T>& value = tape.value(index);
  const std::size_t at = first_non_finite(value);
  if (at == value.size()) return;
  throw NumericError(fmt::format("anomaly: {} (tape position {}) produced {}, from {}", n.name, index,
                                 describe_element(value, at), input_shapes(tape, n)));
}

template <class T>
void check_input_gradients(Tape<T>& tape, std::uint32_t index) {
  const Node<T>& n = tape.node(index);
  for (std::size_t k = 0; k < n.inputs.size(); ++k) {
    if (!tape.requires_grad(n.inputs[k])) continue;
    const Tensor<T>& g = tape.grad(n.inputs[k]);
    const std::size_t at = first_non_finite(g);
    if (at != g.size())
      throw NumericError(fmt::format("anomaly: backward of {} (tape position {}) produced {} in the gradient of its "
                                     "input {} (shape {}); the op had {}",
                                     n.name, index, describe_element(g, at), k, g.shape().str(), input_shapes(tape, n)));
  }
}

template void check_value(const Tape<float>&, std::uint32_t);
template void check_value(const Tape<double>&, std::uint32_t);
template void check_input_gradients(Tape<float>&, std::uint32_t);
template void check_input_gradients(Tape<double>&, std::uint32_t);

}  // namespace tapegrad::detail
