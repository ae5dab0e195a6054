// `tapegrad experiment NAME`: the book's chapter 6 experiments as comparisons, seeded, each writing the table,
// CSVs and the two-panel plot of `compare` under OUT (the book's figure: the loss panel for weight-init, the
// accuracy panel for batch-norm and overfit).
#include <functional>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "cli/grid.hpp"
#include "cli/processes.hpp"

namespace cli {
namespace {

struct Experiment {
  std::string name, source, what;
  // the comparison: base options and configurations, from the user's --data, --out and --seed
  std::function<std::vector<Configuration>(RunOptions&)> plan;
};

// A configuration of the experiment's own, not from a grid: its label is its one setting.
Configuration labelled(Configuration c, std::string label) {
  c.settings = {{"setting", label}};
  c.label = std::move(label);
  return c;
}

const std::vector<Experiment>& experiments() {
  static const std::vector<Experiment> list{
      {"weight-init", "weight_init_compare.py",
       "784-[100x4]-10 ReLU, SGD lr 0.01, batch 128, 2000 iterations: weights of std 0.01, Xavier, He",
       [](RunOptions& run) {
         run.hidden = "100-100-100-100";
         run.activation = "relu";
         run.batch = 128;
         run.epochs = 5;  // 5 x 469 batches: the 2000 iterations end in the fifth epoch
         run.iterations = 2000;
         return configurations(run, {"sgd:lr=0.01"}, {{"init", "0.01", "xavier", "he"}});
       }},
      {"batch-norm", "batch_norm_test.py",
       "1000 training images, 784-[100x5]-10 ReLU, SGD lr 0.01, batch 100, 20 epochs: with and without batch "
       "normalisation at weight scales from 1 to 0.001",
       [](RunOptions& run) {
         run.limit = 1000;
         run.hidden = "100-100-100-100-100";
         run.activation = "relu";
         run.batch = 100;
         run.epochs = 20;
         return configurations(run, {"sgd:lr=0.01"},
                               {{"init", "1", "0.3", "0.1", "0.03", "0.01", "0.003", "0.001"},
                                {"batch-norm", "off", "on"}});
       }},
      {"overfit", "overfit_weight_decay.py, overfit_dropout.py",
       "300 training images, 784-[100x6]-10 ReLU (He), SGD lr 0.01, batch 100, 201 epochs: no regularisation, "
       "weight decay 0.1, dropout 0.2",
       [](RunOptions& run) {
         run.limit = 300;
         run.hidden = "100-100-100-100-100-100";
         run.activation = "relu";
         run.init = "he";
         run.batch = 100;
         run.epochs = 201;
         const std::vector<Configuration> plain = configurations(run, {"sgd:lr=0.01"}, {});
         std::vector<Configuration> out{labelled(plain[0], "no regularisation")};
         Configuration decay = plain[0];
         decay.optimizer.options.weight_decay = 0.1;
         out.push_back(labelled(decay, "weight decay 0.1"));
         Configuration dropout = plain[0];
         dropout.run.dropout = 0.2;
         out.push_back(labelled(dropout, "dropout 0.2"));
         return out;
       }},
  };
  return list;
}

}  // namespace

std::string experiments_help() {
  std::string text = "Experiments (the book's chapter 6):\n";
  for (const Experiment& e : experiments())
    text += fmt::format("  {:<13} {} ({})\n", e.name, e.what, e.source);
  return text;
}

int experiment(const std::string& name, const RunOptions& options, std::size_t seeds, std::size_t jobs,
               Processes& processes) {
  const Experiment* chosen = nullptr;
  std::vector<std::string> names;
  for (const Experiment& e : experiments()) {
    names.push_back(e.name);
    if (e.name == name) chosen = &e;
  }
  if (!chosen)
    throw tg::ValueError(fmt::format("experiment '{}': no such experiment (accepted: {})", name, fmt::join(names, ", ")));
  RunOptions run = options;
  if (run.out.empty()) run.out = output_path("out", name);
  const std::vector<Configuration> configs = chosen->plan(run);
  if (processes.root()) fmt::print("experiment {}: {} (the book's {})\n", name, chosen->what, chosen->source);
  return compare_configurations(run, configs, seeds, 0.5, jobs, processes, fmt::format("{} ({})", name, chosen->source));
}

}  // namespace cli
