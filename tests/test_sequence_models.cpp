// Seq2Seq (with and without Peeky) and the LSTM language model: every parameter's gradient checked at the first
// and second order, greedy decoding agreeing with teacher forcing, sampling, and the errors that name the model.
#include "helpers.hpp"

using V = tg::Var<double>;
using T = tg::Tensor<double>;
using P = tg::Parameter<double>;

namespace {

tg::TokenBatch tokens(std::vector<std::size_t> ids, std::size_t batch, std::size_t length) {
  return {std::move(ids), batch, length};
}

}  // namespace

TEST_CASE("Seq2Seq's loss: every parameter's gradient at the first and second order, plain and Peeky") {
  for (const bool peeky : {false, true}) {
    CAPTURE(peeky);
    tg::Rng rng(3);
    tg::Seq2SeqOptions options;
    options.vocabulary = 5;
    options.embedding = 3;
    options.hidden = 2;
    options.peeky = peeky;
    tg::Seq2Seq<double> model(options, rng);
    CHECK(model.describe() == (peeky ? "Seq2Seq(vocabulary 5, embedding 3, hidden 2, peeky)"
                                     : "Seq2Seq(vocabulary 5, embedding 3, hidden 2)"));
    // the decoder reads the encoder's h beside its input when peeky: (3 + 2) inputs, and 2 + 2 into the output
    CHECK(model.decoder.cell(0).input_size() == (peeky ? 5u : 3u));
    CHECK(model.output.W.value.shape()[0] == (peeky ? 4u : 2u));
    const tg::TokenBatch q = tokens({1, 2, 3, 4, 0, 1}, 2, 3), a = tokens({4, 1, 2, 4, 3, 3}, 2, 3);
    testing::check_first_and_second_order([&](tg::Tape<double>& tape) { return model.loss(tape, q, a); }, model.parameters());
  }
}

TEST_CASE("Seq2Seq's greedy answers are the argmax of its teacher-forced logits fed its own answers") {
  tg::Rng rng(4);
  tg::Seq2SeqOptions options;
  options.vocabulary = 6;
  options.embedding = 4;
  options.hidden = 5;
  options.peeky = true;
  tg::Seq2Seq<double> model(options, rng);
  const tg::TokenBatch q = tokens({1, 2, 3, 0, 5, 4, 4, 1, 2}, 3, 3);
  const std::size_t start = 5, length = 4;
  const std::vector<std::size_t> answer = model.generate(q, start, length);
  REQUIRE(answer.size() == 3 * length);
  // teacher forcing on "start + the model's own answer": each step's argmax is the next token it generated
  std::vector<std::size_t> forced;
  for (std::size_t b = 0; b < 3; ++b) {
    forced.push_back(start);
    forced.insert(forced.end(), answer.begin() + long(b * length), answer.begin() + long((b + 1) * length));
  }
  CHECK(model.generate(q, start, length) == answer);  // deterministic
  tg::Tape<double> tape;
  const double loss = model.loss(tape, q, tokens(forced, 3, length + 1)).item();
  // the last step's term is the only one its token enters: any other token there scores worse
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t other = 1; other < 6; ++other) {
      std::vector<std::size_t> changed = forced;
      std::size_t& last = changed[b * (length + 1) + length];
      last = (last + other) % 6;
      tg::Tape<double> t2;
      CHECK(model.loss(t2, q, tokens(changed, 3, length + 1)).item() > loss);
    }
}

TEST_CASE("Seq2Seq refuses batches that disagree, answers too short and ids out of its vocabulary") {
  tg::Rng rng(5);
  tg::Seq2SeqOptions options;
  options.vocabulary = 4;
  tg::Seq2Seq<float> model(options, rng);
  tg::Tape<float> tape;
  CHECK(testing::message_of<tg::ShapeError>([&] { model.loss(tape, tokens({1, 2}, 1, 2), tokens({1, 2, 3, 1}, 2, 2)); }) ==
        "Seq2Seq: 2 answers of length 2 for 1 questions; it takes one per question, of at least 2 tokens (the "
        "start and one to predict)");
  CHECK_THROWS_AS(model.loss(tape, tokens({1, 2}, 1, 2), tokens({1}, 1, 1)), tg::ShapeError);
  CHECK(testing::message_of<tg::ShapeError>([&] { model.loss(tape, tokens({1, 2, 3}, 1, 2), tokens({1, 2}, 1, 2)); }) ==
        "Seq2Seq: the questions: a token batch of 3 ids is not 1 rows of 2");
  const std::string out_of_range =
      testing::message_of<tg::ValueError>([&] { model.loss(tape, tokens({1, 9}, 1, 2), tokens({1, 2}, 1, 2)); });
  CHECK(out_of_range.find("embedding") != std::string::npos);
  CHECK(out_of_range.find("9") != std::string::npos);
  options.vocabulary = 0;
  CHECK(testing::message_of<tg::ValueError>([&] { tg::Seq2Seq<float>(options, rng); }) ==
        "Seq2Seq: the vocabulary, embedding and hidden sizes must be positive, got 0, 16, 128");
}

TEST_CASE("the language model: gradients of every order, state carried over chunks, sampling") {
  tg::Rng rng(6);
  tg::LanguageModelOptions options;
  options.vocabulary = 4;
  options.embedding = 2;
  options.hidden = 3;
  tg::LanguageModel<double> model(options, rng);
  CHECK(model.describe() == "LanguageModel(vocabulary 4, embedding 2, hidden 3, layers 1)");
  const tg::TokenBatch in = tokens({0, 1, 2, 3, 2, 1}, 2, 3);
  const std::vector<std::size_t> target{1, 2, 3, 2, 1, 0};
  testing::check_first_and_second_order(
      [&](tg::Tape<double>& tape) {
        model.reset_state();  // every evaluation from zeros, so the check's variations do not carry
        return model.loss(tape, in, target);
      },
      model.parameters());
  // two chunks equal one run over both: the second starts from the first's final state
  model.reset_state();
  tg::Tape<double> whole;
  const double both = model.loss(whole, tokens({0, 1, 2, 3}, 1, 4), {1, 2, 3, 0}).item();
  model.reset_state();
  tg::Tape<double> first, second;
  const double a = model.loss(first, tokens({0, 1}, 1, 2), {1, 2}).item();
  const double b = model.loss(second, tokens({2, 3}, 1, 2), {3, 0}).item();
  CHECK((a + b) / 2 == doctest::Approx(both).epsilon(1e-14));
  // sampling: seeded, stops after the stop id, refuses a temperature that is not positive
  tg::Rng s1(9), s2(9);
  const std::vector<std::size_t> x = model.sample(0, 50, s1), y = model.sample(0, 50, s2);
  CHECK(x == y);
  CHECK(x.size() == 50);
  tg::Rng s3(9);
  const std::vector<std::size_t> stopped = model.sample(0, 50, s3, 1.0, x[3]);
  CHECK(stopped.size() <= 4);
  CHECK(stopped.back() == x[3]);
  model.output.b.value = T{-50.0, -50.0, 50.0, -50.0};  // id 2 all but certain
  tg::Rng s4(1);
  CHECK(model.sample(0, 5, s4) == std::vector<std::size_t>{2, 2, 2, 2, 2});
  for (const double bad : {0.0, -1.0, std::nan("")})
    CHECK(testing::message_of<tg::ValueError>([&] { model.sample(0, 5, s4, bad); }).find("temperature must be "
                                                                                         "positive") !=
          std::string::npos);
}
