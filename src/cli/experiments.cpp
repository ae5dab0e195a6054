// The book's chapter 6 experiments that are comparisons: each a base run and its configurations.
#include "cli/experiments.hpp"

#include <cmath>

#include <fmt/format.h>

namespace cli {
namespace {

// A configuration of the experiment's own, not from a grid: its label is its one setting.
Configuration labelled(Configuration c, std::string label) {
  c.settings = {{"setting", label}};
  c.label = std::move(label);
  return c;
}

}  // namespace

const std::vector<Experiment>& experiments() {
  static const std::vector<Experiment> list{
      {"weight-init", "weight_init_compare.py",
       "784-[100x4]-10 ReLU, SGD lr 0.01, batch 128, 2000 iterations: weights of std 0.01, Xavier, He",
       [](RunOptions& run, const ExperimentOptions&) {
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
       [](RunOptions& run, const ExperimentOptions&) {
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
       "weight decay 0.1 on the weights (not the biases), dropout 0.2",
       [](RunOptions& run, const ExperimentOptions&) {
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
         decay.run.decay_scope = "weights";  // the book's loss adds 0.5 lambda |W|^2 for the weights only
         out.push_back(labelled(decay, "weight decay 0.1"));
         Configuration dropout = plain[0];
         dropout.run.dropout = 0.2;
         out.push_back(labelled(dropout, "dropout 0.2"));
         return out;
       }},
      {"hyperparameter-search", "hyperparameter_optimization.py",
       "500 training images, 20% held out for validation, 784-[100x6]-10 ReLU (He), SGD, batch 100, 50 epochs: "
       "random learning rates in 10^[-6, -2] and weight decays in 10^[-8, -4], ranked by validation accuracy",
       [](RunOptions& run, const ExperimentOptions& options) {
         run.limit = 500;
         run.validation = 0.2;  // the book's validation_rate; the test set is not used
         run.hidden = "100-100-100-100-100-100";
         run.activation = "relu";
         run.init = "he";
         run.batch = 100;
         run.epochs = 50;
         run.epoch_lines = false;  // a line per trial
         const Configuration plain = configurations(run, {"sgd"}, {})[0];
         tg::Rng rng(run.seed);
         std::vector<Configuration> out;
         for (std::size_t trial = 1; trial <= (options.trials ? options.trials : 100); ++trial) {
           Configuration c = plain;  // the book draws the decay, then the rate
           const std::string weight_decay = fmt::format("{:.3g}", std::pow(10.0, rng.uniform(-8, -4)));
           const std::string lr = fmt::format("{:.3g}", std::pow(10.0, rng.uniform(-6, -2)));
           c.optimizer.options.lr = std::stod(lr);  // as the label shows them
           c.optimizer.options.weight_decay = std::stod(weight_decay);
           c.run.decay_scope = "weights";  // as the book's MultiLayerNet
           c.settings = {{"lr", lr}, {"wd", weight_decay}};
           c.label = fmt::format("trial {}: lr={}, wd={}", trial, c.settings[0].second, c.settings[1].second);
           out.push_back(std::move(c));
         }
         return out;
       },
       "trials", hyperparameter_search_report},
  };
  return list;
}

std::string experiments_help() {
  std::string text = "Experiments (the book's chapter 6 comparisons):\n";
  for (const Experiment& e : experiments())
    text += fmt::format("  {:<22} {} ({})\n", e.name, e.what, e.source);
  text += "Experiments that run on their own (one process):\n";
  for (const StandaloneExperiment& e : standalone_experiments()) {
    text += fmt::format("  {:<22} {}", e.name, e.what);
    if (!e.options.empty()) text += fmt::format(" [takes {}]", fmt::join(e.options, ", "));
    text += "\n";
  }
  return text;
}

}  // namespace cli
