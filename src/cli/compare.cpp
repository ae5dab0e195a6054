// `tapegrad compare`: the same network, initial weights and batches under each configuration (optimizer, or any
// --vary axis), over seeds; and --lr-sweep, each optimizer at its best rate.
#include <algorithm>
#include <optional>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/diagnostics.hpp"
#include "cli/grid.hpp"
#include "cli/parallel.hpp"
#include "cli/processes.hpp"
#include "cli/progress.hpp"
#include "support/curves.hpp"

namespace cli {
namespace {

const char* const kColors[] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f"};

// One trained run: configuration `config` under seed `seed`.
struct Run {
  std::string label;  // the configuration's label, and "seed=S" when there are several seeds
  std::size_t config = 0;
  std::uint64_t seed = 0;
  tg::History history;
  std::vector<double> smoothed;
  double seconds_per_epoch = 0;
  std::string diverged;  // the NumericError that stopped it, or empty
  // --sharpness: before training (index 0) and after each epoch, with the rate then and the products it took
  std::vector<double> sharpness, sharpness_lr;
  std::size_t sharpness_products = 0;
  // --diagnose: its TrainingMonitor's records (histograms left out)
  std::vector<tg::LayerRecord> layers;
  std::vector<tg::UpdateRatio> ratios;
};

// The runs of one configuration (its seeds), as the table and the plot show them: mean and min-max.
struct Group {
  std::string label;
  std::vector<const Run*> runs;
  std::vector<double> mean, low, high;  // smoothed loss per iteration over the seeds (as long as the shortest)
};

std::vector<Group> by_configuration(const std::vector<Run>& runs, const std::vector<Configuration>& configs) {
  std::vector<Group> groups;
  for (const Run& r : runs) {
    if (groups.empty() || groups.back().runs.front()->config != r.config) groups.push_back({configs[r.config].label, {}, {}, {}, {}});
    groups.back().runs.push_back(&r);
  }
  for (Group& g : groups) {
    std::vector<const Run*> whole;  // a diverged run's curve stops early: the band is over the others
    for (const Run* r : g.runs)
      if (r->diverged.empty()) whole.push_back(r);
    if (whole.empty()) continue;
    std::size_t n = whole.front()->smoothed.size();
    for (const Run* r : whole) n = std::min(n, r->smoothed.size());
    for (std::size_t i = 0; i < n; ++i) {
      double sum = 0, lo = whole.front()->smoothed[i], hi = lo;
      for (const Run* r : whole) {
        sum += r->smoothed[i];
        lo = std::min(lo, r->smoothed[i]);
        hi = std::max(hi, r->smoothed[i]);
      }
      g.mean.push_back(sum / double(whole.size()));
      g.low.push_back(lo);
      g.high.push_back(hi);
    }
  }
  return groups;
}

// "0.8812" for one seed; "0.8812 [0.8790, 0.8850]" (mean [min, max]) for several.
std::string spread(const std::vector<double>& values, const char* format) {
  double sum = 0, lo = values.front(), hi = values.front();
  for (double v : values) sum += v, lo = std::min(lo, v), hi = std::max(hi, v);
  const std::string mean = fmt::format(format, sum / double(values.size()));
  if (values.size() == 1) return mean;
  return fmt::format("{} [{}, {}]", mean, fmt::format(format, lo), fmt::format(format, hi));
}

std::string loss_csv(const std::vector<Run>& runs) {
  std::string csv = "iteration";
  for (const Run& r : runs) csv += "," + csv_quoted(r.label + " loss") + "," + csv_quoted(r.label + " smoothed");
  csv += "\n";
  std::size_t n = 0;
  for (const Run& r : runs) n = std::max(n, r.history.loss.size());
  for (std::size_t i = 0; i < n; ++i) {
    csv += std::to_string(i + 1);
    for (const Run& r : runs)
      csv += i < r.history.loss.size() ? fmt::format(",{:.6g},{:.6g}", r.history.loss[i], r.smoothed[i]) : ",,";
    csv += "\n";
  }
  return csv;
}

// Per configuration: the mean smoothed loss over its seeds and the band between the lowest and highest.
std::string band_csv(const std::vector<Group>& groups) {
  std::string csv = "iteration";
  for (const Group& g : groups) csv += "," + csv_quoted(g.label + " mean") + "," + csv_quoted(g.label + " min") + "," + csv_quoted(g.label + " max");
  csv += "\n";
  std::size_t n = 0;
  for (const Group& g : groups) n = std::max(n, g.mean.size());
  for (std::size_t i = 0; i < n; ++i) {
    csv += std::to_string(i + 1);
    for (const Group& g : groups)
      csv += i < g.mean.size() ? fmt::format(",{:.6g},{:.6g},{:.6g}", g.mean[i], g.low[i], g.high[i]) : ",,,";
    csv += "\n";
  }
  return csv;
}

// Train and test accuracy after each epoch, per run (the book's chapter 4 figure).
std::string accuracy_csv(const std::vector<Run>& runs) {
  std::string csv = fmt::format("label,seed,{}\n", kEpochCsvColumns);
  for (const Run& r : runs)
    for (const tg::EpochStats& e : r.history.epochs)
      csv += fmt::format("{},{},{}\n", csv_quoted(r.label), r.seed, epoch_csv_row(e));
  return csv;
}

// Per configuration, mean train and test accuracy after each epoch: "epoch,<label> train,<label> test,...".
std::string accuracy_means_csv(const std::vector<Group>& groups) {
  std::string csv = "epoch";
  for (const Group& g : groups) csv += "," + csv_quoted(g.label + " train") + "," + csv_quoted(g.label + " test");
  csv += "\n";
  std::size_t epochs = 0;
  for (const Group& g : groups) epochs = std::max(epochs, g.runs.front()->history.epochs.size());
  for (std::size_t e = 0; e < epochs; ++e) {
    csv += std::to_string(e + 1);
    for (const Group& g : groups) {
      double train = 0, test = 0;
      std::size_t n = 0;
      for (const Run* r : g.runs)
        if (e < r->history.epochs.size()) train += r->history.epochs[e].train_accuracy, test += r->history.epochs[e].test_accuracy, ++n;
      csv += n ? fmt::format(",{:.6g},{:.6g}", train / double(n), test / double(n)) : ",,";
    }
    csv += "\n";
  }
  return csv;
}

// Per configuration, the mean train and test accuracy after each epoch over the seeds that did not diverge (as
// long as the shortest of them).
std::vector<AccuracyCurves> accuracy_curves(const std::vector<Group>& groups, std::size_t configurations) {
  std::vector<AccuracyCurves> curves(configurations);
  for (const Group& g : groups) {
    std::vector<const tg::History*> whole;
    for (const Run* r : g.runs)
      if (r->diverged.empty() && !r->history.epochs.empty()) whole.push_back(&r->history);
    if (whole.empty()) continue;
    std::size_t epochs = whole.front()->epochs.size();
    for (const tg::History* h : whole) epochs = std::min(epochs, h->epochs.size());
    AccuracyCurves& c = curves[g.runs.front()->config];
    for (std::size_t e = 0; e < epochs; ++e) {
      double train = 0, test = 0;
      for (const tg::History* h : whole) train += h->epochs[e].train_accuracy, test += h->epochs[e].test_accuracy;
      c.train.push_back(train / double(whole.size()));
      c.test.push_back(test / double(whole.size()));
    }
  }
  return curves;
}

// Two panels: the smoothed loss per configuration (mean over seeds, min-max band behind it) and train / test
// accuracy per epoch. The script holds no user text: the PNG is ARG1, the loss CSV ARG2, the title ARG3, the
// accuracy CSV ARG4 (paths and the data folder's name reach gnuplot as values, never as code); labels are the
// program's own, quoted. Above 12 configurations the keys are left out (the table names them).
std::string loss_plot_script(const std::vector<Group>& groups, const std::string& tested) {
  const bool keyed = groups.size() <= 12;
  std::string gp = fmt::format(
      "set terminal pngcairo size 1000,1000 font ',11'\nset output ARG1\nset datafile separator ','\n"
      "set multiplot layout 2,1 title ARG3 noenhanced\n"
      "set xlabel 'iteration'\nset ylabel 'training loss (smoothed; min-max over seeds)'\n"
      "set yrange [0:2.5]\nset grid\n{}\nset style fill transparent solid 0.2 noborder\nplot ",
      keyed ? "set key top right noenhanced" : "unset key");
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    gp += fmt::format("{}ARG2 using 1:{}:{} with filledcurves lc rgb '#{}' notitle, \\\n     ARG2 using 1:{} with lines "
                      "lw 2.5 lc rgb '#{}' title {}",
                      i ? ", \\\n     " : "", 3 * i + 3, 3 * i + 4, color, 3 * i + 2, color,
                      gnuplot_string(groups[i].label));
  }
  std::size_t epochs = 0;
  for (const Group& g : groups)
    for (const Run* r : g.runs) epochs = std::max(epochs, r->history.epochs.size());
  const bool few = epochs <= 20;  // a point and a tick per epoch while they can be told apart
  gp += fmt::format("\nset xlabel 'epoch'\n{}set ylabel 'accuracy (solid: {}, dashed: train)'\nset yrange [*:*]\n"
                    "{}\nplot ",
                    few ? "set xtics 1\n" : "", tested, keyed ? "set key bottom right noenhanced" : "unset key");
  const char* style = few ? "linespoints" : "lines";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    gp += fmt::format("{}ARG4 using 1:{} with {} lw 2 pt 7 lc rgb '#{}' title {}, \\\n     ARG4 using 1:{} with "
                      "{} lw 2 dt 2 pt 6 lc rgb '#{}' notitle",
                      i ? ", \\\n     " : "", 2 * i + 3, style, color, gnuplot_string(groups[i].label), 2 * i + 2,
                      style, color);
  }
  return gp + "\nunset multiplot\n";
}

