// The sequence experiments: RNN against LSTM on a noisy sine curve (DeZero steps 59-60), seq2seq on the addition
// problems (the book's volume 2, ch7) and a character-level language model on a word list. Each trains seeded,
// prints a table and writes CSVs and a plot under --out.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/experiments.hpp"
#include "cli/output.hpp"
#include "cli/progress.hpp"
#include "tapegrad/data/text.hpp"
#include "tapegrad/nn/sequence_models.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/shaping.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/schedule.hpp"

namespace cli {
namespace {

constexpr double kPi = 3.14159265358979323846;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Every loss must stay a number: a diverging run is stopped with the step that broke it named.
void check_finite(double loss, const std::string& run, std::size_t epoch) {
  if (!std::isfinite(loss))
    throw tg::NumericError(fmt::format("{}: the loss became {} in epoch {}", run, loss, epoch));
}

// ---- sine (DeZero steps 59-60)

struct SineSetting {
  std::string label;
  bool lstm;
  std::size_t hidden, batch;
};
constexpr std::size_t kSinePoints = 1000, kBptt = 30;

template <class T>
struct SineModel : tg::Module<T> {
  SineModel(const SineSetting& s, tg::Rng& rng)
      : rnn(1, s.hidden, rng), lstm(1, s.hidden, rng), linear(s.hidden, 1, tg::Init::xavier(), rng), lstm_(s.lstm) {
    if (lstm_) this->register_module("lstm", lstm); else this->register_module("rnn", rnn);
    this->register_module("linear", linear);
    rnn.set_stateful(true);
    lstm.set_stateful(true);
  }
  // x (time, batch, 1) -> predictions (time x batch, 1)
  tg::Var<T> forward(tg::Tape<T>& tape, const tg::Var<T>& x) override {
    const tg::Var<T> hs = lstm_ ? lstm.run(tape, x).output : rnn.run(tape, x).output;
    const tg::Shape& s = hs.shape();
    return linear(tape, tg::reshape(hs, tg::Shape{s[0] * s[1], s[2]}));
  }
  void reset_state() { rnn.reset_state(); lstm.reset_state(); }
  tg::RNN<T> rnn;
  tg::LSTM<T> lstm;
  tg::Linear<T> linear;
  bool lstm_;
};

struct SineResult {
  std::vector<double> losses;      // mean squared error per epoch
  std::vector<double> prediction;  // of cos, one step ahead
  double cos_mse = 0, seconds = 0;
};

// DeZero's SeqDataLoader: a batch of `batch` positions jump = n / batch apart, moving one step per iteration;
// backward every 30 iterations (BPTT length) and at the end of the epoch.
template <class T>
SineResult train_sine(const SineSetting& s, const std::vector<double>& x, const std::vector<double>& target,
                      const std::vector<double>& cosine, std::size_t epochs, std::uint64_t seed,
                      OverallProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  tg::Rng rng(seed);
  SineModel<T> model(s, rng);
  auto adam = tg::make_adam<T>(model.parameters());
  tg::Tape<T> tape;
  const std::size_t n = x.size(), jump = n / s.batch, iterations = n / s.batch;
  SineResult result;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    model.reset_state();
    double total = 0;
    for (std::size_t from = 0; from < iterations; from += kBptt) {
      const std::size_t steps = std::min(kBptt, iterations - from);
      tg::Tensor<T> in(tg::Shape{steps, s.batch, 1}), out(tg::Shape{steps * s.batch, 1});
      for (std::size_t t = 0; t < steps; ++t)
        for (std::size_t b = 0; b < s.batch; ++b) {
          const std::size_t i = (b * jump + from + t) % n;
          in[t * s.batch + b] = static_cast<T>(x[i]);
          out[t * s.batch + b] = static_cast<T>(target[i]);
        }
      tape.clear();  // one tape, its buffers reused step after step
      const tg::Var<T> y = model(tape, tape.constant(in));
      const tg::Var<T> loss = tg::mse(y, tape.constant(out));
      adam->zero_grad();
      loss.backward();
      adam->step();
      total += double(loss.value()[0]) * double(steps);
      progress.step();
    }
    const double mean = total / double(iterations);
    check_finite(mean, s.label, epoch);
    result.losses.push_back(mean);
    progress.draw();
  }
  model.reset_state();  // a batch of 1 from zeros, one point at a time, as DeZero's prediction loop
  tg::NoGradGuard no_grad;
  for (std::size_t i = 0; i < cosine.size(); ++i) {
    tape.clear();  // one tape, its buffers reused step after step
    tg::Tensor<T> in(tg::Shape{1, 1, 1});
    in[0] = static_cast<T>(cosine[i]);
    result.prediction.push_back(double(model(tape, tape.constant(in)).value()[0]));
  }
  for (std::size_t i = 0; i + 1 < cosine.size(); ++i)
    result.cos_mse += std::pow(result.prediction[i] - cosine[i + 1], 2) / double(cosine.size() - 1);
  result.seconds = seconds_since(start);
  return result;
}

int sine(const RunOptions& run, const ExperimentOptions& options) {
  const std::size_t epochs = options.epochs ? options.epochs : 100;
  const std::vector<SineSetting> settings{{"RNN(10), batch 1 (step 59)", false, 10, 1},
                                          {"RNN(100), batch 30", false, 100, 30},
                                          {"LSTM(100), batch 30 (step 60)", true, 100, 30}};
  tg::prepare_output_folder(run.out);
  // DeZero's SinCurve: sin over two periods plus uniform noise in [-0.05, 0.05]; x_t predicts x_{t+1}
  tg::Rng rng(run.seed);
  std::vector<double> curve(kSinePoints), cosine(kSinePoints);
  for (std::size_t i = 0; i < kSinePoints; ++i) {
    const double angle = 4 * kPi * double(i) / double(kSinePoints - 1);
    curve[i] = std::sin(angle) + rng.uniform(-0.05, 0.05);
    cosine[i] = std::cos(angle);
  }
  const std::vector<double> x(curve.begin(), curve.end() - 1), target(curve.begin() + 1, curve.end());
  std::size_t total_steps = 0;
  for (const SineSetting& s : settings) total_steps += epochs * ((x.size() / s.batch + kBptt - 1) / kBptt);
  OverallProgress progress(total_steps, settings.size(), isatty(2) != 0);
  std::vector<SineResult> results;
  for (const SineSetting& s : settings) {
    results.push_back(run.use_double ? train_sine<double>(s, x, target, cosine, epochs, run.seed, progress)
                                     : train_sine<float>(s, x, target, cosine, epochs, run.seed, progress));
    progress.run_done();
    progress.print(fmt::format("{}: loss {:.3g} after {} epochs, {:.1f} s\n", s.label, results.back().losses.back(),
                               epochs, results.back().seconds));
  }
  progress.clear();
  // what a model must beat: predicting that the next value repeats this one
  double repeat_train = 0, repeat_cos = 0;
  for (std::size_t i = 0; i < x.size(); ++i) repeat_train += std::pow(x[i] - target[i], 2) / double(x.size());
  for (std::size_t i = 0; i + 1 < kSinePoints; ++i)
    repeat_cos += std::pow(cosine[i] - cosine[i + 1], 2) / double(kSinePoints - 1);
  std::vector<std::vector<std::string>> rows{{"repeat the last value (no model)", fmt::format("{:.4g}", repeat_train),
                                              fmt::format("{:.4g}", repeat_train), fmt::format("{:.4g}", repeat_cos),
                                              "-"}};
  for (std::size_t r = 0; r < settings.size(); ++r)
    rows.push_back({settings[r].label, fmt::format("{:.4g}", results[r].losses.front()),
                    fmt::format("{:.4g}", results[r].losses.back()), fmt::format("{:.4g}", results[r].cos_mse),
                    fmt::format("{:.1f}", results[r].seconds)});
  const std::string text =
      table({"model", "loss, epoch 1", fmt::format("loss, epoch {}", epochs), "cos, one step ahead (MSE)", "s"}, rows);
  fmt::print("{}", text);
  write_text(output_path(run.out, "sine.txt"), text);
  std::string losses = "epoch", predictions = "t,cos", loss_dat, prediction_dat;
  for (const SineSetting& s : settings) {
    losses += "," + csv_quoted(s.label);
    predictions += "," + csv_quoted(s.label);
  }
  losses += "\n";
  predictions += "\n";
  for (std::size_t e = 0; e < epochs; ++e) {
    losses += std::to_string(e + 1);
    loss_dat += std::to_string(e + 1);
    for (const SineResult& r : results) {
      losses += fmt::format(",{:.9g}", r.losses[e]);
      loss_dat += fmt::format(" {:.17g}", r.losses[e]);
    }
    losses += "\n";
    loss_dat += "\n";
  }
  for (std::size_t i = 0; i < kSinePoints; ++i) {
    predictions += fmt::format("{},{:.9g}", i, cosine[i]);
    prediction_dat += fmt::format("{} {:.17g}", i, cosine[i]);
    for (const SineResult& r : results) {
      predictions += fmt::format(",{:.9g}", r.prediction[i]);
      prediction_dat += fmt::format(" {:.17g}", r.prediction[i]);
    }
    predictions += "\n";
    prediction_dat += "\n";
  }
  write_text(output_path(run.out, "sine_loss.csv"), losses);
  write_text(output_path(run.out, "sine_prediction.csv"), predictions);
  const std::string loss_points = output_path(run.out, "sine_loss.dat");
  const std::string prediction_points = output_path(run.out, "sine_prediction.dat");
  write_text(loss_points, loss_dat);
  write_text(prediction_points, prediction_dat);
  std::string gp = "set terminal pngcairo size 1200,450 font ',10'\nset output ARG1\nset multiplot layout 1,2\n"
                   "set grid\nset logscale y\nset xlabel 'epoch'\nset ylabel 'mean squared error (log scale)'\n"
                   "set title 'training loss on a noisy sine' noenhanced\nplot ";
  for (std::size_t r = 0; r < settings.size(); ++r)
    gp += fmt::format("{}ARG2 using 1:{} with lines lw 2 title {} noenhanced", r ? ", " : "", r + 2,
                      gnuplot_string(settings[r].label));
  gp += "\nunset logscale y\nset xlabel 't'\nset ylabel 'value'\nset key bottom left\n"
        "set title 'predicting cos one step ahead (trained on sin)' noenhanced\n"
        "plot ARG3 using 1:2 with lines lw 3 lc rgb '#999999' title 'cos'";
  for (std::size_t r = 0; r < settings.size(); ++r)
    gp += fmt::format(", ARG3 using 1:{} with lines lw 1.5 title {} noenhanced", r + 3,
                      gnuplot_string(settings[r].label));
  gp += "\nunset multiplot\n";
  const std::string png = output_path(run.out, "sine.png");
  render_png(output_path(run.out, "sine.gp"), gp, png, {loss_points, prediction_points});
  fmt::print("\ntable: {}\nlosses: {}\npredictions: {}\nplot:  {}\n", output_path(run.out, "sine.txt"),
             output_path(run.out, "sine_loss.csv"), output_path(run.out, "sine_prediction.csv"), png);
  return 0;
}


// ---- addition (the book's volume 2, ch7: train_seq2seq.py, with reversed input and Peeky)

struct AdditionSetting {
  std::string label;
  bool reverse, peeky;
};
constexpr std::size_t kAdditionBatch = 128, kAdditionEvalBatch = 500;
constexpr double kAdditionClip = 5.0;

struct AdditionResult {
  std::vector<double> losses, accuracy;  // per epoch: mean training loss, exact answers on the test part
  std::vector<std::string> examples;     // the first test problems with the model's answers
  double seconds = 0;
};

struct AdditionData {
  tg::TokenBatch questions, answers;  // every problem; the last tenth is the test part
  std::size_t train = 0;
};

tg::TokenBatch rows_of(const tg::TokenBatch& all, const std::size_t* rows, std::size_t count) {
  tg::TokenBatch out{{}, count, all.length};
  out.ids.reserve(count * all.length);
  for (std::size_t i = 0; i < count; ++i)
    out.ids.insert(out.ids.end(), all.ids.begin() + long(rows[i] * all.length),
                   all.ids.begin() + long((rows[i] + 1) * all.length));
  return out;
}

template <class T>
AdditionResult train_addition(const AdditionSetting& s, const AdditionData& data, const tg::CharVocabulary& vocab,
                              std::size_t epochs, std::uint64_t seed, OverallProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  tg::Rng rng(seed);
  tg::Seq2SeqOptions options;
  options.vocabulary = vocab.size();
  options.peeky = s.peeky;
  tg::Seq2Seq<T> model(options, rng);
  const std::vector<tg::Parameter<T>*> params = model.parameters();
  auto adam = tg::make_adam<T>(params);
  tg::Tape<T> tape;
  tg::TokenBatch questions = data.questions;
  if (s.reverse)  // the book's x_train[:, ::-1]: the padding comes first
    for (std::size_t r = 0; r < questions.batch; ++r)
      std::reverse(questions.ids.begin() + long(r * questions.length),
                   questions.ids.begin() + long((r + 1) * questions.length));
  const std::size_t test = data.questions.batch - data.train, batches = data.train / kAdditionBatch;
  std::vector<std::size_t> order(data.train), test_rows(test);
  std::iota(test_rows.begin(), test_rows.end(), data.train);
  tg::Rng shuffle(seed + 1);
  AdditionResult result;
  std::vector<std::size_t> answers;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), shuffle.engine());
    double total = 0;
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t* rows = order.data() + b * kAdditionBatch;
      tape.clear();  // one tape, its buffers reused step after step
      const tg::Var<T> loss = model.loss(tape, rows_of(questions, rows, kAdditionBatch),
                                         rows_of(data.answers, rows, kAdditionBatch));
      adam->zero_grad();
      loss.backward();
      tg::clip_gradient_norm(params, kAdditionClip);
      adam->step();
      total += double(loss.value()[0]);
      progress.step();
    }
    result.losses.push_back(total / double(batches));
    check_finite(result.losses.back(), s.label, epoch);
    std::size_t correct = 0;  // exact answers: every one of the 4 characters after "_"
    const std::size_t answer_length = data.answers.length - 1;
    answers.clear();
    for (std::size_t from = 0; from < test; from += kAdditionEvalBatch) {
      const std::size_t count = std::min(kAdditionEvalBatch, test - from);
      const std::vector<std::size_t> got =
          model.generate(rows_of(questions, test_rows.data() + from, count), vocab.id('_'), answer_length);
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t row = data.train + from + i;
        correct += std::equal(got.begin() + long(i * answer_length), got.begin() + long((i + 1) * answer_length),
                              data.answers.ids.begin() + long(row * data.answers.length + 1));
      }
      answers.insert(answers.end(), got.begin(), got.end());
    }
    result.accuracy.push_back(double(correct) / double(test));
    progress.draw();
  }
  for (std::size_t i = 0; i < std::min<std::size_t>(10, test); ++i) {
    const std::size_t row = data.train + i;
    const std::string q = vocab.decode({data.questions.ids.begin() + long(row * data.questions.length),
                                        data.questions.ids.begin() + long((row + 1) * data.questions.length)});
    const std::string want = vocab.decode({data.answers.ids.begin() + long(row * data.answers.length + 1),
                                           data.answers.ids.begin() + long((row + 1) * data.answers.length)});
    const std::string got = vocab.decode({answers.begin() + long(i * (data.answers.length - 1)),
                                          answers.begin() + long((i + 1) * (data.answers.length - 1))});
    result.examples.push_back(fmt::format("{} = {} ({})", q, got, got == want ? "right" : "wrong, " + want));
  }
  result.seconds = seconds_since(start);
  return result;
}

