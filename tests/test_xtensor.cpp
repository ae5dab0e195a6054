// tapegrad/xtensor.hpp: a Tensor seen as an xtensor expression without copying, and back from any expression.
#include <xtensor/xarray.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "helpers.hpp"
#include "tapegrad/xtensor.hpp"

TEST_CASE("xtensor interop: a view of a Tensor shares its buffer, both ways") {
  tg::Tensor<double> t{{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  auto v = tg::as_xtensor(t);
  CHECK(v.dimension() == 2);
  CHECK(v(1, 2) == 6.0);
  CHECK(&v(0, 0) == t.data());  // no copy
  v(0, 1) = 20.0;
  CHECK(t(0, 1) == 20.0);
  const xt::xarray<double> column_sums = xt::sum(v, {0});
  CHECK(column_sums(1) == 25.0);
  const tg::Tensor<double>& ct = t;
  CHECK(xt::amax(tg::as_xtensor(ct))() == 20.0);
}

TEST_CASE("xtensor interop: a Tensor from an expression, with its shape, in either precision") {
  const xt::xarray<double> a = xt::arange<double>(6.0);
  const tg::Tensor<double> t = tg::from_xtensor(xt::reshape_view(a, {2, 3}) * 2.0 + 1.0);
  CHECK(t.shape() == tg::Shape{2, 3});
  CHECK(t == tg::Tensor<double>{{1.0, 3.0, 5.0}, {7.0, 9.0, 11.0}});
  const tg::Tensor<float> f = tg::from_xtensor<float>(xt::arange<int>(4));
  CHECK(f == tg::Tensor<float>{0.0f, 1.0f, 2.0f, 3.0f});
  // into a tape and back out
  tg::Tape<double> tape;
  const tg::Var<double> x = tape.variable(t);
  tg::sum(x * x).backward();
  CHECK(xt::allclose(tg::as_xtensor(x.grad()), 2.0 * tg::as_xtensor(t)));
}