// --sharpness: each run's sharpness per epoch (solid) and its 2/lr (dashed, same colour), log scale. The PNG is
// ARG1 and the data ARG2 (a block per run); labels are the program's own, quoted.
std::string sharpness_plot_script(const std::vector<Run>& runs) {
  const bool keyed = runs.size() <= 12;
  std::string gp = "set terminal pngcairo size 1000,600 font ',11'\nset output ARG1\nset logscale y\nset grid\n"
                   "set xlabel 'epoch (0: before training)'\nset ylabel 'largest Hessian eigenvalue of the loss'\n"
                   "set title 'sharpness (solid) and 2/lr (dashed): gradient descent is stable below its line' "
                   "noenhanced\n";
  gp += keyed ? "set key outside right noenhanced\nplot " : "unset key\nplot ";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const char* color = kColors[i % std::size(kColors)];
    gp += fmt::format("{}ARG2 index {} using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc rgb '#{}' title {}, \\\n     "
                      "ARG2 index {} using 1:3 with lines lw 1.5 dt 2 lc rgb '#{}' notitle",
                      i ? ", \\\n     " : "", i, color, gnuplot_string(runs[i].label), i, color);
  }
  return gp + "\n";
}

// --sharpness: a table (at the start, at the end, the largest, and 2/lr at the end), a CSV and the plot.
void write_sharpness(const std::vector<Run>& runs, std::size_t rows_measured, const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  std::string csv = "label,seed,epoch,learning rate,sharpness,2/lr\n", dat;
  std::size_t products = 0;
  for (const Run& r : runs) {
    if (r.sharpness.empty()) continue;
    products += r.sharpness_products;
    const double edge = 2 / r.sharpness_lr.back();
    rows.push_back({r.label, fmt::format("{:.4g}", r.sharpness.front()), fmt::format("{:.4g}", r.sharpness.back()),
                    fmt::format("{:.4g}", *std::max_element(r.sharpness.begin(), r.sharpness.end())),
                    fmt::format("{:.4g}", edge), fmt::format("{:.2f}", r.sharpness.back() / edge)});
    for (std::size_t e = 0; e < r.sharpness.size(); ++e) {
      csv += fmt::format("{},{},{},{:.6g},{:.6g},{:.6g}\n", csv_quoted(r.label), r.seed, e, r.sharpness_lr[e],
                         r.sharpness[e], 2 / r.sharpness_lr[e]);
      dat += fmt::format("{} {:.17g} {:.17g}\n", e, r.sharpness[e], 2 / r.sharpness_lr[e]);
    }
    dat += "\n\n";
  }
  const std::string text =
      table({"run", "sharpness at the start", "at the end", "largest", "2/lr at the end", "end / (2/lr)"}, rows);
  fmt::print("\nsharpness (on the first {} training rows; {} Hessian-vector products in all):\n{}", rows_measured,
             products, text);
  write_text(output_path(out, "compare_sharpness.txt"), text);
  write_text(output_path(out, "compare_sharpness.csv"), csv);
  const std::string points = output_path(out, "compare_sharpness.dat");
  write_text(points, dat);
  const std::string png = output_path(out, "compare_sharpness.png");
  render_png(output_path(out, "compare_sharpness.gp"), sharpness_plot_script(runs), png, {points});
  fmt::print("sharpness: {}, {}\nplot:  {}\n", output_path(out, "compare_sharpness.csv"),
             output_path(out, "compare_sharpness.txt"), png);
}