int addition(const RunOptions& run, const ExperimentOptions& options) {
  const std::size_t epochs = options.epochs ? options.epochs : 25, count = options.limit ? options.limit : 50000;
  const std::vector<AdditionSetting> settings{
      {"baseline", false, false}, {"reversed input", true, false}, {"reversed input + Peeky", true, true}};
  tg::prepare_output_folder(run.out);
  const tg::CharVocabulary vocab{std::string(tg::kAdditionCharacters)};
  const tg::AdditionProblems problems = tg::addition_problems(count, run.seed);
  AdditionData data;
  data.questions.batch = data.answers.batch = count;
  data.questions.length = tg::kAdditionQuestionLength;
  data.answers.length = tg::kAdditionAnswerLength;
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t id : vocab.encode(problems.questions[i])) data.questions.ids.push_back(id);
    for (std::size_t id : vocab.encode(problems.answers[i])) data.answers.ids.push_back(id);
  }
  data.train = count - count / 10;  // the book's split: the last tenth is the test part
  if (data.train < kAdditionBatch)
    throw tg::ValueError(fmt::format("--limit {}: leaves {} problems to train on, fewer than a batch of {}", count,
                                     data.train, kAdditionBatch));
  fmt::print("{} problems such as {} = {}: {} to train on, {} to test\n", count, problems.questions[0],
             problems.answers[0], data.train, count - data.train);
  OverallProgress progress(settings.size() * epochs * (data.train / kAdditionBatch), settings.size(),
                           isatty(2) != 0);
  std::vector<AdditionResult> results;
  for (const AdditionSetting& s : settings) {
    results.push_back(run.use_double ? train_addition<double>(s, data, vocab, epochs, run.seed, progress)
                                     : train_addition<float>(s, data, vocab, epochs, run.seed, progress));
    progress.run_done();
    progress.print(fmt::format("{}: {:.1f} % exact answers after {} epochs, {:.1f} s\n", s.label,
                               100 * results.back().accuracy.back(), epochs, results.back().seconds));
  }
  progress.clear();
  std::vector<std::vector<std::string>> rows;
  for (std::size_t r = 0; r < settings.size(); ++r) {
    const std::vector<double>& a = results[r].accuracy;
    rows.push_back({settings[r].label, fmt::format("{:.1f} %", 100 * a.front()),
                    fmt::format("{:.1f} %", 100 * a.back()),
                    fmt::format("{:.1f} %", 100 * *std::max_element(a.begin(), a.end())),
                    fmt::format("{:.4f}", results[r].losses.back()), fmt::format("{:.0f}", results[r].seconds)});
  }
  std::string text = table({"model", "exact, epoch 1", fmt::format("exact, epoch {}", epochs), "best",
                            "final training loss", "s"},
                           rows);
  text += fmt::format("\nthe first test problems, answered by {}:\n", settings.back().label);
  for (const std::string& e : results.back().examples) text += "  " + e + "\n";
  fmt::print("{}", text);
  write_text(output_path(run.out, "addition.txt"), text);
  std::string csv = "epoch", dat;
  for (const AdditionSetting& s : settings) csv += fmt::format(",{} accuracy,{} loss", csv_quoted(s.label), csv_quoted(s.label));
  csv += "\n";
  for (std::size_t e = 0; e < epochs; ++e) {
    csv += std::to_string(e + 1);
    dat += std::to_string(e + 1);
    for (const AdditionResult& r : results) {
      csv += fmt::format(",{:.6f},{:.9g}", r.accuracy[e], r.losses[e]);
      dat += fmt::format(" {:.6f} {:.17g}", 100 * r.accuracy[e], r.losses[e]);
    }
    csv += "\n";
    dat += "\n";
  }
  write_text(output_path(run.out, "addition.csv"), csv);
  const std::string points = output_path(run.out, "addition.dat");
  write_text(points, dat);
  std::string gp = "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset grid\nset key bottom right\n"
                   "set xlabel 'epoch'\nset ylabel 'exact answers on the test problems (%)'\nset yrange [0:100]\n"
                   "set title 'seq2seq on addition problems' noenhanced\nplot ";
  for (std::size_t r = 0; r < settings.size(); ++r)
    gp += fmt::format("{}ARG2 using 1:{} with linespoints lw 2 title {} noenhanced", r ? ", " : "", 2 + 2 * r,
                      gnuplot_string(settings[r].label));
  gp += "\n";
  const std::string png = output_path(run.out, "addition.png");
  render_png(output_path(run.out, "addition.gp"), gp, png, {points});
  fmt::print("\ntable: {}\ncurves: {}\nplot:  {}\n", output_path(run.out, "addition.txt"),
             output_path(run.out, "addition.csv"), png);
  return 0;
}

