// Bad input: every error is a tapegrad exception whose message says what is wrong and, for shapes, both shapes.
#include <fstream>
#include <set>
#include <typeinfo>

#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;

namespace {
using testing::message_of;
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("shape mismatches name the op and both shapes") {
  tg::Tape<double> tape;
  const V a = tape.variable(T::zeros({2, 3})), b = tape.variable(T::zeros({4})), c = tape.variable(T::zeros({3, 2, 5}));
  const std::string add = message_of([&] { a + b; });
  CHECK(contains(add, "add"));
  CHECK(contains(add, "(2, 3)"));
  CHECK(contains(add, "(4,)"));
  CHECK_THROWS_AS(a * b, tg::ShapeError);
  CHECK(contains(message_of([&] { tg::matmul(a, a); }), "matmul: inner dimensions differ: (2, 3) and (2, 3)"));
  CHECK(contains(message_of([&] { tg::matmul(c, a); }), "(3, 2, 5)"));
  CHECK(contains(message_of([&] { tg::reshape(a, {4, 2}); }), "reshape: cannot reshape (2, 3)"));
  CHECK(contains(message_of([&] { tg::broadcast_to(a, {3, 3}); }), "broadcast_to"));
  CHECK(contains(message_of([&] { tg::transpose(a, {0, 0}); }), "not a permutation"));
  CHECK(contains(message_of([&] { tg::sum_of_squares(a, tape.variable(T::zeros({3, 2}))); }), "(3, 2)"));
  CHECK(contains(message_of([&] { tg::softmax_cross_entropy(a, {0}); }), "1 labels for logits of shape (2, 3)"));
  CHECK(contains(message_of([&] { tg::sum(a, {2}); }), "axis 2 is out of range"));
  CHECK(contains(message_of([&] { tg::softmax(tape.variable(T::scalar(1))); }),
                 "softmax: needs at least one axis, got shape ()"));
}

TEST_CASE("labels out of range are a ValueError naming the label and the row") {
  tg::Tape<double> tape;
  const V y = tape.variable(T::zeros({2, 3}));
  CHECK_THROWS_AS(tg::cross_entropy(y, {0, 3}), tg::ValueError);
  CHECK(contains(message_of([&] { tg::softmax_cross_entropy(y, {5, 0}); }), "label 5 (row 0)"));
}

TEST_CASE("backward misuse says what to do") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{1.0, 2.0});
  const V y = x * x;
  CHECK(contains(message_of([&] { y.backward(); }), "upstream gradient"));
  CHECK(contains(message_of([&] { y.backward(T{1.0}); }), "upstream gradient has shape (1,) but the root has shape (2,)"));
  const V c = tape.constant(T{1.0});
  CHECK(contains(message_of([&] { tg::sum(c * c).backward(); }), "does not require a gradient"));
  const V s = tg::sum(y);
  s.backward();
  CHECK(contains(message_of([&] { s.backward(); }), "tape.clear()"));
  tape.clear();
  CHECK(contains(message_of([&] { x.value(); }), "cleared"));
  CHECK_THROWS_AS(x + x, tg::TapeError);
}

TEST_CASE("variables from two tapes cannot be mixed") {
  tg::Tape<double> one, two;
  const V a = one.variable(T{1.0}), b = two.variable(T{1.0});
  CHECK(contains(message_of([&] { a + b; }), "different tapes"));
  CHECK(contains(message_of([] { V().value(); }), "no tape"));
}

TEST_CASE("tensor construction and access errors") {
  CHECK(contains(message_of([] { T({2, 3}, std::vector<double>(5)); }), "shape (2, 3) holds 6 values, 5 were given"));
  CHECK(contains(message_of([] { T{{1.0, 2.0}, {3.0}}; }), "ragged"));
  CHECK(contains(message_of([] { T::zeros({2, 2}).item(); }), "(2, 2)"));
  CHECK(contains(message_of([] { T::zeros({2, 2}).at({2, 0}); }), "out of range"));
  CHECK(contains(message_of([] { T::zeros({2, 2}).reshaped({3}); }), "(2, 2)"));
}

TEST_CASE("reductions of empty tensors do not silently produce NaN") {
  tg::Tape<double> tape;
  const V e = tape.variable(T::zeros({0, 3}));
  CHECK_THROWS_AS(tg::mean(e), tg::ValueError);
  CHECK_THROWS_AS(tg::mean(e, {0}), tg::ValueError);
  CHECK_THROWS_AS(tg::max(e, 0), tg::ValueError);
  CHECK_THROWS_AS(tg::softmax_cross_entropy(e, std::vector<std::size_t>{}), tg::ValueError);
  CHECK_THROWS_AS(tg::cross_entropy(e, std::vector<std::size_t>{}), tg::ValueError);
}

TEST_CASE("the error kinds are one table: each row throws its own class, and docs/reference/errors.md is current") {
  std::set<std::string> names;
  for (const tg::ErrorKind& kind : tg::error_kinds()) {
    CAPTURE(kind.name);
    CHECK(names.insert(kind.name).second);
    try {
      kind.raise("the message");
      FAIL("raise returned");
    } catch (const tg::Error& e) {
      CHECK(std::string(e.what()) == "the message");
      CHECK(std::string(typeid(e).name()).find(kind.name) != std::string::npos);  // the class the row names
    }
  }
  CHECK(std::string(tg::error_kinds().front().name) == "Error");
  CHECK(names.count("ShapeError") == 1);
  CHECK(names.count("Interrupted") == 1);
  std::ifstream page(TAPEGRAD_SOURCE_DIR "/docs/reference/errors.md", std::ios::binary);
  REQUIRE_MESSAGE(page, "docs/reference/errors.md is missing: build/tapegrad errors > docs/reference/errors.md");
  const std::string text((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
  CHECK_MESSAGE(text == tg::errors_markdown(), "docs/reference/errors.md is stale: build/tapegrad errors > docs/reference/errors.md");
}