// Everything a comparison shows, written again after each finished run: Ctrl-C or a failure in a later run
// keeps the table and curves of the runs before it.
struct CompareOutputs {
  std::string table_path, csv_path, bands_path, accuracy_path, accuracy_means_path;
  double threshold;
  const std::vector<Configuration>* configs;
  std::size_t seeds;
  std::string tested;  // what the test accuracy is measured on: "test", or "validation" for a validation split
  std::string write(const std::vector<Run>& runs) const {
    if (runs.empty()) {
      write_text(table_path, "no run has finished yet\n");
      for (const std::string& csv : {csv_path, bands_path, accuracy_path, accuracy_means_path}) write_text(csv, "\n");
      return "";
    }
    const std::vector<Group> groups = by_configuration(runs, *configs);
    std::vector<std::vector<std::string>> rows;
    for (const Group& g : groups) {
      std::vector<double> loss, train, test, seconds, below;
      std::size_t diverged = 0;
      for (const Run* r : g.runs) {
        if (!r->diverged.empty()) {
          ++diverged;
          continue;
        }
        loss.push_back(r->history.epochs.back().train_loss);
        train.push_back(100 * r->history.epochs.back().train_accuracy);
        test.push_back(100 * r->history.epochs.back().test_accuracy);
        seconds.push_back(r->seconds_per_epoch);
      }
      if (loss.empty()) {
        rows.push_back({g.label, "diverged", "-", "-", "-", "-"});
        continue;
      }
      const long first = tg::support::first_below(g.mean, threshold);
      rows.push_back({g.label,
                      spread(loss, "{:.4f}") +
                          (diverged ? fmt::format(" ({} of {} diverged)", diverged, g.runs.size()) : ""),
                      spread(train, "{:.2f}%"), spread(test, "{:.2f}%"), spread(seconds, "{:.2f}"),
                      first < 0 ? "never" : std::to_string(first + 1)});
    }
    const bool only_optimizers = configs->front().settings.size() == 1 && configs->front().settings[0].first == "opt";
    const std::string text =
        (seeds > 1 ? fmt::format("mean [min, max] over {} seeds\n", seeds) : std::string()) +
        table({only_optimizers ? "optimizer" : "configuration", "final train loss", "train accuracy", tested + " accuracy",
               "s/epoch", fmt::format("iter: loss < {:g}", threshold)},
              rows);
    write_text(table_path, text);
    write_text(csv_path, loss_csv(runs));
    write_text(bands_path, band_csv(groups));
    write_text(accuracy_path, accuracy_csv(runs));
    write_text(accuracy_means_path, accuracy_means_csv(groups));
    return text;
  }
};

