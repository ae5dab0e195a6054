// Third derivatives on random graphs equal PyTorch's (LibTorch 1.13, double), inputs holding exact zeros and ties:
// where x^p meets 0, relu and abs sit on their kinks, max has tied maxima.
#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cmath>

#include "recipe.hpp"
#include "tapegrad/tapegrad.hpp"

// LibTorch brings glog's CHECK, which aborts the process instead of reporting: doctest's, by its full name.
#undef CHECK
#define CHECK DOCTEST_CHECK

namespace tg = tapegrad;
using reference::Kind;
using reference::Step;

namespace {

using V = tg::Var<double>;
using T = tg::Tensor<double>;

V replay(const std::vector<Step>& steps, const V& x) {
  std::vector<V> v{x};
  for (const Step& s : steps) {
    const V& a = v[s.a];
    const V& b = v[s.b];
    switch (s.kind) {
      case Kind::Neg: v.push_back(-a); break;
      case Kind::Pow: v.push_back(tg::pow(a, s.p)); break;
      case Kind::Tanh: v.push_back(tg::tanh(a)); break;
      case Kind::Sigmoid: v.push_back(tg::sigmoid(a)); break;
      case Kind::Relu: v.push_back(tg::relu(a)); break;
      case Kind::Abs: v.push_back(tg::abs(a)); break;
      case Kind::ExpOfTanh: v.push_back(tg::exp(tg::tanh(a))); break;
      case Kind::Softmax: v.push_back(tg::softmax(a)); break;
      case Kind::LogSoftmax: v.push_back(tg::log_softmax(a)); break;
      case Kind::Add: v.push_back(a + b); break;
      case Kind::Sub: v.push_back(a - b); break;
      case Kind::Mul: v.push_back(a * b); break;
      case Kind::DivBySquarePlusOne: v.push_back(a / (b * b + 1.0)); break;
      case Kind::RowSum: v.push_back(tg::sum(a, {1}, true)); break;
      case Kind::ColumnMean: v.push_back(tg::mean(a, {0}, true)); break;
      case Kind::MaxAll: v.push_back(tg::max(a)); break;
      case Kind::MatmulThrough: v.push_back(tg::matmul(tg::matmul(a, tg::transpose(b)), b)); break;
    }
  }
  return v.back();
}

torch::Tensor replay(const std::vector<Step>& steps, const torch::Tensor& x) {
  std::vector<torch::Tensor> v{x};
  for (const Step& s : steps) {
    const torch::Tensor& a = v[s.a];
    const torch::Tensor& b = v[s.b];
    switch (s.kind) {
      case Kind::Neg: v.push_back(-a); break;
      case Kind::Pow: v.push_back(a.pow(s.p)); break;
      case Kind::Tanh: v.push_back(a.tanh()); break;
      case Kind::Sigmoid: v.push_back(a.sigmoid()); break;
      case Kind::Relu: v.push_back(a.relu()); break;
      case Kind::Abs: v.push_back(a.abs()); break;
      case Kind::ExpOfTanh: v.push_back(a.tanh().exp()); break;
      case Kind::Softmax: v.push_back(a.softmax(-1)); break;
      case Kind::LogSoftmax: v.push_back(a.log_softmax(-1)); break;
      case Kind::Add: v.push_back(a + b); break;
      case Kind::Sub: v.push_back(a - b); break;
      case Kind::Mul: v.push_back(a * b); break;
      case Kind::DivBySquarePlusOne: v.push_back(a / (b * b + 1.0)); break;
      case Kind::RowSum: v.push_back(a.sum(1, true)); break;
      case Kind::ColumnMean: v.push_back(a.mean(0, true)); break;
      case Kind::MaxAll: v.push_back(a.max()); break;
      case Kind::MatmulThrough: v.push_back(a.mm(b.t()).mm(b)); break;
    }
  }
  return v.back();
}

torch::Tensor to_torch(const std::vector<double>& values) {
  return torch::tensor(values, torch::kFloat64).reshape({3, 4});
}

// d(sum(w1 * f))/dx, then d(sum(w2 * that))/dx, then d(sum(w3 * that))/dx, each recorded from the one before.
std::vector<std::vector<double>> ours(const std::vector<Step>& steps, const std::vector<double>& x,
                                      const std::vector<std::vector<double>>& w) {
  tg::Tape<double> tape;
  const V xv = tape.variable(T({3, 4}, x));
  V root = tg::sum(replay(steps, xv) * tape.constant(T({3, 4}, w[0])));
  std::vector<std::vector<double>> out;
  for (int order = 0; order < 3; ++order) {
    if (!root.requires_grad()) {  // nothing left to differentiate: zero from here on
      out.emplace_back(12, 0.0);
      continue;
    }
    const V g = tg::grad(root, {xv}, tg::kCreateGraph)[0];
    out.emplace_back(g.value().begin(), g.value().end());
    if (order < 2) root = tg::sum(g * tape.constant(T({3, 4}, w[order + 1])));
  }
  return out;
}

std::vector<std::vector<double>> pytorchs(const std::vector<Step>& steps, const std::vector<double>& x,
                                          const std::vector<std::vector<double>>& w) {
  const torch::Tensor xt = to_torch(x).requires_grad_(true);
  torch::Tensor root = (replay(steps, xt) * to_torch(w[0])).sum();
  std::vector<std::vector<double>> out;
  for (int order = 0; order < 3; ++order) {
    if (!root.requires_grad()) {
      out.emplace_back(12, 0.0);
      continue;
    }
    torch::Tensor g = torch::autograd::grad({root}, {xt}, {}, true, true, true)[0];
    if (!g.defined() || g._is_zerotensor()) g = torch::zeros({3, 4}, torch::kFloat64);  // "unused": zero
    const torch::Tensor flat = g.detach().contiguous();
    out.emplace_back(flat.data_ptr<double>(), flat.data_ptr<double>() + 12);
    if (order < 2) root = (g * to_torch(w[order + 1])).sum();
  }
  return out;
}

bool same(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::abs(a - b) <= 1e-11 * (1 + std::abs(b));
}

}  // namespace

TEST_CASE("random graphs with exact zeros and ties: first, second and third derivatives equal PyTorch's") {
  torch::set_num_threads(1);
  tg::Rng rng(2026);
  std::size_t graphs = 0, nonzero_third = 0, zeros_in_inputs = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const std::vector<Step> steps = reference::random_recipe(rng);
    const std::vector<double> x = reference::input_with_zeros(rng);
    std::vector<std::vector<double>> w(3);
    for (auto& wk : w)
      for (int i = 0; i < 12; ++i) wk.push_back(rng.uniform(-1, 1));
    std::string recipe;
    for (const Step& s : steps) recipe += reference::name_of(s) + " ";
    CAPTURE(recipe);
    const auto a = ours(steps, x, w), b = pytorchs(steps, x, w);
    for (int order = 0; order < 3; ++order)
      for (int i = 0; i < 12; ++i) {
        CAPTURE(order);
        CAPTURE(i);
        CHECK_MESSAGE(same(a[order][i], b[order][i]), a[order][i], " against PyTorch's ", b[order][i]);
      }
    ++graphs;
    for (double v : b[2]) nonzero_third += v != 0;
    for (double v : x) zeros_in_inputs += v == 0;
  }
  CHECK(graphs == 400);
  CHECK(nonzero_third > 1000);   // the third order was exercised, not only zeros
  CHECK(zeros_in_inputs > 400);  // and the inputs held exact zeros
}
