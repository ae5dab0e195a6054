#pragma once
// The book's chapter 6 experiments as comparisons (src/cli/experiments.cpp): what each trains, for
// `tapegrad experiment` (src/cli/experiment.cpp) and for the help text the option parser prints.
#include <functional>
#include <string>
#include <vector>

#include "cli/grid.hpp"

namespace cli {

/// What `tapegrad experiment` takes besides the run options.
struct ExperimentOptions {
  std::size_t seeds = 1;
  std::size_t jobs = 0;    // 0: the cores this process may use
  std::size_t trials = 0;  // hyperparameter-search's random configurations; 0: the book's 100
  std::size_t max_runs = 10000;  // cli::kDefaultMaxRuns
  std::size_t epochs = 0;  // the sequence experiments: 0 is the book's
  std::size_t limit = 0;   // addition: problems, char-lm: words; 0 is all
  bool data_given = false;  // --data was given (char-lm: else Debian's word list)
  std::string model;        // half-precision: the checkpoint to evaluate
};

struct Experiment {
  std::string name, source, what;
  // the comparison: base options and configurations, from the user's --data, --out and --seed
  std::function<std::vector<Configuration>(RunOptions&, const ExperimentOptions&)> plan;
  // where the comparison writes, under --out ("": --out itself), and what the experiment writes from its results
  // after it (none: the comparison's table and plot are the experiment's)
  std::string comparison_folder = {};
  std::function<void(const RunOptions&, const std::vector<Configuration>&, const std::vector<AccuracyCurves>&)>
      report = {};
};

/// weight-init, batch-norm, overfit, hyperparameter-search: the book's chapter 6 comparisons.
const std::vector<Experiment>& experiments();

/// An experiment that is not a comparison of training runs: it trains or draws on its own.
struct StandaloneExperiment {
  std::string name, what;
  std::vector<std::string> options;  // what it takes besides the name, --seed and --out
  std::function<int(const RunOptions&, const ExperimentOptions&)> run;
};
/// activation-histogram, rnn-gradients, sine, addition, char-lm: each on one process.
const std::vector<StandaloneExperiment>& standalone_experiments();

/// The sequence experiments (src/cli/sequence_experiments.cpp): DeZero's steps 59-60, the book's volume 2 ch7,
/// and a character-level language model.
int sine_experiment(const RunOptions& run, const ExperimentOptions& options);
int addition_experiment(const RunOptions& run, const ExperimentOptions& options);
int char_lm_experiment(const RunOptions& run, const ExperimentOptions& options);
/// The book's half_float_network.py (src/cli/precision_experiment.cpp).
int half_precision_experiment(const RunOptions& run, const ExperimentOptions& options);

/// `tapegrad experiment NAME` (src/cli/experiment.cpp): ValueError listing the experiments for an unknown name.
int experiment(const std::string& name, const RunOptions& options, const ExperimentOptions& settings,
               Processes& processes);

/// hyperparameter-search's results (src/cli/search_report.cpp): the trials ranked by final validation accuracy,
/// the ranges of the best, the best trials' curves and accuracy against each hyperparameter, under run.out.
void hyperparameter_search_report(const RunOptions& run, const std::vector<Configuration>& trials,
                                  const std::vector<AccuracyCurves>& accuracy);

/// Every experiment with what it does, for `tapegrad experiment --help`.
std::string experiments_help();

}  // namespace cli
