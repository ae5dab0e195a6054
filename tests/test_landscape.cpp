// Loss landscapes: filter-normalised directions, the loss along them, and the plane of trajectories (PCA).
#include <cmath>

#include "helpers.hpp"

using T = tg::Tensor<double>;

namespace {
// Features and labels as a Dataset (floats), and the same features as a double tensor.
tg::Dataset blobs(std::size_t rows, tg::Rng& rng) {
  tg::Dataset d;
  d.name = "blobs";
  d.rows = rows, d.features = 3, d.classes = 3;
  for (std::size_t i = 0; i < rows; ++i) {
    d.labels.push_back(i % 3);
    for (std::size_t j = 0; j < 3; ++j) d.values.push_back(float(rng.normal() + (j == i % 3 ? 2.0 : 0.0)));
  }
  return d;
}
double loss_of(tg::Module<double>& net, const tg::Dataset& d) {
  T x(tg::Shape{d.rows, d.features});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(d.values[i]);
  tg::Tape<double> tape;
  return tg::softmax_cross_entropy(net(tape, tape.constant(x)), d.labels).item();
}
}  // namespace

TEST_CASE("filter_normalized_direction: each filter has its weights' norm, biases get zeros") {
  tg::Rng rng(3);
  auto net = tg::make_mlp<double>({{3, 5, 4}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  tg::Conv2D<double> conv(2, 4, 3, tg::Init::he(), rng);
  std::vector<tg::Parameter<double>*> params = net->parameters();
  for (tg::Parameter<double>* p : conv.parameters()) params.push_back(p);
  const tg::ParameterVector<double> d = tg::filter_normalized_direction(params, rng);
  REQUIRE(d.size() == params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    CAPTURE(params[i]->name);
    const T& w = params[i]->value;
    CHECK(d[i].shape() == w.shape());
    if (w.rank() == 1) {
      for (double e : d[i]) CHECK(e == 0);
      continue;
    }
    // a Linear's filters are its columns (in, out); a convolution's its output channels (out, in, kh, kw)
    const bool columns = w.rank() == 2;
    const std::size_t filters = columns ? w.shape()[1] : w.shape()[0], size = w.size() / filters;
    for (std::size_t k = 0; k < filters; ++k) {
      double dn = 0, wn = 0;
      for (std::size_t e = 0; e < size; ++e) {
        const std::size_t at = columns ? e * filters + k : k * size + e;
        dn += d[i][at] * d[i][at], wn += w[at] * w[at];
      }
      CHECK(std::sqrt(dn) == doctest::Approx(std::sqrt(wn)).epsilon(1e-12));
    }
  }
  std::vector<tg::Parameter<double>*> only_biases{params[1], params[3]};
  CHECK(testing::message_of<tg::ValueError>([&] { tg::filter_normalized_direction(only_biases, rng); })
            .rfind("filter_normalized_direction: no parameter has rank two or more", 0) == 0);
}

TEST_CASE("loss_at: the loss at center + a d1 + b d2 is the model's loss there, and the model comes back as it was") {
  tg::Rng rng(4);
  auto net = tg::make_mlp<double>({{3, 6, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  const tg::Dataset data = blobs(30, rng);
  const auto params = net->parameters();
  const tg::ParameterVector<double> center = tg::parameter_values(params);
  const auto d1 = tg::filter_normalized_direction(params, rng), d2 = tg::filter_normalized_direction(params, rng);
  const double at_center = loss_of(*net, data);
  const auto points = tg::loss_at(*net, data, center, d1, d2, {{0, 0, 0, 0}, {0.3, -0.2, 0, 0}});
  CHECK(points[0].loss == doctest::Approx(at_center).epsilon(1e-12));
  // the second point, by hand
  for (std::size_t i = 0; i < params.size(); ++i)
    for (std::size_t j = 0; j < params[i]->value.size(); ++j)
      params[i]->value[j] = center[i][j] + 0.3 * d1[i][j] - 0.2 * d2[i][j];
  CHECK(points[1].loss == doctest::Approx(loss_of(*net, data)).epsilon(1e-12));
  CHECK(points[1].loss != doctest::Approx(at_center));
  CHECK(points[1].accuracy >= 0);
  CHECK(points[1].accuracy <= 1);
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = center[i];
  // loss_at itself leaves the parameters and the mode as they were
  tg::loss_at(*net, data, center, d1, {}, {{0.5, 0, 0, 0}});
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(params[i]->value == center[i]);
  CHECK(net->training());
  const tg::ParameterVector<double> short_direction(d1.begin(), d1.end() - 1);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_at(*net, data, center, short_direction, {}, {}); })
            .rfind("loss_at: the first direction: 3 tensors for a model of 4 parameters", 0) == 0);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_at(*net, data.head(0), center, d1, {}, {}); }) ==
        "loss_at: the data set is empty");
}

