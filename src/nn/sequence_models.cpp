#include "tapegrad/nn/sequence_models.hpp"

#include <cmath>

#include <fmt/format.h>

#include "tapegrad/autograd/grad_mode.hpp"
#include "tapegrad/nn/metrics.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

template <class Options>
const Options& checked(const Options& options, const char* who) {
  if (options.vocabulary == 0 || options.embedding == 0 || options.hidden == 0)
    throw ValueError(fmt::format("{}: the vocabulary, embedding and hidden sizes must be positive, got {}, {}, {}",
                                 who, options.vocabulary, options.embedding, options.hidden));
  return options;
}

SequenceOptions batch_first(std::size_t layers = 1) {
  SequenceOptions o;
  o.batch_first = true;
  o.layers = layers;
  return o;
}

// Columns [from, to) of every row of a (batch, length) batch.
TokenBatch columns(const TokenBatch& b, std::size_t from, std::size_t to) {
  TokenBatch out{{}, b.batch, to - from};
  out.ids.reserve(b.batch * out.length);
  for (std::size_t r = 0; r < b.batch; ++r)
    out.ids.insert(out.ids.end(), b.ids.begin() + long(r * b.length + from), b.ids.begin() + long(r * b.length + to));
  return out;
}

}  // namespace

void TokenBatch::check(const char* who) const {
  if (batch == 0 || length == 0 || ids.size() != batch * length)
    throw ShapeError(fmt::format("{}: a token batch of {} ids is not {} rows of {}", who, ids.size(), batch, length));
}

// ---- Seq2Seq

template <class T>
Seq2Seq<T>::Seq2Seq(const Seq2SeqOptions& options, Rng& rng)
    : encoder_embedding(checked(options, "Seq2Seq").vocabulary, options.embedding, rng),
      encoder(options.embedding, options.hidden, rng, batch_first()),
      decoder_embedding(options.vocabulary, options.embedding, rng),
      decoder(options.embedding + (options.peeky ? options.hidden : 0), options.hidden, rng, batch_first()),
      output(options.hidden * (options.peeky ? 2 : 1), options.vocabulary, Init::xavier(), rng),
      options_(options) {
  this->register_module("encoder_embedding", encoder_embedding);
  this->register_module("encoder", encoder);
  this->register_module("decoder_embedding", decoder_embedding);
  this->register_module("decoder", decoder);
  this->register_module("output", output);
}

template <class T>
Var<T> Seq2Seq<T>::encode(Tape<T>& tape, const TokenBatch& questions) {
  questions.check("Seq2Seq: the questions");
  const Var<T> x = encoder_embedding.lookup(tape, questions.ids, Shape{questions.batch, questions.length});
  return reshape(encoder.run(tape, x).h, Shape{questions.batch, options_.hidden});
}

template <class T>
Var<T> Seq2Seq<T>::decode(Tape<T>& tape, const TokenBatch& ids, const Var<T>& encoded, Var<T>& h, Var<T>& c) {
  const std::size_t batch = ids.batch, steps = ids.length, hidden = options_.hidden;
  Var<T> x = decoder_embedding.lookup(tape, ids.ids, Shape{batch, steps});
  Var<T> peek;
  if (options_.peeky) {
    peek = broadcast_to(reshape(encoded, Shape{batch, 1, hidden}), Shape{batch, steps, hidden});
    x = concat(std::vector<Var<T>>{peek, x}, 2);
  }
  const Shape state{1, batch, hidden};
  const SequenceResult<T> r = decoder.run(tape, x, reshape(h, state), c.valid() ? reshape(c, state) : Var<T>{});
  h = reshape(r.h, Shape{batch, hidden});
  c = reshape(r.c, Shape{batch, hidden});
  Var<T> out = options_.peeky ? concat(std::vector<Var<T>>{peek, r.output}, 2) : r.output;
  return output(tape, reshape(out, Shape{batch * steps, out.shape()[2]}));
}

template <class T>
Var<T> Seq2Seq<T>::loss(Tape<T>& tape, const TokenBatch& questions, const TokenBatch& answers) {
  answers.check("Seq2Seq: the answers");
  if (answers.batch != questions.batch || answers.length < 2)
    throw ShapeError(fmt::format("Seq2Seq: {} answers of length {} for {} questions; it takes one per question, "
                                 "of at least 2 tokens (the start and one to predict)",
                                 answers.batch, answers.length, questions.batch));
  const Var<T> encoded = encode(tape, questions);
  Var<T> h = encoded, c;
  const Var<T> logits = decode(tape, columns(answers, 0, answers.length - 1), encoded, h, c);
  return sequence_cross_entropy(logits, columns(answers, 1, answers.length).ids);
}

