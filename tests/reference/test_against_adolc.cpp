// jacobian() and hessian() against ADOL-C (Debian's libadolc-dev), an operator-overloading AD tool with its own
// tape, on random functions R^6 -> R^6 and their scalar projections, to 1e-12.
#include <adolc/adolc.h>
#include <doctest/doctest.h>

#include <cmath>

#include "tapegrad/tapegrad.hpp"

namespace tg = tapegrad;
using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {

constexpr int n = 6;

enum class Kind { Tanh, Sigmoid, ExpOfTanh, Square, Cube, Mul, Add, DivBySquarePlusOne, Matmul, Softmax, PlusSum };
constexpr int kinds = 11;

struct Step {
  Kind kind;
  std::size_t a, b;
};

struct Function {
  std::vector<Step> steps;
  std::vector<double> matrix;  // Matmul's constant (n, n), row-major
};

Function random_function(tg::Rng& rng) {
  Function f;
  const std::size_t count = 3 + rng.below(6);
  for (std::size_t i = 0; i < count; ++i)
    f.steps.push_back({static_cast<Kind>(rng.below(kinds)), rng.below(i + 1), rng.below(i + 1)});
  for (int i = 0; i < n * n; ++i) f.matrix.push_back(rng.uniform(-0.6, 0.6));
  return f;
}

V ours(const Function& f, const V& x) {
  std::vector<V> v{x};
  const V w = x.tape().constant(T({n, n}, f.matrix));
  for (const Step& s : f.steps) {
    const V& a = v[s.a];
    const V& b = v[s.b];
    switch (s.kind) {
      case Kind::Tanh: v.push_back(tg::tanh(a)); break;
      case Kind::Sigmoid: v.push_back(tg::sigmoid(a)); break;
      case Kind::ExpOfTanh: v.push_back(tg::exp(tg::tanh(a))); break;
      case Kind::Square: v.push_back(tg::pow(a, 2.0)); break;
      case Kind::Cube: v.push_back(tg::pow(a, 3.0)); break;
      case Kind::Mul: v.push_back(a * b); break;
      case Kind::Add: v.push_back(a + b); break;
      case Kind::DivBySquarePlusOne: v.push_back(a / (b * b + 1.0)); break;
      case Kind::Matmul: v.push_back(tg::matmul(w, a)); break;
      case Kind::Softmax: v.push_back(tg::softmax(a)); break;
      case Kind::PlusSum: v.push_back(a + tg::sum(b)); break;
    }
  }
  return v.back();
}

std::vector<adouble> adolcs(const Function& f, const std::vector<adouble>& x) {
  std::vector<std::vector<adouble>> v{x};
  for (const Step& s : f.steps) {
    const std::vector<adouble> a = v[s.a], b = v[s.b];
    std::vector<adouble> y(n);
    adouble total = 0;
    for (int i = 0; i < n; ++i) total += s.kind == Kind::Softmax ? exp(a[i]) : b[i];
    for (int i = 0; i < n; ++i) {
      switch (s.kind) {
        case Kind::Tanh: y[i] = tanh(a[i]); break;
        case Kind::Sigmoid: y[i] = 1.0 / (1.0 + exp(-a[i])); break;
        case Kind::ExpOfTanh: y[i] = exp(tanh(a[i])); break;
        case Kind::Square: y[i] = a[i] * a[i]; break;
        case Kind::Cube: y[i] = a[i] * a[i] * a[i]; break;
        case Kind::Mul: y[i] = a[i] * b[i]; break;
        case Kind::Add: y[i] = a[i] + b[i]; break;
        case Kind::DivBySquarePlusOne: y[i] = a[i] / (b[i] * b[i] + 1.0); break;
        case Kind::Matmul:
          y[i] = 0;
          for (int k = 0; k < n; ++k) y[i] += f.matrix[static_cast<std::size_t>(i * n + k)] * a[k];
          break;
        case Kind::Softmax: y[i] = exp(a[i]) / total; break;
        case Kind::PlusSum: y[i] = a[i] + total; break;
      }
    }
    v.push_back(y);
  }
  return v.back();
}

bool close(double a, double b) { return std::abs(a - b) <= 1e-12 * (1 + std::abs(b)); }

}  // namespace

TEST_CASE("jacobian (both modes) and hessian equal ADOL-C's on random functions, to 1e-12") {
  tg::Rng rng(12);
  for (int trial = 0; trial < 60; ++trial) {
    const Function f = random_function(rng);
    std::vector<double> x(n), c(n);
    for (double& e : x) e = rng.uniform(-1.2, 1.2);
    for (double& e : c) e = rng.uniform(-1, 1);
    CAPTURE(trial);
    // ADOL-C: tape the vector function (tag 1) and its projection <c, f> (tag 2)
    for (short tag : {short(1), short(2)}) {
      trace_on(tag);
      std::vector<adouble> ax(n);
      for (int i = 0; i < n; ++i) ax[i] <<= x[i];
      std::vector<adouble> ay = adolcs(f, ax);
      if (tag == 1) {
        std::vector<double> y(n);
        for (int i = 0; i < n; ++i) ay[i] >>= y[i];
      } else {
        adouble s = 0;
        for (int i = 0; i < n; ++i) s += c[i] * ay[i];
        double out = 0;
        s >>= out;
      }
      trace_off();
    }
    double** J = myalloc2(n, n);
    double** H = myalloc2(n, n);
    REQUIRE(jacobian(1, n, n, x.data(), J) >= 0);
    REQUIRE(hessian(2, n, x.data(), H) >= 0);  // lower triangle

    const tg::TensorFunction<double> vector_f = [&](const V& v) { return ours(f, v); };
    const tg::TensorFunction<double> scalar_f = [&](const V& v) {
      return tg::sum(ours(f, v) * v.tape().constant(T({n}, c)));
    };
    const T xt({n}, x);
    for (tg::JacobianMode mode : {tg::JacobianMode::Forward, tg::JacobianMode::Reverse}) {
      const T ours_j = tg::jacobian(vector_f, xt, mode).matrix;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) CHECK(close(ours_j[static_cast<std::size_t>(i * n + j)], J[i][j]));
    }
    const T ours_h = tg::hessian(scalar_f, xt);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j <= i; ++j) {
        CHECK(close(ours_h[static_cast<std::size_t>(i * n + j)], H[i][j]));
        CHECK(close(ours_h[static_cast<std::size_t>(j * n + i)], H[i][j]));
      }
    myfree2(J);
    myfree2(H);
  }
}