TEST_CASE("trajectory_plane: points in a plane are found in it, with their distances, and degenerate sets refused") {
  tg::Rng rng(5);
  const tg::ParameterVector<double> center{T::randn({4, 3}, rng), T::randn({3}, rng)};
  // two orthonormal directions u, v in the 15-dimensional space
  tg::ParameterVector<double> u{T::zeros({4, 3}), T::zeros({3})}, v = u;
  u[0][2] = 0.6, u[1][1] = 0.8;
  v[0][7] = 1;
  const std::vector<std::pair<double, double>> first{{3, 1}, {2, 0.5}, {1, 0.2}, {0, 0}},
      second{{-1, 2}, {-0.5, 1.5}, {0, 0.5}};
  std::vector<std::vector<tg::ParameterVector<double>>> paths(2);
  for (std::size_t t = 0; t < 2; ++t)
    for (const auto& [a, b] : t == 0 ? first : second) {
      tg::ParameterVector<double> p = center;
      for (std::size_t i = 0; i < p.size(); ++i)
        for (std::size_t j = 0; j < p[i].size(); ++j) p[i][j] += a * u[i][j] + b * v[i][j];
      paths[t].push_back(p);
    }
  const tg::TrajectoryPlane<double> plane = tg::trajectory_plane(paths, center);
  CHECK(plane.explained == doctest::Approx(1).epsilon(1e-12));
  REQUIRE(plane.paths.size() == 2);
  CHECK(plane.paths[0].size() == 4);
  CHECK(plane.paths[1].size() == 3);
  // the plane's coordinates are the points' own up to a rotation: every distance between two points is kept
  std::vector<std::pair<double, double>> given = first, found = plane.paths[0];
  given.insert(given.end(), second.begin(), second.end());
  found.insert(found.end(), plane.paths[1].begin(), plane.paths[1].end());
  for (std::size_t i = 0; i < given.size(); ++i)
    for (std::size_t k = 0; k < given.size(); ++k)
      CHECK(std::hypot(found[i].first - found[k].first, found[i].second - found[k].second) ==
            doctest::Approx(std::hypot(given[i].first - given[k].first, given[i].second - given[k].second))
                .epsilon(1e-9));
  double d1_d2 = 0, d1_d1 = 0;  // orthonormal directions
  for (std::size_t i = 0; i < plane.d1.size(); ++i)
    for (std::size_t j = 0; j < plane.d1[i].size(); ++j)
      d1_d2 += plane.d1[i][j] * plane.d2[i][j], d1_d1 += plane.d1[i][j] * plane.d1[i][j];
  CHECK(std::abs(d1_d2) < 1e-12);
  CHECK(d1_d1 == doctest::Approx(1).epsilon(1e-12));

  const std::vector<std::vector<tg::ParameterVector<double>>> one{{paths[0][0]}};
  CHECK(testing::message_of<tg::ValueError>([&] { tg::trajectory_plane(one, center); }) ==
        "trajectory_plane: 1 points; the plane needs at least two");
  const std::vector<std::vector<tg::ParameterVector<double>>> on_a_line{{paths[0][0], paths[0][0]}};
  CHECK(testing::message_of<tg::ValueError>([&] { tg::trajectory_plane(on_a_line, center); }) ==
        "trajectory_plane: the points' differences from the center span fewer than two directions");
}
