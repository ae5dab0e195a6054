#pragma once
// The book's volume 2 sequence networks, built from the recurrent layers: seq2seq with its "Peeky" decoder (ch7)
// and an LSTM language model (ch6's Rnnlm), over token ids.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/recurrent.hpp"

namespace tapegrad {

/// Token ids of a batch of sequences of one length, row-major (batch, length).
struct TokenBatch {
  std::vector<std::size_t> ids;
  std::size_t batch = 0, length = 0;
  /// ShapeError unless ids holds batch x length ids and both are positive.
  void check(const char* who) const;
};

struct Seq2SeqOptions {
  std::size_t vocabulary = 0;  // token ids are below it
  std::size_t embedding = 16, hidden = 128;  // the book's wordvec_size and hidden_size
  bool peeky = false;  // the encoder's final h joins the decoder's input and its output layer at every step
};

/// Encoder: Embedding, LSTM; its final h starts the decoder (c from zeros, as the book's). Decoder: Embedding,
/// LSTM, Linear (Xavier) to the vocabulary. Peeky concatenates the encoder's h to the decoder LSTM's input and to
/// the output layer's input at every step.
template <class T>
class Seq2Seq : public Module<T> {
 public:
  Seq2Seq(const Seq2SeqOptions& options, Rng& rng);
  /// Teacher forcing: the decoder reads answers[:, :-1] and is scored on answers[:, 1:], the mean cross-entropy
  /// over every step (the book's TimeSoftmaxWithLoss). ShapeError for batches that disagree, ValueError for an id
  /// out of the vocabulary.
  Var<T> loss(Tape<T>& tape, const TokenBatch& questions, const TokenBatch& answers);
  /// Greedy decoding without gradients: `length` ids per question after `start` (batch x length, row-major).
  std::vector<std::size_t> generate(const TokenBatch& questions, std::size_t start, std::size_t length);
  /// The encoder's final h (batch, hidden) for a (batch, time) input holding ids as values.
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

  Embedding<T> encoder_embedding;
  LSTM<T> encoder;
  Embedding<T> decoder_embedding;
  LSTM<T> decoder;
  Linear<T> output;

 private:
  Var<T> encode(Tape<T>& tape, const TokenBatch& questions);
  // logits (batch x time, vocabulary) for decoder inputs `ids` from state (h, c), which the step replaces
  Var<T> decode(Tape<T>& tape, const TokenBatch& ids, const Var<T>& encoded, Var<T>& h, Var<T>& c);
  Seq2SeqOptions options_;
};

struct LanguageModelOptions {
  std::size_t vocabulary = 0;
  std::size_t embedding = 32, hidden = 128, layers = 1;
};

/// Embedding, LSTM (stateful, for truncated BPTT over chunks), Linear (Xavier) to the vocabulary: the book's
/// Rnnlm. Perplexity is exp(loss).
template <class T>
class LanguageModel : public Module<T> {
 public:
  LanguageModel(const LanguageModelOptions& options, Rng& rng);
  /// Mean cross-entropy of predicting targets (batch, time) from inputs (batch, time). The LSTM carries its
  /// state from the chunk before (reset_state() forgets it).
  Var<T> loss(Tape<T>& tape, const TokenBatch& inputs, const std::vector<std::size_t>& targets);
  void reset_state() { lstm.reset_state(); }
  /// Samples `count` ids one at a time without gradients, each from softmax(logits / temperature) after the
  /// previous (the first after `start`), stopping early after `stop` when stop < vocabulary. The carried state is
  /// reset before and after. ValueError unless temperature > 0.
  std::vector<std::size_t> sample(std::size_t start, std::size_t count, Rng& rng, double temperature = 1.0,
                                  std::size_t stop = static_cast<std::size_t>(-1));
  /// Logits (batch x time, vocabulary) for a (batch, time) input holding ids as values.
  Var<T> forward(Tape<T>& tape, const Var<T>& x) override;
  std::string describe() const override;

  Embedding<T> embedding;
  LSTM<T> lstm;
  Linear<T> output;

 private:
  Var<T> logits(Tape<T>& tape, const TokenBatch& inputs);
  LanguageModelOptions options_;
};

extern template class Seq2Seq<float>;
extern template class Seq2Seq<double>;
extern template class LanguageModel<float>;
extern template class LanguageModel<double>;

}  // namespace tapegrad