// What one run prints (its header and a line per epoch), written by the run's thread and printed by the main
// thread, so that output keeps the order of the runs whatever the number of jobs.
class RunLog {
 public:
  void append(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    text_ += text;
  }
  std::string take_new() {  // what was appended since the last call
    std::lock_guard<std::mutex> lock(mutex_);
    std::string fresh = text_.substr(taken_);
    taken_ = text_.size();
    return fresh;
  }
  std::string all() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return text_;
  }

 private:
  mutable std::mutex mutex_;
  std::string text_;
  std::size_t taken_ = 0;
};

template <class T>
Run train_one(const RunOptions& run, const tg::TrainTest& data, const tg::OptimizerSpec& spec, const std::string& label,
              RunLog& log, OverallProgress& progress, const std::function<bool()>& should_stop) {
  const tg::NetSpec net_spec = run.net(data.train.sample_shape(), data.train.classes);
  tg::Rng rng(run.seed);  // the same initial weights for every optimizer
  auto net = tg::make_network<T>(net_spec, rng);
  auto optimizer = tg::make_optimizer<T>(spec, net->parameters());
  run.scope_decay(*optimizer);
  const std::string described = optimizer->describe();
  log.append(fmt::format("== {}{} on {}, batch {}, seed {}{}{} ({})\n", label == described ? "" : label + ": ", described,
                         net_spec.str(),
                         run.batch, run.seed, run.schedule == "constant" ? "" : ", schedule " + run.schedule,
                         run.clip.empty() ? "" : ", clip " + run.clip, sizeof(T) == 4 ? "float" : "double"));
  tg::TrainerOptions options;
  options.epochs = run.epochs;
  options.batch_size = run.batch;
  options.seed = run.seed;  // the same batches for every optimizer
  options.progress = tg::TrainerOptions::Progress::Quiet;  // the lines go to the log, the bar is the comparison's
  options.should_stop = [&should_stop] { return interrupted() || should_stop(); };
  options.after_step = [&progress] { progress.step(); };
  run.set_training(options);
  tg::Trainer<T> trainer(*net, *optimizer, options);
  trainer.add_callback([&](const tg::EpochStats& e, const tg::History&) {
    if (!run.epoch_lines && e.epoch != run.epochs) return true;
    log.append(fmt::format("epoch {:>2}/{}  loss {:.4f}  train acc {:.4f}  {} acc {:.4f}  {:.2f} s\n", e.epoch,
                           run.epochs, e.train_loss, e.train_accuracy, run.validation > 0 ? "val" : "test",
                           e.test_accuracy, e.seconds));
    if (run.grad_norms) log.append("grad norms:" + tg::gradient_norms_text(*net) + "\n");
    return true;
  });
  Run r;
  r.label = label;
  const tg::Dataset sample = run.sharpness ? data.train.head(kSharpnessRows) : tg::Dataset{};  // outlives fit
  if (run.sharpness) {
    const auto measure = [&r, &sample, &net, &optimizer] {
      tg::CurvatureOptions options;
      options.max_iterations = 50;
      options.tolerance = 1e-4;
      const tg::Eigenpairs<T> top = tg::loss_sharpness(*net, sample, options);
      r.sharpness.push_back(top.values.front());
      r.sharpness_lr.push_back(optimizer->learning_rate());
      r.sharpness_products += top.products;
    };
    measure();
    trainer.add_callback([measure](const tg::EpochStats&, const tg::History&) {
      measure();
      return true;
    });
  }
  std::optional<tg::TrainingMonitor<T>> monitor;
  if (run.diagnose) {
    monitor.emplace(*net);
    monitor->attach(trainer);
  }
  const auto keep_monitor = [&] {
    if (!monitor) return;
    r.layers = monitor->layer_records();
    for (tg::LayerRecord& l : r.layers) l.activations = l.gradients = tg::Histogram{};
    r.ratios = monitor->update_ratios();
  };
  tg::History so_far;  // the epochs before a divergence
  trainer.add_callback([&so_far](const tg::EpochStats&, const tg::History& h) {
    so_far = h;
    return true;
  });
  try {
    r.history = trainer.fit(data.train, &data.test);
  } catch (const tg::NumericError& e) {
    // A setting that diverges is a result of the comparison (e.g. the book's unnormalised networks at weight
    // scale 1), not a failure of it: the run keeps its finished epochs and says where it stopped.
    r.history = so_far;
    r.diverged = e.what();
    log.append(fmt::format("diverged: {}\n", e.what()));
  }
  keep_monitor();
  for (const tg::EpochStats& e : r.history.epochs) r.seconds_per_epoch += e.seconds / double(r.history.epochs.size());
  return r;
}

