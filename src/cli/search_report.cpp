// What `tapegrad experiment hyperparameter-search` shows after its trials: the trials ranked by validation
// accuracy, the ranges the best of them share, the best runs' curves (the book's figure) and accuracy against
// each hyperparameter.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/experiments.hpp"

namespace cli {
namespace {

constexpr std::size_t kBestShown = 20;  // the book plots its best 20
constexpr std::size_t kBestRange = 5;   // the ranges the best share
const std::vector<std::string> kRankingHeader{"rank", "trial", "lr", "weight decay", "validation accuracy",
                                              "train accuracy"};

// The book's figure: a panel per best trial, validation accuracy solid and train accuracy dashed. ARG1 is the
// PNG, ARG2 the curves' CSV; the titles are the program's own text.
std::string best_curves_script(const std::vector<std::string>& titles) {
  const std::size_t cols = 4, rows = (titles.size() + cols - 1) / cols;
  std::string gp = fmt::format("set terminal pngcairo size 1200,{} font ',9'\nset output ARG1\n"
                               "set datafile separator ','\nset multiplot layout {},{} title {}\n"
                               "set yrange [0:1]\nset grid\nunset key\n",
                               230 * rows + 40, rows, cols,
                               gnuplot_string("best trials: validation accuracy (solid) and train accuracy (dashed) "
                                              "per epoch"));
  for (std::size_t k = 0; k < titles.size(); ++k)
    gp += fmt::format("set title {} noenhanced\nplot ARG2 using 1:{} with lines lw 2 lc rgb '#1f77b4', ARG2 using "
                      "1:{} with lines lw 1.5 dt 2 lc rgb '#ff7f0e'\n",
                      gnuplot_string(titles[k]), 2 * k + 3, 2 * k + 2);
  return gp + "unset multiplot\n";
}

// Final validation accuracy against the learning rate and against the weight decay, log scales. ARG1 is the
// PNG, ARG2 the trials' CSV (rank, trial, lr, weight decay, validation accuracy, train accuracy).
std::string scatter_script() {
  return "set terminal pngcairo size 1200,450 font ',10'\nset output ARG1\nset datafile separator ','\n"
         "set multiplot layout 1,2 title 'final validation accuracy of every trial'\n"
         "set logscale x\nset format x '10^{%L}'\nset yrange [0:1]\nset grid\nunset key\n"
         "set ylabel 'validation accuracy'\nset xlabel 'learning rate'\n"
         "plot ARG2 skip 1 using 3:5 with points pt 7 ps 1 lc rgb '#1f77b4'\n"
         "set xlabel 'weight decay'\n"
         "plot ARG2 skip 1 using 4:5 with points pt 7 ps 1 lc rgb '#d62728'\nunset multiplot\n";
}

}  // namespace

void hyperparameter_search_report(const RunOptions& run, const std::vector<Configuration>& trials,
                                  const std::vector<AccuracyCurves>& accuracy) {
  std::vector<std::size_t> order(trials.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto score = [&](std::size_t i) { return accuracy[i].test.empty() ? -1.0 : accuracy[i].test.back(); };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score(a) > score(b); });

  std::vector<std::vector<std::string>> rows;
  std::string csv = "rank,trial,lr,weight decay,validation accuracy,train accuracy\n";
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const std::size_t i = order[rank];
    const Configuration& c = trials[i];
    const bool diverged = accuracy[i].test.empty();
    const std::string lr = c.settings[0].second, wd = c.settings[1].second;
    rows.push_back({std::to_string(rank + 1), std::to_string(i + 1), lr, wd,
                    diverged ? "diverged" : fmt::format("{:.2f}%", 100 * accuracy[i].test.back()),
                    diverged ? "-" : fmt::format("{:.2f}%", 100 * accuracy[i].train.back())});
    if (!diverged)
      csv += fmt::format("{},{},{},{},{:.6g},{:.6g}\n", rank + 1, i + 1, lr, wd, accuracy[i].test.back(),
                         accuracy[i].train.back());
  }
  const std::string text = table(kRankingHeader, rows);
  const std::string table_path = output_path(run.out, "hyperparameter_search.txt");
  write_text(table_path, text);
  const std::string csv_path = output_path(run.out, "hyperparameter_search.csv");
  write_text(csv_path, csv);

  const std::size_t shown = std::min(kBestShown, order.size());
  fmt::print("\nthe best {} of {} trials by final validation accuracy:\n{}", shown, order.size(),
             table(kRankingHeader, {rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(shown)}));
  std::size_t ranged = 0;  // the best trials that did not diverge, at most kBestRange
  double lr_low = INFINITY, lr_high = 0, wd_low = INFINITY, wd_high = 0;
  for (; ranged < std::min(kBestRange, order.size()) && !accuracy[order[ranged]].test.empty(); ++ranged) {
    const tg::OptimizerOptions& o = trials[order[ranged]].optimizer.options;
    lr_low = std::min(lr_low, *o.lr), lr_high = std::max(lr_high, *o.lr);
    wd_low = std::min(wd_low, o.weight_decay.value_or(0)), wd_high = std::max(wd_high, o.weight_decay.value_or(0));
  }
  if (ranged > 0)
    fmt::print("the best {}: learning rate from {:.3g} to {:.3g}, weight decay from {:.3g} to {:.3g}\n", ranged,
               lr_low, lr_high, wd_low, wd_high);

  // the best runs' curves: "epoch,<best 1> train,<best 1> validation,..."
  std::vector<std::string> titles;
  std::string curves = "epoch";
  for (std::size_t rank = 0; rank < shown && !accuracy[order[rank]].test.empty(); ++rank) {
    const Configuration& c = trials[order[rank]];
    titles.push_back(fmt::format("best {} (val {:.2f}): lr {}, wd {}", rank + 1, accuracy[order[rank]].test.back(),
                                 c.settings[0].second, c.settings[1].second));
    curves += fmt::format(",best {} train,best {} validation", rank + 1, rank + 1);
  }
  curves += "\n";
  for (std::size_t e = 0; !titles.empty() && e < accuracy[order[0]].test.size(); ++e) {
    curves += std::to_string(e + 1);
    for (std::size_t rank = 0; rank < titles.size(); ++rank) {
      const AccuracyCurves& a = accuracy[order[rank]];
      curves += e < a.test.size() ? fmt::format(",{:.6g},{:.6g}", a.train[e], a.test[e]) : ",,";
    }
    curves += "\n";
  }
  const std::string curves_path = output_path(run.out, "hyperparameter_best_curves.csv");
  write_text(curves_path, curves);
  fmt::print("\nranking: {}\ntrials: {}\nbest curves: {}\n", table_path, csv_path, curves_path);
  if (titles.empty()) {  // nothing to draw: every trial diverged
    fmt::print("every trial diverged: no curves to draw\n");
    return;
  }
  const std::string best_png = output_path(run.out, "hyperparameter_best.png");
  render_png(output_path(run.out, "hyperparameter_best.gp"), best_curves_script(titles), best_png, {curves_path});
  const std::string scatter_png = output_path(run.out, "hyperparameter_scatter.png");
  render_png(output_path(run.out, "hyperparameter_scatter.gp"), scatter_script(), scatter_png, {csv_path});
  fmt::print("plots: {}, {}\n", best_png, scatter_png);
}

}  // namespace cli