// ---- char-lm: an LSTM language model over the letters of a word list, "\n" ending each word

constexpr std::size_t kCharBatch = 32, kCharChunk = 35, kGeneratedWords = 20;
constexpr double kCharLearningRate = 0.003, kCharClip = 1.0;

struct CharLmResult {
  std::vector<double> train_perplexity, validation_perplexity;
  std::vector<std::string> generated;
  double seconds = 0;
};

std::vector<std::size_t> corpus_of(const std::vector<std::string>& words, std::size_t from, std::size_t to,
                                   const tg::CharVocabulary& vocab) {
  std::vector<std::size_t> out;
  for (std::size_t i = from; i < to; ++i) {
    for (char c : words[i]) out.push_back(vocab.id(c));
    out.push_back(vocab.id('\n'));
  }
  return out;
}

template <class T>
CharLmResult train_char_lm(const std::vector<std::size_t>& train, const std::vector<std::size_t>& validation,
                           const tg::CharVocabulary& vocab, std::size_t epochs, std::uint64_t seed,
                           OverallProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  tg::Rng rng(seed);
  tg::LanguageModelOptions options;
  options.vocabulary = vocab.size();
  tg::LanguageModel<T> model(options, rng);
  const std::vector<tg::Parameter<T>*> params = model.parameters();
  tg::OptimizerOptions adam_options;
  adam_options.lr = kCharLearningRate;
  auto adam = tg::make_adam<T>(params, adam_options);
  tg::Tape<T> tape;
  const tg::SequenceBatcher batches(train, kCharBatch, kCharChunk);
  const tg::SequenceBatcher held_out(validation, std::min(kCharBatch, validation.size() / (kCharChunk + 1)),
                                     kCharChunk);
  CharLmResult result;
  for (std::size_t epoch = 1; epoch <= epochs; ++epoch) {
    model.reset_state();  // each epoch reads the rows from their starts again
    double total = 0;
    for (std::size_t k = 0; k < batches.chunks(); ++k) {
      const auto [inputs, targets] = batches[k];
      tape.clear();  // one tape, its buffers reused step after step
      const tg::Var<T> loss = model.loss(tape, {inputs, kCharBatch, kCharChunk}, targets);
      adam->zero_grad();
      loss.backward();
      tg::clip_gradient_norm(params, kCharClip);
      adam->step();
      total += double(loss.value()[0]);
      progress.step();
    }
    result.train_perplexity.push_back(std::exp(total / double(batches.chunks())));
    check_finite(result.train_perplexity.back(), "char-lm", epoch);
    model.reset_state();
    double held = 0;
    {
      tg::NoGradGuard no_grad;
      for (std::size_t k = 0; k < held_out.chunks(); ++k) {
        const auto [inputs, targets] = held_out[k];
        tape.clear();  // one tape, its buffers reused step after step
        held += double(model.loss(tape, {inputs, held_out.batch(), kCharChunk}, targets).value()[0]);
      }
    }
    result.validation_perplexity.push_back(std::exp(held / double(held_out.chunks())));
    progress.print(fmt::format("epoch {}: perplexity {:.3f} on the training words, {:.3f} on the held-out words\n",
                               epoch, result.train_perplexity.back(), result.validation_perplexity.back()));
  }
  tg::Rng sampling(seed + 1);
  const std::size_t end = vocab.id('\n');
  for (std::size_t w = 0; w < kGeneratedWords; ++w) {
    std::vector<std::size_t> ids = model.sample(end, 30, sampling, 1.0, end);
    if (!ids.empty() && ids.back() == end) ids.pop_back();
    result.generated.push_back(vocab.decode(ids));
  }
  result.seconds = seconds_since(start);
  return result;
}

