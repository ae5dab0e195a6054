#include "support/catalog.hpp"

#include "autograd/accumulate.hpp"

#include "tapegrad/nn/check.hpp"
#include "tapegrad/nn/networks.hpp"
#include "tapegrad/ops/activation.hpp"
#include "tapegrad/ops/arithmetic.hpp"
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/recurrent.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shaping.hpp"

namespace tapegrad::support {

Tensor<double> kink_free(const Shape& shape, Rng& rng) {
  Tensor<double> t(shape);
  for (double& v : t) v = rng.uniform(0.2, 1.5) * (rng.uniform() < 0.5 ? -1.0 : 1.0);
  if (t.size() > 0) t[0] = std::abs(t[0]);  // at least one positive value: relu's gradient is not all zero
  return t;
}

Tensor<double> positive(const Shape& shape, Rng& rng, double low, double high) {
  return Tensor<double>::uniform(shape, rng, low, high);
}

namespace {

using V = Var<double>;
using Vs = std::vector<V>;
using Fn = std::function<V(Tape<double>&, const Vs&)>;

// A matrix of 2-4 rows and columns.
Shape small_matrix(Rng& rng) { return Shape{2 + rng.below(3), 2 + rng.below(3)}; }

CatalogCheck entry(std::string name, std::string family, std::function<std::vector<Tensor<double>>(Rng&)> inputs,
                   Fn f) {
  return {std::move(name), std::move(family), [inputs, f](Rng& rng, const GradcheckOptions& o) {
            return gradcheck<double>(f, inputs(rng), o);
          }};
}

// A binary op on (m, n) and a broadcast (n,) operand.
CatalogCheck binary(std::string name, Fn f, bool positive_rhs = false) {
  return entry(std::move(name), "arithmetic",
               [positive_rhs](Rng& rng) {
                 const Shape s = small_matrix(rng);
                 const Shape row{s[1]};
                 return std::vector<Tensor<double>>{kink_free(s, rng),
                                                    positive_rhs ? positive(row, rng) : kink_free(row, rng)};
               },
               std::move(f));
}

CatalogCheck unary(std::string name, std::string family, std::function<V(const V&)> op, bool positive_input = false) {
  return entry(std::move(name), std::move(family),
               [positive_input](Rng& rng) {
                 const Shape s = small_matrix(rng);
                 return std::vector<Tensor<double>>{positive_input ? positive(s, rng) : kink_free(s, rng)};
               },
               [op](Tape<double>&, const Vs& v) { return op(v[0]); });
}

CatalogCheck layer(std::string name, std::string family, std::function<std::unique_ptr<Module<double>>(Rng&)> make) {
  return {std::move(name), std::move(family), [make](Rng& rng, const GradcheckOptions& o) {
            auto m = make(rng);
            return gradcheck_module(*m, kink_free({5, 4}, rng), o);
          }};
}

// A layer that takes images: checked on a batch of two (2, C, H, W).
CatalogCheck image_layer(std::string name, std::string family, Shape input,
                         std::function<std::unique_ptr<Module<double>>(Rng&)> make) {
  return {std::move(name), std::move(family), [make, input](Rng& rng, const GradcheckOptions& o) {
            auto m = make(rng);
            return gradcheck_module(*m, kink_free(input, rng), o);
          }};
}

// A (rows, cols) tensor filled with `values`, cycled, each multiplied by a random sign when `signs`.
Tensor<double> filled(const Shape& shape, const std::vector<double>& values, Rng& rng, bool signs = false) {
  Tensor<double> t(shape);
  for (std::size_t i = 0; i < t.size(); ++i)
    t[i] = values[i % values.size()] * (signs && rng.uniform() < 0.5 ? -1.0 : 1.0);
  return t;
}

std::vector<std::size_t> labels_for(std::size_t rows, std::size_t classes, Rng& rng) {
  std::vector<std::size_t> labels(rows);
  for (auto& l : labels) l = rng.below(classes);
  return labels;
}

std::vector<CatalogCheck> build() {
  std::vector<CatalogCheck> c;
  // step's own derivative is zero (away from 0): checked through a product, whose gradient is step(x)
  c.push_back(entry(
      "step", "activation", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free(small_matrix(rng), rng)}; },
      [](auto&, const Vs& v) { return step(v[0]) * v[0]; }));
  // the engine's own rule, which create_graph records where two paths' gradients meet
  c.push_back(entry(
      "accumulate", "engine",
      [](Rng& rng) {
        const Shape s = small_matrix(rng);
        return std::vector<Tensor<double>>{kink_free(s, rng), kink_free(s, rng)};
      },
      [](auto&, const Vs& v) { return detail::accumulate(tanh(v[0]), v[0] * v[1]); }));
  c.push_back(binary("add", [](auto&, const Vs& v) { return v[0] + v[1]; }));
  c.push_back(binary("sub", [](auto&, const Vs& v) { return v[0] - v[1]; }));
  c.push_back(binary("mul", [](auto&, const Vs& v) { return v[0] * v[1]; }));
  c.push_back(binary("div", [](auto&, const Vs& v) { return v[0] / v[1]; }, true));
  c.push_back(unary("neg", "arithmetic", [](const V& a) { return -a; }));
  c.push_back(unary("pow", "arithmetic", [](const V& a) { return pow(a, 3.0); }));
  // Entries at special points (built from `filled` values, so the point is hit, not approached): where a rule
  // could meet 0 * inf (x^p at 0), where prediction equals target, and where a function saturates.
  c.push_back(entry(
      "pow (at x = 0, p = 0 to 4)", "arithmetic",
      [](Rng& rng) { return std::vector<Tensor<double>>{filled({3, 4}, {0.0, 0.7, 0.0, -1.2, 0.3}, rng)}; },
      [](auto&, const Vs& v) {
        return pow(v[0], 0.0) + pow(v[0], 1.0) + pow(v[0], 2.0) * 0.5 + pow(v[0], 3.0) + pow(v[0], 4.0) * 0.25;
      }));
  c.push_back(unary("exp", "arithmetic", [](const V& a) { return exp(a); }));
  c.push_back(entry(
      "exp (far below and above 0)", "arithmetic",
      [](Rng& rng) { return std::vector<Tensor<double>>{filled({2, 3}, {-30.0, -12.5, 8.0}, rng)}; },
      [](auto&, const Vs& v) { return exp(v[0]); }));
  c.push_back(unary("log", "arithmetic", [](const V& a) { return log(a); }, true));
  c.push_back(unary("sqrt", "arithmetic", [](const V& a) { return sqrt(a); }, true));
  c.push_back(entry(
      "log, sqrt, div (near 0)", "arithmetic",
      [](Rng& rng) {
        return std::vector<Tensor<double>>{filled({2, 3}, {1e-2, 3e-2, 5e-2}, rng), kink_free({2, 3}, rng)};
      },
      [](auto&, const Vs& v) { return log(v[0]) + sqrt(v[0]) + v[1] / v[0]; }));
  c.push_back(unary("sin", "arithmetic", [](const V& a) { return sin(a); }));
  c.push_back(unary("cos", "arithmetic", [](const V& a) { return cos(a); }));
  c.push_back(unary("abs", "arithmetic", [](const V& a) { return abs(a); }));
  // kink_free values lie in +-[0.2, 1.5]: the bounds +-1.7 clamp none, +-0.1 all but those in between: none sit on one
  c.push_back(unary("clamp", "arithmetic", [](const V& a) { return clamp(a, -1.7, 1.7) + clamp(a, 0.1, 1.7); }));
  c.push_back(entry(
      "matmul", "linalg",
      [](Rng& rng) {
        const std::size_t m = 1 + rng.below(4), k = 1 + rng.below(4), n = 1 + rng.below(4);
        return std::vector<Tensor<double>>{kink_free({m, k}, rng), kink_free({k, n}, rng), kink_free({k}, rng),
                                           kink_free({m}, rng)};
      },
      // all three forms at once: (m,k)(k,n), (m,k)(k), (m)(m,k)
      [](auto&, const Vs& v) { return sum(matmul(v[0], v[1])) + sum(matmul(v[0], v[2])) * matmul(v[3], v[0]); }));
  // all four transposition flags at once; 1-3 rows, so that the gemv path (one or two rows) is checked too
  c.push_back({"matmul (transposed operands)", "linalg", [](Rng& rng, const GradcheckOptions& o) {
                 const std::size_t m = 1 + rng.below(3);
                 return gradcheck<double>(
                     [](auto&, const Vs& v) {
                       return matmul(v[0], v[2], false, false) + matmul(v[0], v[1], false, true) +
                              matmul(v[3], v[2], true, false) + matmul(v[3], v[1], true, true);
                     },
                     {kink_free({m, 4}, rng), kink_free({5, 4}, rng), kink_free({4, 5}, rng), kink_free({4, m}, rng)},
                     o);
               }});
  c.push_back(entry(
      "affine", "linalg",
      [](Rng& rng) {
        return std::vector<Tensor<double>>{kink_free({4, 3}, rng), kink_free({3, 2}, rng), kink_free({2}, rng)};
      },
      [](auto&, const Vs& v) { return affine(v[0], v[1], v[2]); }));
  c.push_back(entry(
      "transpose", "shaping", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 3, 4}, rng)}; },
      [](auto&, const Vs& v) { return transpose(v[0], {2, 0, 1}); }));
  c.push_back(entry(
      "reshape", "shaping", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 6}, rng)}; },
      [](auto&, const Vs& v) { return reshape(v[0], {3, 4}); }));
  c.push_back(entry(
      "identity", "shaping", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 3}, rng)}; },
      [](auto&, const Vs& v) { return identity(v[0]); }));
  c.push_back(entry(
      "slice", "indexing", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({3, 5, 4}, rng)}; },
      [](auto&, const Vs& v) { return slice(v[0], {{0, 3, 2}, {1, 5, 2}, {1, Range::kEnd, 1}}); }));
  c.push_back(entry(
      "split", "indexing", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({4, 6}, rng)}; },
      [](auto&, const Vs& v) {
        const auto p = split(v[0], 1, {1, 3, 2});
        return concat(std::vector<Var<double>>{tanh(p[2]), p[0] * 2.0, p[1]}, 1);
      }));
  c.push_back(entry(
      "concat", "indexing",
      [](Rng& rng) {
        return std::vector<Tensor<double>>{kink_free({2, 3}, rng), kink_free({2, 1}, rng), kink_free({2, 2}, rng)};
      },
      [](auto&, const Vs& v) { return concat(std::vector<Var<double>>{v[0], v[1] * v[1], v[2]}, 1); }));
  c.push_back(entry(
      "stack", "indexing",
      [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 3}, rng), kink_free({2, 3}, rng)}; },
      [](auto&, const Vs& v) { return stack(std::vector<Var<double>>{v[0], v[1] * v[0]}, 1); }));
  // a repeated index: its row's gradient is the sum of both uses
  c.push_back(entry(
      "embedding", "indexing", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({5, 3}, rng)}; },
      [](auto&, const Vs& v) {
        return embedding(v[0], {4, 1, 4, 0}, Shape{2, 2}) * embedding(v[0], {2, 4, 3, 4}, Shape{2, 2});
      }));
  // two steps of batch 2, hidden 2 chained (the second reads the first's state), batch-first rows of 3 steps
  c.push_back(entry(
      "lstm_step", "recurrent",
      [](Rng& rng) {
        return std::vector<Tensor<double>>{kink_free({6, 8}, rng), kink_free({2, 4}, rng), kink_free({8, 2}, rng),
                                           kink_free({8}, rng), kink_free({8}, rng)};
      },
      [](auto&, const Vs& v) {
        const Var<double> first = lstm_step(v[0], LstmStepAt{0, 3, true}, v[1], v[2], v[3], v[4]);
        return lstm_step(v[0], LstmStepAt{2, 3, true}, first, v[2], v[3], v[4]);
      }));
  c.push_back(entry(
      "state_halves", "recurrent",
      [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 6}, rng), kink_free({2, 6}, rng)}; },
      [](auto&, const Vs& v) {
        return state_halves(std::vector<Var<double>>{v[0], v[1] * v[0]}, 1, 1) *
               state_halves(std::vector<Var<double>>{v[1], v[0]}, 0, 0);
      }));
  c.push_back(entry(
      "join_state", "recurrent",
      [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({3, 2, 2}, rng), kink_free({3, 2, 2}, rng)}; },
      [](auto&, const Vs& v) { return join_state(v[0], v[1] * v[0], 1); }));
  c.push_back(entry(
      "broadcast_to", "shaping", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({3, 1}, rng)}; },
      [](auto&, const Vs& v) { return broadcast_to(v[0], {2, 3, 4}); }));
  c.push_back(entry(
      "sum_to", "shaping", [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({2, 3, 4}, rng)}; },
      [](auto&, const Vs& v) { return sum_to(v[0], {3, 1}); }));
  // indices that repeat, skip elements and include kNoElement
  c.push_back({"gather", "shaping", [](Rng& rng, const GradcheckOptions& o) {
                 std::vector<std::size_t> at(8);
                 for (std::size_t& i : at) i = rng.below(7) == 0 ? kNoElement : rng.below(6);
                 return gradcheck<double>([at](auto&, const Vs& v) { return gather(v[0], at, {2, 4}); },
                                          {kink_free({2, 3}, rng)}, o);
               }});
  c.push_back({"scatter_add", "shaping", [](Rng& rng, const GradcheckOptions& o) {
                 std::vector<std::size_t> at(8);
                 for (std::size_t& i : at) i = rng.below(7) == 0 ? kNoElement : rng.below(5);
                 return gradcheck<double>([at](auto&, const Vs& v) { return scatter_add(v[0], at, {5}); },
                                          {kink_free({4, 2}, rng)}, o);
               }});
  c.push_back({"pick", "shaping", [](Rng& rng, const GradcheckOptions& o) {
                 const auto labels = labels_for(4, 3, rng);
                 return gradcheck<double>([labels](auto&, const Vs& v) { return pick(v[0], labels); },
                                          {kink_free({4, 3}, rng)}, o);
               }});
  c.push_back(unary("sum", "reduce", [](const V& a) { return sum(a, {0}, true) * sum(a); }));
  c.push_back(unary("mean", "reduce", [](const V& a) { return mean(a, {-1}) * mean(a); }));
  c.push_back(entry(
      "max", "reduce",
      [](Rng& rng) {
        Tensor<double> t = kink_free({3, 4}, rng);
        for (std::size_t i = 0; i < t.size(); ++i) t[i] += 3.0 * double(i % 5);  // no ties
        return std::vector<Tensor<double>>{t};
      },
      [](auto&, const Vs& v) { return max(v[0], 1, true) * max(v[0], 0, true); }));
  c.push_back(unary("relu", "activation", [](const V& a) { return relu(a); }));
  c.push_back(unary("sigmoid", "activation", [](const V& a) { return sigmoid(a); }));
  c.push_back(unary("tanh", "activation", [](const V& a) { return tanh(a); }));
  c.push_back(unary("softmax", "activation", [](const V& a) { return softmax(a); }));
  c.push_back(entry(
      "sigmoid, tanh, softmax, log_softmax (saturated)", "activation",
      [](Rng& rng) { return std::vector<Tensor<double>>{filled({2, 4}, {9.0, -7.5, 6.0, -11.0}, rng, true)}; },
      [](auto&, const Vs& v) {
        return sigmoid(v[0]) + tanh(v[0] * 0.5) + softmax(v[0] * 2.0) + log_softmax(v[0] * 2.0, 0);
      }));
  c.push_back(unary("log_softmax", "activation", [](const V& a) { return log_softmax(a); }));
  c.push_back(unary("softmax(axis 0)", "activation", [](const V& a) { return softmax(a, 0) * log_softmax(a, 0); }));
  const auto prediction_and_target = [](Rng& rng) {
    return std::vector<Tensor<double>>{positive({4, 3}, rng, 0.1, 0.9), positive({4, 3}, rng, 0.0, 1.0)};
  };
  c.push_back(entry("sum_of_squares", "loss", prediction_and_target,
                    [](auto&, const Vs& v) { return sum_of_squares(v[0], v[1]); }));
  c.push_back(entry("mse", "loss", prediction_and_target, [](auto&, const Vs& v) { return mse(v[0], v[1]); }));
  c.push_back(entry(
      "mse, sum_of_squares (prediction = target)", "loss",
      [](Rng& rng) {  // equal in every other element (where the gradient is exactly 0), apart in the rest
        const Tensor<double> y = positive({4, 3}, rng, 0.0, 1.0);
        Tensor<double> t = y;
        for (std::size_t i = 1; i < t.size(); i += 2) t[i] = rng.uniform();
        return std::vector<Tensor<double>>{y, t};
      },
      [](auto&, const Vs& v) { return mse(v[0], v[1]) + sum_of_squares(v[0], v[1]); }));
  c.push_back(entry("cross_entropy", "loss", prediction_and_target,
                    [](auto&, const Vs& v) { return cross_entropy(v[0], v[1]); }));
  c.push_back({"cross_entropy (labels)", "loss", [](Rng& rng, const GradcheckOptions& o) {
                 const auto labels = labels_for(4, 3, rng);
                 return gradcheck<double>([labels](auto&, const Vs& v) { return cross_entropy(v[0], labels); },
                                          {positive({4, 3}, rng, 0.1, 0.9)}, o);
               }});
  c.push_back(entry(
      "softmax_cross_entropy (saturated)", "loss",
      [](Rng& rng) {
        return std::vector<Tensor<double>>{filled({3, 3}, {14.0, -6.0, 1.0, -9.0}, rng, true),
                                           positive({3, 3}, rng, 0.0, 1.0)};
      },
      [](auto&, const Vs& v) { return softmax_cross_entropy(v[0], v[1]); }));
  c.push_back(entry(
      "softmax_cross_entropy", "loss",
      [](Rng& rng) { return std::vector<Tensor<double>>{kink_free({4, 3}, rng), positive({4, 3}, rng, 0.0, 1.0)}; },
      [](auto&, const Vs& v) { return softmax_cross_entropy(v[0], v[1]); }));
  c.push_back({"softmax_cross_entropy (labels)", "loss", [](Rng& rng, const GradcheckOptions& o) {
                 const auto labels = labels_for(4, 3, rng);
                 return gradcheck<double>([labels](auto&, const Vs& v) { return softmax_cross_entropy(v[0], labels); },
                                          {kink_free({4, 3}, rng)}, o);
               }});
  c.push_back(layer("Linear", "layer", [](Rng& rng) { return std::make_unique<Linear<double>>(4, 3, Init::he(), rng); }));
  c.push_back(layer("ReLU", "layer", [](Rng&) { return std::make_unique<ReLU<double>>(); }));
  c.push_back(layer("Sigmoid", "layer", [](Rng&) { return std::make_unique<Sigmoid<double>>(); }));
  c.push_back(layer("Tanh", "layer", [](Rng&) { return std::make_unique<Tanh<double>>(); }));
  c.push_back(layer("Softmax", "layer", [](Rng&) { return std::make_unique<Softmax<double>>(); }));
  c.push_back(layer("Dropout", "layer", [](Rng& rng) { return std::make_unique<Dropout<double>>(0.3, rng.engine()()); }));
  c.push_back(layer("BatchNorm", "layer", [](Rng& rng) {
    auto bn = std::make_unique<BatchNorm<double>>(4);
    bn->gamma.value = kink_free({4}, rng);
    bn->beta.value = kink_free({4}, rng);
    return bn;
  }));
  c.push_back(layer("Sequential(Linear, BatchNorm, Tanh, Dropout)", "network", [](Rng& rng) -> std::unique_ptr<Module<double>> {
    auto net = std::make_unique<Sequential<double>>();
    net->add<Linear<double>>(4, 5, Init::xavier(), rng);
    net->add<BatchNorm<double>>(5);
    net->add<Tanh<double>>();
    net->add<Dropout<double>>(0.25, rng.engine()(), Dropout<double>::Mode::Inverted);
    net->add<Linear<double>>(5, 2, Init::xavier(), rng);
    return net;
  }));
  c.push_back(layer("MLP", "network", [](Rng& rng) -> std::unique_ptr<Module<double>> {
    return make_mlp<double>({{4, 6, 5, 3}, Activation::ReLU, Init::he(), true, 0.2}, rng);
  }));
  c.push_back({"conv2d", "conv", [](Rng& rng, const GradcheckOptions& o) {
                 Conv2dSettings s;
                 s.stride = {2, 1};
                 s.padding = 1;
                 return gradcheck<double>([s](auto&, const Vs& v) { return conv2d(v[0], v[1], v[2], s); },
                                          {kink_free({2, 3, 7, 6}, rng), kink_free({4, 3, 3, 2}, rng), kink_free({4}, rng)}, o);
               }});
  c.push_back({"max_pool2d", "conv", [](Rng& rng, const GradcheckOptions& o) {
                 return gradcheck<double>([](auto&, const Vs& v) { return max_pool2d(v[0], {3, 2}); },
                                          {kink_free({2, 2, 7, 5}, rng)}, o);
               }});
  c.push_back({"avg_pool2d", "conv", [](Rng& rng, const GradcheckOptions& o) {
                 return gradcheck<double>([](auto&, const Vs& v) { return avg_pool2d(v[0], {{2, 3}, {2, 3}, {1, 0}}); },
                                          {kink_free({2, 2, 6, 6}, rng)}, o);
               }});
  c.push_back(image_layer("Conv2D", "layer", {2, 3, 7, 6}, [](Rng& rng) -> std::unique_ptr<Module<double>> {
    Conv2dSettings s;
    s.stride = 2;
    s.padding = {1, 0};
    s.allow_remainder = true;
    auto conv = std::make_unique<Conv2D<double>>(3, 4, Extent2d{3, 2}, Init::he(), rng, s);
    conv->b.value = kink_free({4}, rng);
    return conv;
  }));
  c.push_back(image_layer("MaxPool2D", "layer", {2, 3, 6, 6}, [](Rng&) -> std::unique_ptr<Module<double>> {
    return std::make_unique<MaxPool2D<double>>(Pool2dSettings{2});
  }));
  c.push_back(image_layer("AvgPool2D", "layer", {2, 3, 7, 7}, [](Rng&) -> std::unique_ptr<Module<double>> {
    return std::make_unique<AvgPool2D<double>>(Pool2dSettings{3, 2});
  }));
  c.push_back(image_layer("Flatten", "layer", {2, 3, 4, 5}, [](Rng&) -> std::unique_ptr<Module<double>> {
    return std::make_unique<Flatten<double>>();
  }));
  c.push_back(image_layer("SimpleConvNet (1x12x12, 6 filters)", "network", {2, 144},
                          [](Rng& rng) -> std::unique_ptr<Module<double>> {
                            NetSpec spec;
                            spec.sample = {1, 12, 12};
                            spec.classes = 3;
                            spec.layers = "conv:6:5,relu,maxpool:2,linear:10,relu";
                            return make_network<double>(spec, rng);
                          }));
  c.push_back(layer("TwoLayerNet", "network", [](Rng& rng) -> std::unique_ptr<Module<double>> {
    return make_two_layer_net<double>(4, 5, 3, rng, Activation::Sigmoid, 0.5);
  }));
  return c;
}

}  // namespace

const std::vector<CatalogCheck>& gradcheck_catalog() {
  static const std::vector<CatalogCheck> catalog = build();
  return catalog;
}

}  // namespace tapegrad::support
