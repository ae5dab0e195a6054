// Rounding to float16 and bfloat16 (simulated), against values worked out from the formats' definitions, and a
// network evaluated with its weights and activations rounded.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using tg::Precision;

TEST_CASE("round_to: float16 and bfloat16 values from the formats' definitions, ties to even") {
  // float16: 10 fraction bits; 1 + 2^-10 is the next value after 1, 1 + 2^-11 the tie between them (to 1, even)
  CHECK(tg::round_to(1.0 + std::ldexp(1.0, -10), Precision::Float16) == 1.0 + std::ldexp(1.0, -10));
  CHECK(tg::round_to(1.0 + std::ldexp(1.0, -11), Precision::Float16) == 1.0);
  CHECK(tg::round_to(1.0 + 3 * std::ldexp(1.0, -11), Precision::Float16) == 1.0 + std::ldexp(1.0, -9));  // to even
  CHECK(tg::round_to(0.1, Precision::Float16) == 0.0999755859375);  // numpy.float16(0.1)
  CHECK(tg::round_to(-3.14159265, Precision::Float16) == -3.140625);
  CHECK(tg::round_to(65504.0, Precision::Float16) == 65504.0);  // the largest
  CHECK(tg::round_to(65519.0, Precision::Float16) == 65504.0);
  CHECK(std::isinf(tg::round_to(65520.0, Precision::Float16)));  // the tie above it rounds to 2^16: overflow
  CHECK(tg::round_to(-1e6, Precision::Float16) == -std::numeric_limits<double>::infinity());
  // subnormals: spacing 2^-24; half of the smallest rounds to 0 (even), three halves to 2 x 2^-24
  CHECK(tg::round_to(std::ldexp(1.0, -24), Precision::Float16) == std::ldexp(1.0, -24));
  CHECK(tg::round_to(std::ldexp(1.0, -25), Precision::Float16) == 0.0);
  CHECK(tg::round_to(3 * std::ldexp(1.0, -25), Precision::Float16) == std::ldexp(1.0, -23));
  CHECK(tg::round_to(1e-8, Precision::Float16) == 0.0);
  // bfloat16: 7 fraction bits and float32's range
  CHECK(tg::round_to(0.1, Precision::BFloat16) == 0.10009765625);
  CHECK(tg::round_to(1.0 + std::ldexp(1.0, -8), Precision::BFloat16) == 1.0);
  CHECK(tg::round_to(1e30, Precision::BFloat16) == std::ldexp(202.0, 92));  // 1e30 = 201.95 x 2^92
  CHECK(tg::round_to(1e-40, Precision::BFloat16) == doctest::Approx(1e-40).epsilon(0.01));  // a subnormal kept
  CHECK(std::isinf(tg::round_to(3.4e38, Precision::BFloat16)));
  CHECK(tg::round_to(0.1, Precision::Float32) == double(0.1f));
  for (const Precision p : {Precision::Float16, Precision::BFloat16}) {
    CHECK(std::isnan(tg::round_to(std::nan(""), p)));
    CHECK(std::isinf(tg::round_to(-INFINITY, p)));
    CHECK(tg::round_to(0.0, p) == 0.0);
    CHECK(std::signbit(tg::round_to(-0.0, p)));
  }
  tg::Tensor<float> t{1.0f, 70000.0f, -1e5f, 0.5f};
  CHECK(tg::round_to(t, Precision::Float16) == 2);  // two overflow
  CHECK(t[0] == 1.0f);
  CHECK(std::isinf(t[1]));
  CHECK(t[3] == 0.5f);
  CHECK(tg::to_string(Precision::BFloat16) == "bfloat16");
}

TEST_CASE("predict_rounded: a network's predictions with rounded weights and activations, weights restored") {
  tg::Rng rng(3);
  const tg::TrainTest data = tg::load_generated_dataset("spiral", 0);
  auto net = tg::make_mlp<float>({{2, 16, 3}, tg::Activation::ReLU, tg::Init::he()}, rng);
  const std::vector<tg::Tensor<float>> before = [&] {
    std::vector<tg::Tensor<float>> v;
    for (tg::Parameter<float>* p : net->parameters()) v.push_back(p->value);
    return v;
  }();
  const std::vector<std::size_t> plain = tg::predict(*net, data.test);
  // float32 rounding of a float32 network changes nothing
  CHECK(tg::predict_rounded(*net, data.test, Precision::Float32).predicted == plain);
  const tg::RoundedPrediction half = tg::predict_rounded(*net, data.test, Precision::Float16);
  CHECK(half.overflowed_parameters == 0);
  CHECK(half.overflowed_values == 0);
  // by hand: the same network with its weights rounded, and each layer's output rounded
  std::vector<tg::Parameter<float>*> params = net->parameters();
  for (tg::Parameter<float>* p : params) tg::round_to(p->value, Precision::Float16);
  tg::Tape<float> tape;
  tg::Tensor<float> x;
  std::vector<std::size_t> rows(data.test.rows), labels;
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  data.test.gather(rows.data(), rows.size(), x, labels);
  tg::round_to(x, Precision::Float16);
  tg::Tensor<float> h = x;
  for (std::size_t i = 0; i < net->size(); ++i) {
    h = (*net)[i](tape, tape.constant(h)).value();
    tg::round_to(h, Precision::Float16);
  }
  const std::vector<std::size_t> by_hand = tg::argmax(h);
  CHECK(half.predicted == by_hand);
  for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = before[i];
  // predict_rounded put the weights back
  const tg::RoundedPrediction again = tg::predict_rounded(*net, data.test, Precision::BFloat16, false);
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(params[i]->value == before[i]);
  CHECK(again.predicted.size() == data.test.rows);
  // a weight of 1e5 overflows float16 (not bfloat16), is counted, and is restored
  params[0]->value[0] = 1e5f;
  CHECK(tg::predict_rounded(*net, data.test, Precision::Float16).overflowed_parameters == 1);
  CHECK(tg::predict_rounded(*net, data.test, Precision::BFloat16).overflowed_parameters == 0);
  CHECK(params[0]->value[0] == 1e5f);
  CHECK_THROWS_AS(tg::predict_rounded(*net, data.test, Precision::Float16, true, 0), tg::ValueError);
}
