#include "tapegrad/train/landscape.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/calculus/curvature.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/tensor/error.hpp"
#include "train/evaluation_mode.hpp"

namespace tapegrad {

namespace {
template <class T>
void check_shapes(const char* what, const std::vector<Parameter<T>*>& params, const ParameterVector<T>& v) {
  if (v.size() != params.size())
    throw ValueError(fmt::format("{}: {} tensors for a model of {} parameters", what, v.size(), params.size()));
  for (std::size_t i = 0; i < v.size(); ++i)
    if (v[i].shape() != params[i]->value.shape())
      throw ValueError(fmt::format("{}: tensor {} has shape {}, parameter '{}' {}", what, i, v[i].shape().str(),
                                   params[i]->name, params[i]->value.shape().str()));
}

template <class T>
double dot(const ParameterVector<T>& a, const ParameterVector<T>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < a[i].size(); ++j) sum += double(a[i][j]) * double(b[i][j]);
  return sum;
}
}  // namespace

template <class T>
ParameterVector<T> parameter_values(const std::vector<Parameter<T>*>& params) {
  ParameterVector<T> out;
  for (const Parameter<T>* p : params) out.push_back(p->value);
  return out;
}

template <class T>
ParameterVector<T> filter_normalized_direction(const std::vector<Parameter<T>*>& params, Rng& rng) {
  ParameterVector<T> d;
  bool any = false;
  for (const Parameter<T>* p : params) {
    const Tensor<T>& w = p->value;
    Tensor<T> r = Tensor<T>::zeros(w.shape());
    if (w.rank() >= 2) {
      any = true;
      r = Tensor<T>::randn(w.shape(), rng);
      // filter k's elements: a Linear (in, out) keeps its filters in columns, a convolution (out, ...) in rows
      const bool columns = w.rank() == 2;
      const std::size_t filters = columns ? w.shape()[1] : w.shape()[0], size = w.size() / filters;
      for (std::size_t k = 0; k < filters; ++k) {
        const auto at = [&](std::size_t e) { return columns ? e * filters + k : k * size + e; };
        double direction = 0, weight = 0;
        for (std::size_t e = 0; e < size; ++e)
          direction += double(r[at(e)]) * double(r[at(e)]), weight += double(w[at(e)]) * double(w[at(e)]);
        const double scale = direction > 0 ? std::sqrt(weight / direction) : 0;
        for (std::size_t e = 0; e < size; ++e) r[at(e)] = static_cast<T>(double(r[at(e)]) * scale);
      }
    }
    d.push_back(std::move(r));
  }
  if (!any)
    throw ValueError("filter_normalized_direction: no parameter has rank two or more (weights), so there is no "
                     "filter to vary; biases and BatchNorm's parameters are held still");
  return d;
}

template <class T>
std::vector<LandscapePoint> loss_at(Module<T>& model, const Dataset& data, const ParameterVector<T>& center,
                                    const ParameterVector<T>& d1, const ParameterVector<T>& d2,
                                    std::vector<LandscapePoint> points) {
  if (data.rows == 0) throw ValueError("loss_at: the data set is empty");
  const std::vector<Parameter<T>*> params = model.parameters();
  check_shapes("loss_at: center", params, center);
  check_shapes("loss_at: the first direction", params, d1);
  if (!d2.empty()) check_shapes("loss_at: the second direction", params, d2);
  data.validate();
  // the model's own values and mode come back whatever happens
  struct Restore {
    std::vector<Parameter<T>*> params;
    ParameterVector<T> values;
    ~Restore() {
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = values[i];
    }
  } restore{params, parameter_values(params)};
  const detail::EvaluationMode<T> evaluation(model);
  NoGradGuard no_grad;
  std::vector<std::size_t> order(data.rows), labels;
  std::iota(order.begin(), order.end(), std::size_t{0});
  Tensor<T> x;
  Tape<T> tape;
  const std::size_t batch = 1000;
  for (LandscapePoint& point : points) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      Tensor<T>& p = params[i]->value;
      for (std::size_t j = 0; j < p.size(); ++j)
        p[j] = static_cast<T>(double(center[i][j]) + point.alpha * double(d1[i][j]) +
                              (d2.empty() ? 0.0 : point.beta * double(d2[i][j])));
    }
    double loss = 0;
    std::size_t correct = 0;
    for (std::size_t start = 0; start < data.rows; start += batch) {
      const std::size_t count = std::min(batch, data.rows - start);
      data.gather(order.data() + start, count, x, labels);
      tape.clear();
      const Var<T> logits = model.forward(tape, tape.constant_ref(x));
      loss += softmax_cross_entropy(logits, labels).item() * double(count);
      const Tensor<T>& scores = logits.value();
      const std::size_t classes = scores.shape()[1];
      for (std::size_t r = 0; r < count; ++r) {
        const T* row = scores.data() + r * classes;
        correct += std::size_t(std::max_element(row, row + classes) - row) == labels[r];
      }
    }
    point.loss = loss / double(data.rows);
    point.accuracy = double(correct) / double(data.rows);
  }
  return points;
}

