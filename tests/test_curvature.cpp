// Curvature from Hessian-vector products: Lanczos's top eigenvalues and Hutchinson's trace, against exact Hessians.
#include <cmath>

#include "helpers.hpp"

using testing::kink_free;
using T = tg::Tensor<double>;
using V = tg::Var<double>;

namespace {

// f(x, y) on one (2,) parameter.
tg::Parameter<double> point(double x, double y) { return tg::Parameter<double>("p", T({2}, {x, y})); }
V element(const V& p, std::size_t k) { return tg::pick(tg::reshape(p, {1, 2}), {k}); }

// The full Hessian of f over `params`, column by column, as a dense row-major matrix.
std::vector<double> dense_hessian(const std::function<V(tg::Tape<double>&)>& f,
                                  std::vector<tg::Parameter<double>*> params, std::size_t& n) {
  n = 0;
  for (auto* p : params) n += p->value.size();
  std::vector<double> h(n * n);
  for (std::size_t j = 0; j < n; ++j) {
    std::vector<T> e;
    std::size_t at = 0;
    for (auto* p : params) {
      T t = T::zeros(p->value.shape());
      for (std::size_t i = 0; i < t.size(); ++i, ++at) t[i] = at == j ? 1.0 : 0.0;
      e.push_back(t);
    }
    const std::vector<T> column = tg::hessian_vector_product<double>(f, params, e);
    std::size_t row = 0;
    for (const T& c : column)
      for (double v : c) h[(row++) * n + j] = v;
  }
  return h;
}

}  // namespace

TEST_CASE("symmetric_eigen: known spectra, orthonormal vectors, and a non-symmetric matrix refused") {
  const tg::SymmetricEigen e = tg::symmetric_eigen({802, -400, -400, 200}, 2);
  const double disc = std::sqrt(602.0 * 602.0 + 4 * 400.0 * 400.0);
  CHECK(e.values[0] == doctest::Approx((1002 - disc) / 2).epsilon(1e-13));
  CHECK(e.values[1] == doctest::Approx((1002 + disc) / 2).epsilon(1e-13));
  CHECK(std::abs(e.vectors[0] * e.vectors[1] + e.vectors[2] * e.vectors[3]) < 1e-14);  // columns orthogonal
  const tg::SymmetricEigen d = tg::symmetric_eigen({3, 0, 0, 0, -1, 0, 0, 0, 2}, 3);
  CHECK(d.values == std::vector<double>{-1, 2, 3});
  CHECK_THROWS_WITH_AS(tg::symmetric_eigen({1, 2, 3, 4}, 2),
                       "symmetric_eigen: the matrix is not symmetric at (1, 0): 3 against 2", tg::ValueError);
  CHECK_THROWS_AS(tg::symmetric_eigen({1, 2, 3}, 2), tg::ValueError);
}

