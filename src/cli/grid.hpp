#pragma once
// What `compare` compares: configurations, each a RunOptions and an optimizer, from the --opt list and any
// number of --vary axes (their Cartesian product), each labelled by exactly the settings that differ.
#include <string>
#include <utility>
#include <vector>

#include "cli/common.hpp"
#include "tapegrad/optim/optimizer.hpp"

namespace cli {

class Processes;

struct Configuration {
  RunOptions run;
  tg::OptimizerSpec optimizer;
  std::vector<std::pair<std::string, std::string>> settings;  // (axis, value) of every axis, --opt first
  std::string label;                                          // the settings that differ between configurations
};

/// "sgd(lr=0.01)": the optimizer as it will describe itself, with every setting that is not the default
/// (ValueError for a bad spec).
std::string optimizer_label(const tg::OptimizerSpec& spec);

/// The axes --vary accepts, with what each sets: "opt", "lr", "wd", "init", "activation", "batch-norm",
/// "dropout", "schedule", "clip", "batch", "decay-scope", "net".
const std::vector<std::pair<std::string, std::string>>& vary_axes();

/// Every combination of the optimizers (the book's four when none is given) and the values of each --vary axis
/// (each given as {axis, value, value, ...}), in order, the last axis fastest. ValueError naming the axis and
/// what is accepted for an unknown axis, an axis given twice or with no value, a bad value, an optimizer list
/// together with --vary opt, and two configurations that would be the same.
std::vector<Configuration> configurations(const RunOptions& base, const std::vector<std::string>& optimizers,
                                          const std::vector<std::vector<std::string>>& vary);

/// A configuration's train and test accuracy after each epoch (the test set is the validation split when
/// RunOptions::validation is set): the means over its seeds that did not diverge; empty if every seed diverged.
struct AccuracyCurves {
  std::vector<double> train, test;
};

/// Runs a comparison may train unless --max-runs says otherwise, and the most --max-runs accepts.
inline constexpr std::size_t kDefaultMaxRuns = 10000, kLargestMaxRuns = 1000000;
/// The runs a grid asks for (the optimizers, or the book's four, times each --vary axis's values, times
/// `seeds`), counted before anything is built; ValueError with the count and how to raise the limit when it
/// exceeds `max_runs` (the product saturates instead of overflowing).
std::size_t check_run_count(std::size_t configurations, std::size_t seeds, std::size_t max_runs);
std::size_t count_configurations(const std::vector<std::string>& optimizers,
                                 const std::vector<std::vector<std::string>>& vary);

/// Trains every configuration under `seeds` seeds (the data, --limit and --out from `run`) and writes the table,
/// CSVs and plot of a comparison; `title` heads the plot (empty: the network's description). `accuracy`, if
/// given, receives each configuration's accuracy curves (process 0 only). More than `max_runs` runs are refused
/// (check_run_count) before the data is read.
int compare_configurations(const RunOptions& run, const std::vector<Configuration>& configs, std::size_t seeds,
                           std::size_t max_runs, double threshold, std::size_t jobs, Processes& processes, const std::string& title,
                           std::vector<AccuracyCurves>* accuracy);


/// The book's optimizer_compare_mnist.py: SGD, Momentum, AdaGrad and Adam at their default settings.
extern const std::vector<std::string> kDefaultOptimizers;

}  // namespace cli
