#pragma once
// Loss landscapes (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets"): the loss along random
// filter-normalised directions around a point in parameter space, and the plane of a set of trajectories' main
// directions (PCA) with the trajectories projected onto it.
#include <cstddef>
#include <vector>

#include "tapegrad/data/dataset.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/tensor/random.hpp"

namespace tapegrad {

/// A point or a direction in parameter space: one tensor per parameter, in the order of Module::parameters().
template <class T>
using ParameterVector = std::vector<Tensor<T>>;

/// The parameters' values, in order.
template <class T>
ParameterVector<T> parameter_values(const std::vector<Parameter<T>*>& params);

/// A Gaussian direction, filter-normalised: each filter of a weight (the weights into one output unit: a column of a
/// Linear's (in, out) W, an output channel of a convolution's (out, in, kh, kw) filters) is scaled to the norm of the
/// same filter of the weight, so that a step means as much in every layer whatever its scale. Parameters of rank one
/// (biases, BatchNorm's scale and shift) get zeros, as the authors' default does. ValueError when no parameter has
/// rank two or more (there would be nothing to vary).
template <class T>
ParameterVector<T> filter_normalized_direction(const std::vector<Parameter<T>*>& params, Rng& rng);

struct LandscapePoint {
  double alpha = 0, beta = 0;  // the coordinates along the first and second direction
  double loss = 0, accuracy = 0;
};

/// The mean softmax cross-entropy and the accuracy on `data` at center + alpha d1 (+ beta d2) for each of the
/// points, the model in evaluation mode; the parameters and the mode are put back afterwards. d2 may be empty (a
/// 1-D slice). ValueError for empty data or vectors whose shapes are not the parameters'.
template <class T>
std::vector<LandscapePoint> loss_at(Module<T>& model, const Dataset& data, const ParameterVector<T>& center,
                                    const ParameterVector<T>& d1, const ParameterVector<T>& d2,
                                    std::vector<LandscapePoint> points);

/// The plane of a set of trajectories' main directions: the two leading principal directions of the points'
/// differences from `center` (the eigenvectors of their Gram matrix, mapped back to parameter space), orthonormal,
/// and every point's coordinates on them.
template <class T>
struct TrajectoryPlane {
  ParameterVector<T> d1, d2;
  std::vector<std::vector<std::pair<double, double>>> paths;  // per trajectory, per point: (alpha, beta)
  double explained = 0;  // the share of the differences' squared length that the two directions hold
};

/// ValueError for fewer than two points in all, points whose shapes differ from center's, or differences that
/// span fewer than two directions.
template <class T>
TrajectoryPlane<T> trajectory_plane(const std::vector<std::vector<ParameterVector<T>>>& trajectories,
                                    const ParameterVector<T>& center);

}  // namespace tapegrad