// A run as bytes, to send from the process that trained it to process 0 (same machine type: raw doubles).
struct Packer {
  std::string bytes;
  template <class V>
  void value(const V& v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void text(const std::string& t) {
    value(t.size());
    bytes += t;
  }
};
struct Unpacker {
  const std::string& bytes;
  std::size_t at = 0;
  template <class V>
  V value() {
    V v{};
    if (at + sizeof v > bytes.size()) throw tg::CommunicationError("compare: a run's results arrived truncated");
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string text() {
    const auto n = value<std::size_t>();
    if (n > bytes.size() - at) throw tg::CommunicationError("compare: a run's results arrived truncated");
    at += n;
    return bytes.substr(at - n, n);
  }
};

std::size_t bytes_left(const Unpacker& u) { return u.bytes.size() - u.at; }

void pack(Packer& p, std::size_t index, const Run& r, const std::string& log) {
  p.value(index);
  p.text(r.label);
  p.value(r.config);
  p.value(r.seed);
  p.text(r.diverged);
  p.text(log);
  p.value(r.seconds_per_epoch);
  p.value(r.history.loss.size());
  for (double l : r.history.loss) p.value(l);
  p.value(r.history.epochs.size());
  for (const tg::EpochStats& e : r.history.epochs) p.value(e);
  p.value(r.sharpness.size());
  for (std::size_t i = 0; i < r.sharpness.size(); ++i) p.value(r.sharpness[i]), p.value(r.sharpness_lr[i]);
  p.value(r.sharpness_products);
  p.value(r.layers.size());
  for (const tg::LayerRecord& l : r.layers) {
    p.value(l.epoch);
    p.text(l.layer);
    p.text(l.kind);
    p.value(l.inactive_share);
  }
  p.value(r.ratios.size());
  for (const tg::UpdateRatio& u : r.ratios) {
    p.value(u.step);
    p.text(u.parameter);
    p.value(u.log10_ratio);
  }
}

std::size_t unpack(Unpacker& u, Run& r, std::string& log) {
  const auto index = u.value<std::size_t>();
  r.label = u.text();
  r.config = u.value<std::size_t>();
  r.seed = u.value<std::uint64_t>();
  r.diverged = u.text();
  log = u.text();
  r.seconds_per_epoch = u.value<double>();
  r.history.loss.resize(u.value<std::size_t>());
  for (double& l : r.history.loss) l = u.value<double>();
  r.history.epochs.resize(u.value<std::size_t>());
  for (tg::EpochStats& e : r.history.epochs) e = u.value<tg::EpochStats>();
  const auto measured = u.value<std::size_t>();
  if (measured > bytes_left(u) / (2 * sizeof(double)))
    throw tg::CommunicationError("compare: a run's results arrived truncated");
  for (std::size_t i = 0; i < measured; ++i) {
    r.sharpness.push_back(u.value<double>());
    r.sharpness_lr.push_back(u.value<double>());
  }
  r.sharpness_products = u.value<std::size_t>();
  const auto layers = u.value<std::size_t>();  // each at least its two counts, two lengths and a share
  if (layers > bytes_left(u) / (5 * sizeof(std::size_t)))
    throw tg::CommunicationError("compare: a run's results arrived truncated");
  r.layers.resize(layers);
  for (tg::LayerRecord& l : r.layers) {
    l.epoch = u.value<std::size_t>();
    l.layer = u.text();
    l.kind = u.text();
    l.inactive_share = u.value<double>();
  }
  const auto ratios = u.value<std::size_t>();
  if (ratios > bytes_left(u) / (3 * sizeof(std::size_t)))
    throw tg::CommunicationError("compare: a run's results arrived truncated");
  r.ratios.resize(ratios);
  for (tg::UpdateRatio& x : r.ratios) {
    x.step = u.value<std::size_t>();
    x.parameter = u.text();
    x.log10_ratio = u.value<double>();
  }
  return index;
}

}  // namespace

namespace {
// The learning rates an lr sweep tries for an optimizer: its rate (given or default) times 10, 3, 1, 1/3, 1/10.
std::vector<double> sweep_rates(const tg::OptimizerSpec& spec) {
  const double base = spec.value("lr");
  std::vector<double> rates;
  for (double factor : {10.0, 3.0, 1.0, 1 / 3.0, 0.1}) rates.push_back(std::stod(fmt::format("{:.3g}", base * factor)));
  return rates;
}

// --lr-sweep: each optimizer's best rate on a validation split of the training set, then the comparison at
// those rates on the whole training set and the test set.
int compare_at_best_rates(const RunOptions& run, const std::vector<std::string>& optimizers, std::size_t seeds,
                          std::size_t max_runs, double threshold, std::size_t jobs, Processes& processes) {
  if (processes.distributed())
    throw tg::ValueError("--lr-sweep: runs on one process (under mpirun, compare without it)");
  RunOptions sweep = run;
  sweep.validation = 0.2;  // the book's validation_rate
  sweep.sharpness = false;  // measured in the comparison at the chosen rates
  sweep.out = output_path(run.out, "lr-sweep");
  std::vector<Configuration> tries;
  std::vector<std::pair<std::size_t, double>> tried;  // (optimizer, rate) of each try
  const std::vector<std::string> names = optimizers.empty() ? kDefaultOptimizers : optimizers;
  for (std::size_t o = 0; o < names.size(); ++o) {
    const tg::OptimizerSpec spec = tg::OptimizerSpec::parse(names[o]);
    for (double rate : sweep_rates(spec)) {
      Configuration c = configurations(sweep, {names[o]}, {})[0];
      c.optimizer.options.lr = rate;
      c.settings = {{"opt", c.optimizer.str()}};
      c.label = optimizer_label(c.optimizer);
      tries.push_back(std::move(c));
      tried.emplace_back(o, rate);
    }
  }
  fmt::print("lr sweep: {} rates for each of {} optimizers, scored by accuracy on a validation split (20% of the "
             "training images, seeded); the test set is not used\n",
             tried.size() / names.size(), names.size());
  std::vector<AccuracyCurves> curves;
  compare_configurations(sweep, tries, seeds, max_runs, threshold, jobs, processes, "lr sweep (validation split)",
                         &curves);
  std::vector<double> scores;  // final validation accuracy; NaN where every seed diverged
  for (const AccuracyCurves& c : curves) scores.push_back(c.test.empty() ? std::nan("") : c.test.back());

  std::vector<std::string> chosen = names;
  std::vector<std::vector<std::string>> rows;
  for (std::size_t o = 0; o < names.size(); ++o) {
    std::size_t best = tries.size();
    std::vector<std::string> rates;
    for (std::size_t t = 0; t < tries.size(); ++t) {
      if (tried[t].first != o) continue;
      rates.push_back(std::isnan(scores[t]) ? fmt::format("{:g} (diverged)", tried[t].second)
                                            : fmt::format("{:g}: {:.2f}%", tried[t].second, 100 * scores[t]));
      if (!std::isnan(scores[t]) && (best == tries.size() || scores[t] > scores[best])) best = t;
    }
    if (best == tries.size())
      throw tg::NumericError(fmt::format("--lr-sweep: {} diverged at every rate tried", names[o]));
    tg::OptimizerSpec spec = tries[best].optimizer;
    chosen[o] = spec.str();
    rows.push_back({names[o], fmt::format("{}", fmt::join(rates, ", ")), fmt::format("{:g}", *spec.options.lr)});
  }
  const std::string text = table({"optimizer", "validation accuracy at each rate", "chosen rate"}, rows);
  fmt::print("\n{}\n", text);
  write_text(output_path(run.out, "lr_sweep.txt"), text);
  fmt::print("sweep: {}\n\ncomparison at the chosen rates:\n", output_path(run.out, "lr_sweep.txt"));
  std::vector<Configuration> configs = configurations(run, chosen, {});
  return compare_configurations(run, configs, seeds, max_runs, threshold, jobs, processes, "", nullptr);
}
}  // namespace

int compare_networks(const RunOptions& run, const std::vector<std::string>& optimizers,
                     const std::vector<std::vector<std::string>>& vary, std::size_t seeds, std::size_t max_runs,
                     bool lr_sweep, double threshold, std::size_t jobs, Processes& processes) {
  std::vector<Configuration> configs;
  processes.all_or_none([&] {
    check_run_count(count_configurations(optimizers, vary), lr_sweep ? 1 : seeds, max_runs);  // before building it
    configs = configurations(run, optimizers, vary);  // before the data is read
    if (lr_sweep && !vary.empty())
      throw tg::ValueError("--lr-sweep chooses each optimizer's rate: give the optimizers with --opt, not --vary");
    if (lr_sweep) tg::prepare_output_folder(run.out);
  });
  if (lr_sweep) return compare_at_best_rates(run, optimizers, seeds, max_runs, threshold, jobs, processes);
  return compare_configurations(run, configs, seeds, max_runs, threshold, jobs, processes,
                                vary.empty() ? "" : fmt::format("{} configurations", configs.size()), nullptr);
}

int compare_configurations(const RunOptions& run, const std::vector<Configuration>& configs, std::size_t seeds,
                           std::size_t max_runs, double threshold, std::size_t jobs, Processes& processes,
                           const std::string& title, std::vector<AccuracyCurves>* accuracy) {
  tg::TrainTest data;
  processes.all_or_none([&] {
    if (seeds < 1 || seeds > 1000) throw tg::ValueError(fmt::format("--seeds {}: give 1 to 1000 seeds", seeds));
    check_run_count(configs.size(), seeds, max_runs);
    if (processes.root()) {
      tg::prepare_output_folder(run.out);  // before any training: not found out at its end
      if (run.diagnose)
        for (const std::string& name : compare_diagnostics_files()) tg::output_target(output_path(run.out, name));
    }
    data = run.load();
    for (const Configuration& c : configs) c.run.net(data.train.sample_shape(), data.train.classes);
  });
  if (processes.distributed()) processes.agree({{"data contents", data_contents(data)}});
  // Run i is configuration i / seeds under seed run.seed + i % seeds: every configuration sees the same initial
  // weights and batches for a given seed.
  const std::size_t total = configs.size() * seeds;
  const auto config_of = [&](std::size_t i) { return i / seeds; };
  const auto seed_of = [&](std::size_t i) { return run.seed + i % seeds; };
  // Run i is trained by process i mod N; each process runs its share `jobs` at a time, one thread each.
  std::vector<std::size_t> mine;
  for (std::size_t i = processes.rank(); i < total; i += processes.size()) mine.push_back(i);
  if (jobs == 0) jobs = std::max<std::size_t>(1, available_cores() / processes.local_size());
  if (jobs > 1) tg::set_blas_threads(1);
  if (processes.root()) {
    fmt::print("data: {} ({} training images, {})\nread: {}\n", run.data, data.train.rows,
               run.validation > 0 ? fmt::format("{} more held out from them for validation", data.test.rows)
                                  : fmt::format("{} test images", data.test.rows),
               files_read(data));
    fmt::print("{} runs of {} epochs{}, {} at a time{}\n", total, run.epochs,
               seeds > 1 ? fmt::format(" ({} configurations x {} seeds)", configs.size(), seeds) : "",
               std::min(jobs, mine.size()),
               processes.distributed() ? fmt::format(" on each of {} processes", processes.size()) : "");
    std::fflush(stdout);
  }
  const CompareOutputs outputs{output_path(run.out, "compare_table.txt"),
                               output_path(run.out, "compare_loss.csv"),
                               output_path(run.out, "compare_loss_bands.csv"),
                               output_path(run.out, "compare_accuracy.csv"),
                               output_path(run.out, "compare_accuracy_means.csv"),
                               threshold,
                               &configs,
                               seeds,
                               run.validation > 0 ? "validation" : "test"};
  std::size_t my_steps = 0;
  for (std::size_t i : mine) {
    const RunOptions& r = configs[config_of(i)].run;
    const std::size_t steps = r.epochs * ((data.train.rows + r.batch - 1) / r.batch);
    my_steps += r.iterations > 0 ? std::min(steps, r.iterations) : steps;
  }
  OverallProgress progress(my_steps, mine.size(), processes.root());
  std::vector<RunLog> logs(mine.size());
  std::vector<Run> trained(mine.size());
  std::vector<Run> runs;  // process 0, one process: the finished runs, in order
  if (processes.root() && !processes.distributed()) outputs.write(runs);  // no stale table from an earlier run
  auto last_write = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration last_write_cost{};
  const auto task = [&](std::size_t k, const std::function<bool()>& should_stop) {
    const std::size_t i = mine[k];
    const Configuration& c = configs[config_of(i)];
    RunOptions options = c.run;
    options.seed = seed_of(i);
    const std::string label = seeds > 1 ? fmt::format("{} seed={}", c.label, options.seed) : c.label;
    trained[k] = options.use_double
                     ? train_one<double>(options, data, c.optimizer, label, logs[k], progress, should_stop)
                     : train_one<float>(options, data, c.optimizer, label, logs[k], progress, should_stop);
    trained[k].config = config_of(i);
    trained[k].seed = options.seed;
  };
  std::size_t live = 0;  // the run whose lines are printed as they come (one process only)
  const auto print_live = [&] {
    if (processes.distributed() || live >= mine.size()) return;
    const std::string fresh = logs[live].take_new();
    if (!fresh.empty()) progress.print(fresh);
  };
  const auto finished = [&](std::size_t k) {
    progress.run_done();
    if (processes.distributed()) return;
    print_live();
    ++live;
    trained[k].smoothed = tg::support::smooth_curve(trained[k].history.loss);
    runs.push_back(std::move(trained[k]));
    // the finished runs are rewritten after a run unless the last rewrite took more than a tenth of the time
    // since (so rewriting costs at most ~10% on top of training, and a long grid linear time), and once more
    // when the comparison stops for any reason: Ctrl-C or a failure later keeps them
    const auto now = std::chrono::steady_clock::now();
    if (now - last_write >= 10 * last_write_cost) {
      outputs.write(runs);
      last_write = std::chrono::steady_clock::now();
      last_write_cost = last_write - now;
    }
  };
  const auto keep_finished = [&] {
    if (processes.distributed() || runs.empty()) return;
    try {
      outputs.write(runs);
    } catch (const tg::Error& e) {
      fmt::print(stderr, "tapegrad: the finished runs could not be kept: {}\n", e.what());
    }
  };
  try {
    run_in_order(mine.size(), jobs, task, finished, [&] {
      print_live();
      progress.draw();
    });
  } catch (const tg::Interrupted&) {
    progress.clear();
    if (processes.distributed()) throw;
    keep_finished();
    throw tg::Interrupted(fmt::format("interrupted; the finished runs are kept in {} and {}", outputs.table_path,
                                      outputs.csv_path));
  } catch (...) {
    progress.clear();
    keep_finished();
    throw;
  }
  progress.clear();
  if (processes.distributed()) {
    Packer packed;
    for (std::size_t k = 0; k < mine.size(); ++k) pack(packed, mine[k], trained[k], logs[k].all());
    const std::vector<std::string> parts = processes.gather(packed.bytes);
    if (!processes.root()) return 0;
    std::vector<Run> all(total);
    std::vector<std::string> all_logs(total);
    for (const std::string& part : parts)
      for (Unpacker u{part}; u.at < part.size();) {
        Run r;
        std::string log;
        const std::size_t index = unpack(u, r, log);
        if (index >= total || r.config >= configs.size())
          throw tg::CommunicationError("compare: a run's results arrived with a bad index");
        all[index] = std::move(r);
        all_logs[index] = std::move(log);
      }
    for (std::size_t i = 0; i < total; ++i) {
      fmt::print("{}", all_logs[i]);
      all[i].smoothed = tg::support::smooth_curve(all[i].history.loss);
    }
    runs = std::move(all);
  }
  fmt::print("\n{}", outputs.write(runs));
  fmt::print("\ntable: {}\ncurves: {}, {}\naccuracy: {}, {}\n", outputs.table_path, outputs.csv_path,
             outputs.bands_path, outputs.accuracy_path, outputs.accuracy_means_path);
  const std::string described = title.empty() ? run.net(data.train.sample_shape(), data.train.classes).str() : title;
  const std::string png = output_path(run.out, "compare_loss.png");
  const std::vector<Group> groups = by_configuration(runs, configs);
  render_png(output_path(run.out, "compare_loss.gp"), loss_plot_script(groups, outputs.tested), png,
             {outputs.bands_path,
              fmt::format("{} on {}, batch {}, seed {}{}", described,
                          std::filesystem::path(run.data).filename().string(), run.batch, run.seed,
                          seeds > 1 ? fmt::format(" (+{} more)", seeds - 1) : ""),
              outputs.accuracy_means_path});
  fmt::print("plot:  {}\n", png);
  if (run.sharpness) write_sharpness(runs, std::min(data.train.rows, kSharpnessRows), run.out);
  if (run.diagnose) {
    std::vector<RunDiagnostics> diagnostics;
    for (const Run& r : runs) diagnostics.push_back({r.label, r.layers, r.ratios});
    fmt::print("diagnostics: {}\n", fmt::join(write_compare_diagnostics(diagnostics, run.out), ", "));
  }
  if (accuracy) *accuracy = accuracy_curves(groups, configs.size());
  return 0;
}

}  // namespace cli
