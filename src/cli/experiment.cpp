// `tapegrad experiment NAME`: the book's chapter 6 experiments as comparisons, seeded, each writing the table,
// CSVs and the two-panel plot of `compare` under OUT (the book's figure: the loss panel for weight-init, the
// accuracy panel for batch-norm and overfit).
#include <cmath>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/experiments.hpp"
#include "cli/grid.hpp"
#include "cli/output.hpp"
#include "cli/processes.hpp"

namespace cli {
namespace {

// The book's weight_init_activation_histogram.py: 1000 random inputs of 100 values through 5 layers of 100
// (z = a W, no bias), the activations of each layer under four weight scales, as histograms.
struct HistogramSetting {
  std::string label;
  double (*scale)(double fan_in);
  bool relu;
};
constexpr std::size_t kLayers = 5, kNodes = 100, kSamples = 1000, kBins = 30;

int activation_histogram(const RunOptions& run) {
  const std::vector<HistogramSetting> settings{
      {"sigmoid, std 1", [](double) { return 1.0; }, false},
      {"sigmoid, std 0.01", [](double) { return 0.01; }, false},
      {"sigmoid, Xavier", [](double n) { return std::sqrt(1 / n); }, false},
      {"ReLU, He", [](double n) { return std::sqrt(2 / n); }, true},
  };
  const std::string out = run.out;
  tg::prepare_output_folder(out);
  tg::Rng rng(run.seed);
  const tg::Tensor<double> input = tg::Tensor<double>::randn({kSamples, kNodes}, rng);
  std::vector<std::vector<std::string>> rows;
  std::string csv = "setting,layer,bin from,bin to,count\n", dat;
  for (const HistogramSetting& setting : settings) {
    tg::Tape<double> tape;
    tg::NoGradGuard no_grad;
    tg::Var<double> a = tape.constant(input);
    for (std::size_t layer = 1; layer <= kLayers; ++layer) {
      const tg::Tensor<double> w = tg::Tensor<double>::randn({kNodes, kNodes}, rng, setting.scale(double(kNodes)));
      const tg::Var<double> z = tg::matmul(a, w);
      a = setting.relu ? tg::relu(z) : tg::sigmoid(z);
      const tg::Tensor<double>& v = a.value();
      std::vector<std::size_t> bins(kBins);
      double sum = 0, squares = 0;
      std::size_t extreme = 0;  // sigmoid: within 0.05 of 0 or 1; ReLU: exactly 0
      for (std::size_t i = 0; i < v.size(); ++i) {
        sum += v[i];
        squares += v[i] * v[i];
        extreme += setting.relu ? v[i] == 0 : (v[i] < 0.05 || v[i] > 0.95);
        if (v[i] >= 0 && v[i] < 1) ++bins[static_cast<std::size_t>(v[i] * kBins)];
      }
      const double mean = sum / double(v.size());
      const double std_dev = std::sqrt(std::max(0.0, squares / double(v.size()) - mean * mean));
      rows.push_back({setting.label, std::to_string(layer), fmt::format("{:.4f}", mean), fmt::format("{:.4f}", std_dev),
                      fmt::format("{:.1f}%", 100.0 * double(extreme) / double(v.size()))});
      for (std::size_t b = 0; b < kBins; ++b) {
        csv += fmt::format("{},{},{:.4f},{:.4f},{}\n", csv_quoted(setting.label), layer, double(b) / kBins,
                           double(b + 1) / kBins, bins[b]);
        dat += fmt::format("{:.6f} {}\n", (double(b) + 0.5) / kBins, bins[b]);
      }
      dat += "\n\n";  // one gnuplot block per (setting, layer)
    }
  }
  const std::string text =
      table({"setting", "layer", "mean", "std", "saturated (sigmoid: <0.05 or >0.95) / zero (ReLU)"}, rows);
  fmt::print("{}", text);
  write_text(output_path(out, "activation_table.txt"), text);
  write_text(output_path(out, "activation_histograms.csv"), csv);
  const std::string blocks = output_path(out, "activation_histograms.dat");
  write_text(blocks, dat);
  // a row of five histograms per setting, as the book's figures; the data file is ARG2
  std::string gp = fmt::format("set terminal pngcairo size 1500,{} font ',9'\nset output ARG1\n", 260 * settings.size());
  gp += fmt::format("set multiplot layout {},{}\nset style fill solid 0.8\nset boxwidth 0.9 relative\n"
                    "set xrange [0:1]\nset yrange [0:*]\nunset key\n",
                    settings.size(), kLayers);
  for (std::size_t s = 0; s < settings.size(); ++s)
    for (std::size_t layer = 0; layer < kLayers; ++layer)
      gp += fmt::format("set title {} noenhanced\nplot ARG2 index {} using 1:2 with boxes lc rgb '#1f77b4'\n",
                        gnuplot_string(fmt::format("{}: layer {}", settings[s].label, layer + 1)), s * kLayers + layer);
  gp += "unset multiplot\n";
  const std::string png = output_path(out, "activation_histograms.png");
  render_png(output_path(out, "activation_histograms.gp"), gp, png, {blocks});
  fmt::print("\ntable: {}\nhistograms: {}\nplot:  {}\n", output_path(out, "activation_table.txt"),
             output_path(out, "activation_histograms.csv"), png);
  return 0;
}

// The book's volume 2, ch6 (rnn_gradient_graph.py): the gradient flowing back through 20 steps of
// h_t = h_{t-1} Wh, a batch of 2 and 3 hidden units, its norm ||dh|| / N at each step seen by a hook on each h_t.
// Wh drawn N(0, 1) explodes; the same times 0.5 vanishes; the exploding one with each step's gradient clipped to
// norm 1 (a replacing hook) stays bounded.
constexpr std::size_t kSteps = 20, kBatch = 2, kHidden = 3;

std::vector<double> gradient_norms(const tg::Tensor<double>& wh, double clip) {
  tg::Tape<double> tape;
  std::vector<tg::Var<double>> hs{tape.variable(tg::Tensor<double>::ones({kBatch, kHidden}))};
  for (std::size_t t = 0; t < kSteps; ++t) hs.push_back(tg::matmul(hs.back(), wh));
  const auto norm = [](const tg::Tensor<double>& g) {
    double squares = 0;
    for (double v : g) squares += v * v;
    return std::sqrt(squares);
  };
  std::vector<double> norms(kSteps, 0);
  for (std::size_t k = 1; k <= kSteps; ++k)  // the gradient reaching h_{T-k}: after k steps back
    hs[kSteps - k].register_hook([&norms, k, clip, norm](const tg::Tensor<double>& g) {
      tg::Tensor<double> out = g;
      const double n = norm(g);
      if (clip > 0 && n > clip)
        for (double& v : out) v *= clip / n;
      norms[k - 1] = norm(out) / double(kBatch);
      return out;
    });
  tg::sum(hs.back()).backward();  // dh at h_T: ones, as the book starts
  return norms;
}

int rnn_gradients(const RunOptions& run) {
  const std::string out = run.out;
  tg::prepare_output_folder(out);
  tg::Rng rng(run.seed);
  const tg::Tensor<double> wh = tg::Tensor<double>::randn({kHidden, kHidden}, rng);
  // The book's reason: a largest singular value above 1 lets dh grow, below 1 makes it shrink. The vanishing
  // matrix is Wh scaled to a largest singular value of 0.5 (the book halves its Wh; a halved N(0, 1) draw can
  // still be above 1).
  const auto largest_singular_value = [](const tg::Tensor<double>& w) {
    std::vector<double> v(kHidden, 1.0), next(kHidden);
    double lambda = 0;
    for (int iteration = 0; iteration < 200; ++iteration) {  // power iteration on W^T W
      std::vector<double> wv(kHidden, 0.0);
      for (std::size_t i = 0; i < kHidden; ++i)
        for (std::size_t j = 0; j < kHidden; ++j) wv[i] += w[i * kHidden + j] * v[j];
      std::fill(next.begin(), next.end(), 0.0);
      for (std::size_t i = 0; i < kHidden; ++i)
        for (std::size_t j = 0; j < kHidden; ++j) next[j] += w[i * kHidden + j] * wv[i];
      double n = 0;
      for (double x : next) n += x * x;
      lambda = std::sqrt(n);
      for (std::size_t j = 0; j < kHidden; ++j) v[j] = next[j] / lambda;
    }
    return std::sqrt(lambda);
  };
  const double sigma = largest_singular_value(wh);
  tg::Tensor<double> small = wh;
  for (double& v : small) v *= 0.5 / sigma;
  const std::vector<std::pair<std::string, std::vector<double>>> curves{
      {fmt::format("Wh ~ N(0, 1), sigma {:.3g}", sigma), gradient_norms(wh, 0)},
      {"Wh scaled to sigma 0.5", gradient_norms(small, 0)},
      {"Wh ~ N(0, 1), clipped to norm 1", gradient_norms(wh, 1)},
  };
  fmt::print("the largest singular value (sigma) of Wh: {:.4g}\n", sigma);
  std::vector<std::vector<std::string>> rows;
  std::string csv = "step back,exploding,vanishing,clipped\n", dat;
  for (std::size_t k = 0; k < kSteps; ++k) {
    rows.push_back({std::to_string(k + 1), fmt::format("{:.4g}", curves[0].second[k]),
                    fmt::format("{:.4g}", curves[1].second[k]), fmt::format("{:.4g}", curves[2].second[k])});
    csv += fmt::format("{},{:.9g},{:.9g},{:.9g}\n", k + 1, curves[0].second[k], curves[1].second[k],
                       curves[2].second[k]);
    dat += fmt::format("{} {:.17g} {:.17g} {:.17g}\n", k + 1, curves[0].second[k], curves[1].second[k],
                       curves[2].second[k]);
  }
  const std::string text = table({"steps back", curves[0].first, curves[1].first, curves[2].first}, rows);
  fmt::print("{}", text);
  write_text(output_path(out, "rnn_gradients.txt"), text);
  write_text(output_path(out, "rnn_gradients.csv"), csv);
  const std::string points = output_path(out, "rnn_gradients.dat");
  write_text(points, dat);
  std::string gp = "set terminal pngcairo size 800,500 font ',10'\nset output ARG1\nset logscale y\nset grid\n"
                   "set xlabel 'time steps back'\nset ylabel 'norm of dh / N (log scale)'\nset key top left\n"
                   "set title 'the gradient flowing back through h_t = h_{t-1} Wh (3 units, batch 2)' noenhanced\n";
  gp += "plot ARG2 using 1:2 with linespoints lw 2 title 'Wh ~ N(0, 1): explodes', "
        "ARG2 using 1:3 with linespoints lw 2 title 'Wh scaled to a largest singular value of 0.5: vanishes', "
        "ARG2 using 1:4 with linespoints lw 2 title 'Wh ~ N(0, 1), clipped to norm 1 each step'\n";
  const std::string png = output_path(out, "rnn_gradients.png");
  render_png(output_path(out, "rnn_gradients.gp"), gp, png, {points});
  fmt::print("\ntable: {}\ncurves: {}\nplot:  {}\n", output_path(out, "rnn_gradients.txt"),
             output_path(out, "rnn_gradients.csv"), png);
  return 0;
}

}  // namespace

const std::vector<StandaloneExperiment>& standalone_experiments() {
  static const std::vector<StandaloneExperiment> list{
      {"activation-histogram",
       "5 layers of 100, sigmoid with std 1, 0.01 and Xavier, ReLU with He: each layer's activations (the book's "
       "weight_init_activation_histogram.py)",
       {}, [](const RunOptions& run, const ExperimentOptions&) { return activation_histogram(run); }},
      {"rnn-gradients",
       "the gradient's norm through 20 steps of h_t = h_(t-1) Wh: exploding, vanishing, clipped (the book's volume 2, "
       "ch6, rnn_gradient_graph.py)",
       {}, [](const RunOptions& run, const ExperimentOptions&) { return rnn_gradients(run); }},
      {"sine",
       "RNN against LSTM predicting a noisy sine one step ahead, BPTT 30, Adam, 100 epochs, then cos (DeZero steps "
       "59-60)",
       {"--epochs", "--double"}, sine_experiment},
      {"addition",
       "seq2seq on 50,000 addition problems (45,000 to train), LSTM 128, Adam, clipped at 5, 25 epochs: baseline, "
       "reversed input, reversed with Peeky (the book's volume 2, ch7)",
       {"--epochs", "--limit", "--double"}, addition_experiment},
      {"char-lm",
       "a character-level LSTM language model on the words of Debian's wamerican (or --data FILE): perplexity per "
       "epoch and the words it makes up",
       {"--epochs", "--limit", "--data", "--double"}, char_lm_experiment},
      {"half-precision",
       "a trained network (--model CKPT) evaluated with its weights, then also every layer's outputs, rounded to "
       "float16 and to bfloat16 (the book's ch8, half_float_network.py)",
       {"--model", "--data"}, half_precision_experiment},
  };
  return list;
}

int experiment(const std::string& name, const RunOptions& options, const ExperimentOptions& settings,
               Processes& processes) {
  const Experiment* chosen = nullptr;
  const StandaloneExperiment* standalone = nullptr;
  std::vector<std::string> names;
  for (const Experiment& e : experiments()) {
    names.push_back(e.name);
    if (e.name == name) chosen = &e;
  }
  for (const StandaloneExperiment& e : standalone_experiments()) {
    names.push_back(e.name);
    if (e.name == name) standalone = &e;
  }
  if (!chosen && !standalone)
    throw tg::ValueError(fmt::format("experiment '{}': no such experiment (accepted: {})", name, fmt::join(names, ", ")));
  if (settings.trials && name != "hyperparameter-search")
    throw tg::ValueError(fmt::format("--trials: only hyperparameter-search draws trials, not {}", name));
  RunOptions run = options;
  if (run.out.empty()) run.out = output_path("out", name);
  if (standalone) {
    if (processes.distributed())
      throw tg::ValueError(fmt::format("experiment {}: runs on one process, without mpirun", name));
    fmt::print("experiment {}: {}\n", name, standalone->what);
    return standalone->run(run, settings);
  }
  const std::vector<Configuration> configs = chosen->plan(run, settings);
  if (processes.root()) fmt::print("experiment {}: {} (the book's {})\n", name, chosen->what, chosen->source);
  RunOptions compared = run;
  if (!chosen->comparison_folder.empty()) {
    if (processes.root()) tg::prepare_output_folder(run.out);
    compared.out = output_path(run.out, chosen->comparison_folder);
  }
  std::vector<AccuracyCurves> accuracy;
  compare_configurations(compared, configs, settings.seeds, settings.max_runs, 0.5, settings.jobs, processes,
                         fmt::format("{} ({})", name, chosen->source), &accuracy);
  if (chosen->report && processes.root()) chosen->report(run, configs, accuracy);
  return 0;
}

}  // namespace cli