TEST_CASE("top eigenvalues and trace of the book's bowl and of Rosenbrock's function at (1, 1), exactly") {
  tg::Parameter<double> bowl_at = point(-7, 2);
  tg::HessianOperator<double> bowl(
      [&](tg::Tape<double>& tape) {
        const V p = tape.parameter(bowl_at);
        return tg::sum(tg::pow(element(p, 0), 2.0) / 20.0 + tg::pow(element(p, 1), 2.0));
      },
      {&bowl_at});
  CHECK(bowl.loss() == doctest::Approx(49.0 / 20 + 4));
  tg::CurvatureOptions two;
  two.k = 2;
  const tg::Eigenpairs<double> b = tg::top_eigenvalues(bowl, two);
  REQUIRE(b.values.size() == 2);
  CHECK(b.values[0] == doctest::Approx(2).epsilon(1e-14));
  CHECK(b.values[1] == doctest::Approx(0.1).epsilon(1e-13));
  CHECK(b.converged);
  CHECK(b.products == 2);  // the dimension: Lanczos is exact there
  CHECK(std::abs(std::abs(b.vectors[0][0][1]) - 1) < 1e-14);  // the steep direction is y
  const tg::TraceEstimate bt = tg::hessian_trace(bowl, 10);
  CHECK(bt.trace == doctest::Approx(2.1).epsilon(1e-14));  // diagonal H: each +-1 sample is exact
  CHECK(bt.std_error < 1e-13);
  CHECK(bt.products == 10);

  tg::Parameter<double> at = point(1, 1);
  tg::HessianOperator<double> rosenbrock(
      [&](tg::Tape<double>& tape) {
        const V p = tape.parameter(at), x = element(p, 0), y = element(p, 1);
        return tg::sum(tg::pow(1.0 - x, 2.0) + 100.0 * tg::pow(y - tg::pow(x, 2.0), 2.0));
      },
      {&at});
  const tg::Eigenpairs<double> r = tg::top_eigenvalues(rosenbrock, two);
  const double disc = std::sqrt(602.0 * 602.0 + 4 * 400.0 * 400.0);
  CHECK(r.values[0] == doctest::Approx((1002 + disc) / 2).epsilon(1e-13));
  CHECK(r.values[1] == doctest::Approx((1002 - disc) / 2).epsilon(1e-10));
  // Hutchinson on a non-diagonal H: unbiased, and within a few standard errors of 1002
  const tg::TraceEstimate rt = tg::hessian_trace(rosenbrock, 400, 3);
  CHECK(rt.std_error > 10);
  CHECK(std::abs(rt.trace - 1002) < 4 * rt.std_error);
  CHECK(rosenbrock.products() == 2 + 400);
}

