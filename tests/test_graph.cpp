// The tape drawn as a DOT graph, and `tapegrad graph` / `tapegrad summary`.
#include <regex>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {
std::size_t count_matches(const std::string& text, const std::regex& re) {
  return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}
}  // namespace

TEST_CASE("the apple graph's DOT holds 715 and the five gradients on the right nodes") {
  tg::Parameter<double> apple("apple", T::scalar(100)), apple_num("apple_num", T::scalar(2));
  tg::Parameter<double> orange("orange", T::scalar(150)), orange_num("orange_num", T::scalar(3)), tax("tax", T::scalar(1.1));
  tg::Tape<double> tape;
  const V price = (tape.parameter(apple) * tape.parameter(apple_num) + tape.parameter(orange) * tape.parameter(orange_num)) *
                  tape.parameter(tax);
  const std::string before = tg::tape_to_dot(tape);
  CHECK(before.find("grad") == std::string::npos);  // nothing flowed back yet
  price.backward();
  const std::string dot = tg::tape_to_dot(tape);
  INFO(dot);
  CHECK(dot.find("label=\"mul\\n715\\ngrad 1\"") != std::string::npos);
  for (const char* node : {"apple\\n100\\ngrad 2.2\"", "apple_num\\n2\\ngrad 110\"", "orange\\n150\\ngrad 3.3\"",
                           "orange_num\\n3\\ngrad 165\"", "tax\\n1.1\\ngrad 650\""})
    CHECK(dot.find(std::string("label=\"") + node) != std::string::npos);
  // step 0 of the reverse sweep: only the root has its gradient
  tg::DotOptions first;
  first.backward_steps = 0;
  CHECK(count_matches(tg::tape_to_dot(tape, first), std::regex("grad ")) == 1);
}

TEST_CASE("the DOT of random graphs has a node per tape entry and an edge per input read") {
  tg::Rng rng(77);
  for (int trial = 0; trial < 50; ++trial) {
    tg::Tape<double> tape;
    std::vector<V> values{tape.variable(testing::kink_free({2, 3}, rng)), tape.constant(testing::kink_free({3}, rng))};
    std::size_t edges = 0;
    for (std::size_t step = 0, n = 1 + rng.below(8); step < n; ++step) {
      const V& a = values[rng.below(values.size())];
      const V& b = values[rng.below(values.size())];
      switch (rng.below(4)) {
        case 0: values.push_back(a + b); edges += 2; break;
        case 1: values.push_back(a * b); edges += 2; break;
        case 2: values.push_back(tg::tanh(a)); edges += 1; break;
        default: values.push_back(tg::sum(a)); edges += 1; break;
      }
    }
    const std::string dot = tg::tape_to_dot(tape);
    CHECK(count_matches(dot, std::regex(R"(\n  n\d+ \[label=)")) == tape.size());
    CHECK(count_matches(dot, std::regex(R"(\n  n\d+ -> n\d+)")) == edges);
  }
}

TEST_CASE("DOT labels are escaped, and large tensors summarised") {
  CHECK(tg::dot_escape("a \"b\"\\c\nd") == "a \\\"b\\\"\\\\c\\nd");
  tg::Parameter<double> weird("say \"hi\"\n\\", T::ones({20, 30}));
  tg::Tape<double> tape;
  tg::sum(tape.parameter(weird)).backward();
  const std::string dot = tg::tape_to_dot(tape);
  CHECK(dot.find("say \\\"hi\\\"\\n\\\\") != std::string::npos);
  CHECK(dot.find("(20, 30)  min 1  max 1  mean 1") != std::string::npos);
}

TEST_CASE("a model's layer diagram: every layer with its output shape, joined in call order") {
  tg::Rng rng(3);
  auto net = tg::make_mlp<double>({{6, 5, 4}, tg::Activation::Tanh, tg::Init::xavier()}, rng);
  const std::string dot = tg::module_to_dot(*net, tg::Shape{2, 6});
  INFO(dot);
  CHECK(dot.find("0: Linear(6 -> 5)\\n(2, 5)\\n35 parameters") != std::string::npos);
  CHECK(dot.find("1: Tanh\\n(2, 5)") != std::string::npos);
  CHECK(count_matches(dot, std::regex(R"(\n  \w+ -> m\d+;)")) == 3);  // input -> 0 -> 1 -> 2
}
