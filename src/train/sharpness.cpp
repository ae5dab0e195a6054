#include "tapegrad/train/sharpness.hpp"

#include <numeric>

#include <fmt/format.h>

#include "tapegrad/ops/loss.hpp"
#include "tapegrad/tensor/error.hpp"
#include "train/evaluation_mode.hpp"

namespace tapegrad {

template <class T>
Eigenpairs<T> loss_sharpness(Module<T>& model, const Dataset& data, const CurvatureOptions& options) {
  if (data.rows == 0) throw ValueError("loss_sharpness: the data set is empty");
  data.validate();
  const std::vector<Parameter<T>*> params = model.parameters();
  if (params.empty())
    throw ValueError(fmt::format("loss_sharpness: the model ({}) has no parameters", model.describe()));
  std::vector<std::size_t> rows(data.rows);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  Tensor<T> x;
  std::vector<std::size_t> labels;
  data.gather(rows.data(), rows.size(), x, labels);
  const detail::EvaluationMode<T> evaluation(model);  // the caller's mode afterwards, whatever happens
  HessianOperator<T> hessian(
      [&](Tape<T>& tape) { return softmax_cross_entropy(model.forward(tape, tape.constant(x)), labels); }, params);
  return top_eigenvalues(hessian, options);
}

template Eigenpairs<float> loss_sharpness(Module<float>&, const Dataset&, const CurvatureOptions&);
template Eigenpairs<double> loss_sharpness(Module<double>&, const Dataset&, const CurvatureOptions&);

}  // namespace tapegrad