int char_lm(const RunOptions& run, const ExperimentOptions& options) {
  const std::size_t epochs = options.epochs ? options.epochs : 10;
  const std::string path = options.data_given ? run.data : tg::default_word_list();
  std::vector<std::string> words = tg::read_words(path);
  tg::prepare_output_folder(run.out);
  const std::size_t listed = words.size();
  tg::Rng rng(run.seed);  // the list is alphabetical: shuffled, so both parts hold every letter's words
  std::shuffle(words.begin(), words.end(), rng.engine());
  if (options.limit && options.limit < words.size()) words.resize(options.limit);
  const std::size_t held = std::max<std::size_t>(1, words.size() / 10), trained = words.size() - held;
  const tg::CharVocabulary vocab("\nabcdefghijklmnopqrstuvwxyz");
  const std::vector<std::size_t> train = corpus_of(words, 0, trained, vocab);
  const std::vector<std::size_t> validation = corpus_of(words, trained, words.size(), vocab);
  if (train.size() < kCharBatch * (kCharChunk + 1) || validation.size() < kCharChunk + 1)
    throw tg::ValueError(fmt::format("char-lm: {} words ({} letters to train on, {} held out) are too few for a "
                                     "batch of {} rows of {} steps; give more words",
                                     words.size(), train.size(), validation.size(), kCharBatch, kCharChunk));
  fmt::print("{}: {} words of a-z only ({} of them in the list); {} to train on, {} held out; a vocabulary of "
             "{} characters (a-z and the end of a word)\n",
             path, words.size(), listed, trained, held, vocab.size());
  const tg::SequenceBatcher batches(train, kCharBatch, kCharChunk);
  OverallProgress progress(epochs * batches.chunks(), 1, isatty(2) != 0);
  const CharLmResult r = run.use_double ? train_char_lm<double>(train, validation, vocab, epochs, run.seed, progress)
                                        : train_char_lm<float>(train, validation, vocab, epochs, run.seed, progress);
  progress.clear();
  std::vector<std::vector<std::string>> rows;
  std::string csv = "epoch,training perplexity,held-out perplexity\n", dat;
  for (std::size_t e = 0; e < epochs; ++e) {
    rows.push_back({std::to_string(e + 1), fmt::format("{:.3f}", r.train_perplexity[e]),
                    fmt::format("{:.3f}", r.validation_perplexity[e])});
    csv += fmt::format("{},{:.9g},{:.9g}\n", e + 1, r.train_perplexity[e], r.validation_perplexity[e]);
    dat += fmt::format("{} {:.17g} {:.17g}\n", e + 1, r.train_perplexity[e], r.validation_perplexity[e]);
  }
  const std::set<std::string> known(words.begin(), words.end());
  std::size_t real = 0;
  std::string made;
  for (const std::string& w : r.generated) {
    const bool listed_word = known.count(w) > 0;
    real += listed_word;
    made += fmt::format("  {}{}\n", w.empty() ? "(empty)" : w, listed_word ? "  (in the list)" : "");
  }
  std::string text = table({"epoch", "training perplexity", "held-out perplexity"}, rows);
  text += fmt::format("\n(a uniform guess over the {} characters has perplexity {})\n", vocab.size(), vocab.size());
  text += fmt::format("\n{} words it makes up, sampled letter by letter ({} of them in the list):\n{}",
                      r.generated.size(), real, made);
  fmt::print("{}", text);
  write_text(output_path(run.out, "char_lm.txt"), text);
  write_text(output_path(run.out, "char_lm.csv"), csv);
  const std::string points = output_path(run.out, "char_lm.dat");
  write_text(points, dat);
  const std::string gp = "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset grid\n"
                         "set xlabel 'epoch'\nset ylabel 'perplexity per character'\nset key top right\n"
                         "set title 'a character-level LSTM language model on a word list' noenhanced\n"
                         "plot ARG2 using 1:2 with linespoints lw 2 title 'training words', "
                         "ARG2 using 1:3 with linespoints lw 2 title 'held-out words'\n";
  const std::string png = output_path(run.out, "char_lm.png");
  render_png(output_path(run.out, "char_lm.gp"), gp, png, {points});
  fmt::print("\ntable: {}\ncurves: {}\nplot:  {}\n", output_path(run.out, "char_lm.txt"),
             output_path(run.out, "char_lm.csv"), png);
  return 0;
}

}  // namespace

int sine_experiment(const RunOptions& run, const ExperimentOptions& options) { return sine(run, options); }
int addition_experiment(const RunOptions& run, const ExperimentOptions& options) { return addition(run, options); }
int char_lm_experiment(const RunOptions& run, const ExperimentOptions& options) { return char_lm(run, options); }

}  // namespace cli