template <class T>
TrajectoryPlane<T> trajectory_plane(const std::vector<std::vector<ParameterVector<T>>>& trajectories,
                                    const ParameterVector<T>& center) {
  std::vector<ParameterVector<T>> differences;
  for (const auto& trajectory : trajectories)
    for (const ParameterVector<T>& point : trajectory) {
      if (point.size() != center.size())
        throw ValueError(fmt::format("trajectory_plane: a point of {} tensors, the center has {}", point.size(),
                                     center.size()));
      ParameterVector<T> d = point;
      for (std::size_t i = 0; i < d.size(); ++i) {
        if (d[i].shape() != center[i].shape())
          throw ValueError(fmt::format("trajectory_plane: tensor {} has shape {}, the center's {}", i,
                                       d[i].shape().str(), center[i].shape().str()));
        for (std::size_t j = 0; j < d[i].size(); ++j) d[i][j] -= center[i][j];
      }
      differences.push_back(std::move(d));
    }
  const std::size_t m = differences.size();
  if (m < 2) throw ValueError(fmt::format("trajectory_plane: {} points; the plane needs at least two", m));
  // the Gram matrix of the differences: its leading eigenvectors u give the principal directions D^T u / sqrt(l)
  std::vector<double> gram(m * m);
  double total = 0;
  for (std::size_t a = 0; a < m; ++a)
    for (std::size_t b = 0; b <= a; ++b) gram[a * m + b] = gram[b * m + a] = dot(differences[a], differences[b]);
  for (std::size_t a = 0; a < m; ++a) total += gram[a * m + a];
  const SymmetricEigen eigen = symmetric_eigen(gram, m);
  const double l1 = eigen.values[m - 1], l2 = eigen.values[m - 2];
  if (!(l2 > 1e-12 * l1) || !(l1 > 0))
    throw ValueError("trajectory_plane: the points' differences from the center span fewer than two directions");
  TrajectoryPlane<T> plane;
  for (const std::size_t which : {m - 1, m - 2}) {
    ParameterVector<T> d;
    for (const Tensor<T>& t : center) d.push_back(Tensor<T>::zeros(t.shape()));
    for (std::size_t a = 0; a < m; ++a) {
      const double u = eigen.vectors[a * m + which] / std::sqrt(eigen.values[which]);
      for (std::size_t i = 0; i < d.size(); ++i)
        for (std::size_t j = 0; j < d[i].size(); ++j) d[i][j] += static_cast<T>(u * double(differences[a][i][j]));
    }
    (which == m - 1 ? plane.d1 : plane.d2) = std::move(d);
  }
  plane.explained = total > 0 ? (l1 + l2) / total : 0;
  std::size_t k = 0;
  for (const auto& trajectory : trajectories) {
    plane.paths.emplace_back();
    for (std::size_t p = 0; p < trajectory.size(); ++p, ++k)
      plane.paths.back().emplace_back(dot(differences[k], plane.d1), dot(differences[k], plane.d2));
  }
  return plane;
}

#define TAPEGRAD_INSTANTIATE_LANDSCAPE(T)                                                                            \
  template ParameterVector<T> parameter_values(const std::vector<Parameter<T>*>&);                                   \
  template ParameterVector<T> filter_normalized_direction(const std::vector<Parameter<T>*>&, Rng&);                  \
  template std::vector<LandscapePoint> loss_at(Module<T>&, const Dataset&, const ParameterVector<T>&,                \
                                               const ParameterVector<T>&, const ParameterVector<T>&,                \
                                               std::vector<LandscapePoint>);                                         \
  template TrajectoryPlane<T> trajectory_plane(const std::vector<std::vector<ParameterVector<T>>>&,                   \
                                               const ParameterVector<T>&);
TAPEGRAD_INSTANTIATE_LANDSCAPE(float)
TAPEGRAD_INSTANTIATE_LANDSCAPE(double)

}  // namespace tapegrad