template <class T>
std::vector<std::size_t> Seq2Seq<T>::generate(const TokenBatch& questions, std::size_t start, std::size_t length) {
  NoGradGuard no_grad;
  Tape<T> tape;
  const Var<T> encoded = encode(tape, questions);
  Var<T> h = encoded, c;
  TokenBatch next{std::vector<std::size_t>(questions.batch, start), questions.batch, 1};
  std::vector<std::size_t> out(questions.batch * length);
  for (std::size_t t = 0; t < length; ++t) {
    next.ids = argmax(decode(tape, next, encoded, h, c).value());
    for (std::size_t b = 0; b < questions.batch; ++b) out[b * length + t] = next.ids[b];
  }
  return out;
}

template <class T>
Var<T> Seq2Seq<T>::forward(Tape<T>& tape, const Var<T>& x) {
  const Var<T> embedded = encoder_embedding(tape, x);
  if (embedded.shape().rank() != 3)
    throw ShapeError(fmt::format("Seq2Seq: the input has shape {}; it takes (batch, time) ids", x.shape().str()));
  return reshape(encoder.run(tape, embedded).h, Shape{x.shape()[0], options_.hidden});
}

template <class T>
std::string Seq2Seq<T>::describe() const {
  return fmt::format("Seq2Seq(vocabulary {}, embedding {}, hidden {}{})", options_.vocabulary, options_.embedding,
                     options_.hidden, options_.peeky ? ", peeky" : "");
}

// ---- LanguageModel

template <class T>
LanguageModel<T>::LanguageModel(const LanguageModelOptions& options, Rng& rng)
    : embedding(checked(options, "LanguageModel").vocabulary, options.embedding, rng),
      lstm(options.embedding, options.hidden, rng, batch_first(options.layers)),
      output(options.hidden, options.vocabulary, Init::xavier(), rng),
      options_(options) {
  lstm.set_stateful(true);
  this->register_module("embedding", embedding);
  this->register_module("lstm", lstm);
  this->register_module("output", output);
}

template <class T>
Var<T> LanguageModel<T>::logits(Tape<T>& tape, const TokenBatch& inputs) {
  inputs.check("LanguageModel: the inputs");
  const Var<T> x = embedding.lookup(tape, inputs.ids, Shape{inputs.batch, inputs.length});
  const Var<T> hs = lstm.run(tape, x).output;
  return output(tape, reshape(hs, Shape{inputs.batch * inputs.length, options_.hidden}));
}

template <class T>
Var<T> LanguageModel<T>::loss(Tape<T>& tape, const TokenBatch& inputs, const std::vector<std::size_t>& targets) {
  return sequence_cross_entropy(logits(tape, inputs), targets);
}

template <class T>
std::vector<std::size_t> LanguageModel<T>::sample(std::size_t start, std::size_t count, Rng& rng,
                                                  double temperature, std::size_t stop) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw ValueError(fmt::format("LanguageModel::sample: the temperature must be positive, got {}", temperature));
  NoGradGuard no_grad;
  lstm.reset_state();
  std::vector<std::size_t> out;
  std::size_t id = start;
  std::vector<double> p(options_.vocabulary);
  for (std::size_t i = 0; i < count; ++i) {
    Tape<T> tape;
    const Tensor<T>& z = logits(tape, {{id}, 1, 1}).value();
    double largest = -INFINITY, total = 0;
    for (std::size_t v = 0; v < p.size(); ++v) largest = std::max(largest, double(z[v]) / temperature);
    for (std::size_t v = 0; v < p.size(); ++v) total += p[v] = std::exp(double(z[v]) / temperature - largest);
    double u = rng.uniform() * total;
    id = p.size() - 1;
    for (std::size_t v = 0; v < p.size(); ++v)
      if ((u -= p[v]) < 0) {
        id = v;
        break;
      }
    out.push_back(id);
    if (id == stop) break;
  }
  lstm.reset_state();
  return out;
}

template <class T>
Var<T> LanguageModel<T>::forward(Tape<T>& tape, const Var<T>& x) {
  const Var<T> embedded = embedding(tape, x);
  if (embedded.shape().rank() != 3)
    throw ShapeError(fmt::format("LanguageModel: the input has shape {}; it takes (batch, time) ids",
                                 x.shape().str()));
  const Shape& s = embedded.shape();
  return output(tape, reshape(lstm.run(tape, embedded).output, Shape{s[0] * s[1], options_.hidden}));
}

template <class T>
std::string LanguageModel<T>::describe() const {
  return fmt::format("LanguageModel(vocabulary {}, embedding {}, hidden {}, layers {})", options_.vocabulary,
                     options_.embedding, options_.hidden, options_.layers);
}

template class Seq2Seq<float>;
template class Seq2Seq<double>;
template class LanguageModel<float>;
template class LanguageModel<double>;

}  // namespace tapegrad