TEST_CASE("a small MLP's loss: Lanczos's top 3 equal the dense Hessian's eigenvalues, with their residuals") {
  tg::Rng rng(4);
  auto net = tg::make_mlp<double>({{3, 5, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  const T x = kink_free({8, 3}, rng);
  const std::vector<std::size_t> labels{0, 1, 2, 0, 1, 2, 2, 1};
  const auto loss = [&](tg::Tape<double>& tape) {
    return tg::softmax_cross_entropy((*net)(tape, tape.constant(x)), labels);
  };
  std::size_t n = 0;
  const std::vector<double> dense = dense_hessian(loss, net->parameters(), n);
  REQUIRE(n == 38);
  const tg::SymmetricEigen exact = tg::symmetric_eigen(dense, n);
  tg::HessianOperator<double> h(loss, net->parameters());
  tg::CurvatureOptions three;
  three.k = 3;
  three.tolerance = 1e-10;
  const tg::Eigenpairs<double> top = tg::top_eigenvalues(h, three);
  CHECK(top.converged);
  CHECK(top.products <= 38);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(top.values[i] == doctest::Approx(exact.values[n - 1 - i]).epsilon(1e-9));
    CHECK(top.residuals[i] <= 1e-10 * std::max(1.0, std::abs(top.values[i])));
    // H x = l x for the returned vector, checked with an independent product
    const std::vector<T> hx = tg::hessian_vector_product<double>(loss, net->parameters(), top.vectors[i]);
    for (std::size_t k = 0; k < hx.size(); ++k)
      for (std::size_t e = 0; e < hx[k].size(); ++e)
        CHECK(std::abs(hx[k][e] - top.values[i] * top.vectors[i][k][e]) < 1e-8);
  }
  double trace = 0;
  for (std::size_t i = 0; i < n; ++i) trace += dense[i * n + i];
  const tg::TraceEstimate t = tg::hessian_trace(h, 300, 5);
  CHECK(std::abs(t.trace - trace) < 4 * t.std_error + 1e-12);
}

TEST_CASE("the operator records once: a hundred products add no node to its tape, and misuse is refused") {
  tg::Parameter<double> p("w", T({3}, {0.2, -0.5, 0.9}));
  const auto f = [&](tg::Tape<double>& tape) { return tg::sum(tg::tanh(tape.parameter(p)) * 3.0); };
  tg::HessianOperator<double> h(f, {&p});
  const T v({3}, {1, 0, 0});
  const std::vector<T> first = h({v});
  const double hii = -2 * 3 * std::tanh(0.2) * (1 - std::tanh(0.2) * std::tanh(0.2));
  CHECK(first[0][0] == doctest::Approx(hii).epsilon(1e-14));
  CHECK(first[0][1] == 0);
  const std::size_t nodes = h.tape_size();
  for (int i = 0; i < 100; ++i) h({v});
  CHECK(h.tape_size() == nodes);  // nothing recorded again, nothing piles up
  CHECK(h({v})[0] == first[0]);
  CHECK(h.products() == 102);
  CHECK(h.dimension() == 3);
  CHECK_THROWS_WITH_AS(h({T({2}, {1, 0})}), "HessianOperator: v[0] has shape (2,) but parameter 'w' has shape (3,)",
                       tg::ShapeError);
  CHECK_THROWS_AS(h({v, v}), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::HessianOperator<double>([&](tg::Tape<double>& tape) { return tg::tanh(tape.parameter(p)); },
                                                   {&p}),
                       "HessianOperator: f must return one element (a scalar loss), got shape (3,)", tg::ValueError);
  tg::Parameter<double> unused("u", T({1}, {1.0}));
  CHECK_THROWS_WITH_AS(tg::HessianOperator<double>(f, {&unused}),
                       "HessianOperator: the function read none of the parameters (through tape.parameter)",
                       tg::ValueError);
  CHECK_THROWS_AS(tg::HessianOperator<double>(f, {}), tg::ValueError);
  tg::CurvatureOptions bad;
  bad.k = 4;
  CHECK_THROWS_WITH_AS(tg::top_eigenvalues(h, bad), "top_eigenvalues: k must be between 1 and the dimension 3, got 4",
                       tg::ValueError);
  CHECK_THROWS_AS(tg::hessian_trace(h, 1), tg::ValueError);
  // a loss linear in the parameters: H = 0, every eigenvalue 0
  tg::HessianOperator<double> linear([&](tg::Tape<double>& tape) { return tg::sum(tape.parameter(p) * 2.0); }, {&p});
  CHECK(linear({v})[0] == T::zeros({3}));
  CHECK(tg::top_eigenvalues(linear).values[0] == 0);
}

TEST_CASE("loss_sharpness: a classifier's top Hessian eigenvalue over a data set equals the dense Hessian's") {
  tg::Rng rng(6);
  auto net = tg::make_mlp<double>({{2, 6, 3}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  const tg::Dataset spiral = tg::make_spiral(4, 3, 2);  // 12 points, 2 features, 3 classes
  T x(tg::Shape{spiral.rows, 2});
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = double(spiral.values[i]);
  const auto loss = [&](tg::Tape<double>& tape) {
    return tg::softmax_cross_entropy((*net)(tape, tape.constant(x)), spiral.labels);
  };
  std::size_t n = 0;
  const std::vector<double> dense = dense_hessian(loss, net->parameters(), n);
  REQUIRE(n == 39);
  const tg::SymmetricEigen exact = tg::symmetric_eigen(dense, n);
  tg::CurvatureOptions two;
  two.k = 2;
  two.tolerance = 1e-10;
  const tg::Eigenpairs<double> top = tg::loss_sharpness(*net, spiral, two);
  CHECK(top.converged);
  CHECK(top.values[0] == doctest::Approx(exact.values[n - 1]).epsilon(1e-9));
  CHECK(top.values[1] == doctest::Approx(exact.values[n - 2]).epsilon(1e-9));
  CHECK(net->training());  // measured in evaluation mode, handed back in training mode

  tg::CurvatureOptions too_many;
  too_many.k = 40;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_sharpness(*net, spiral, too_many); }).find("40") !=
        std::string::npos);
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_sharpness(*net, spiral.head(0), two); }) ==
        "loss_sharpness: the data set is empty");
  tg::Sequential<double> empty;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_sharpness(empty, spiral, two); })
            .rfind("loss_sharpness: the model (", 0) == 0);
  tg::Dataset holed = spiral;
  holed.values[3] = std::nanf("");
  CHECK(testing::message_of<tg::ValueError>([&] { tg::loss_sharpness(*net, holed, two); }).find("row 1") !=
        std::string::npos);
}
