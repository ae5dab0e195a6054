#pragma once
// The program's command line (src/cli/app.cpp): the options of every subcommand, parsed into a Command.
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "cli/experiments.hpp"
#include "cli/grid.hpp"

namespace cli {

struct Command {
  int threads = 1;
  CLI::App *compare = nullptr, *train = nullptr, *eval = nullptr, *check = nullptr, *rules = nullptr,
           *optimizers = nullptr, *experiment = nullptr, *graph = nullptr, *summary = nullptr, *exit_codes = nullptr;
  RunOptions compare_run;
  std::vector<std::string> compare_opts;
  std::vector<std::vector<std::string>> vary;  // each: an axis and its values
  std::size_t seeds = 1;
  std::size_t max_runs = kDefaultMaxRuns;
  bool lr_sweep = false;
  double threshold = 0.5;
  std::string function;  // --function's surface; empty: a comparison of networks
  bool all = false;
  std::size_t jobs = 0;  // 0: one per available core
  int steps = 0;  // 0: the surface's own
  RunOptions train_run;
  std::string train_opt = "sgd:lr=0.1", save, resume;
  bool data_parallel = false, allow_changed_data = false;
  std::string model = "out/model.tgckpt", eval_data = tapegrad::default_data_dir();
  std::size_t eval_limit = 0;
  std::string misclassified;
  std::vector<std::string> names;
  std::string check_net;
  bool fast = false, verbose = false;
  int order = 1;
  std::uint64_t seed = 1;
  std::string demo = "apple", graph_model, graph_data = tapegrad::default_data_dir(), graph_out = "out";
  bool graph_steps = false;
  RunOptions summary_run;
  std::string experiment_name;
  RunOptions experiment_run;  // only --data, --seed, --double and --out: the experiment sets the rest
  ExperimentOptions experiment_options;
  std::size_t summary_features = 784, summary_classes = 10;

  /// The train options the user typed (a resumed run refuses those that differ from its checkpoint).
  std::set<std::string> given_train_options() const;
  /// Parses every option that is text with a grammar of its own (optimizer specs, --net, --activation,
  /// --init): ValueError naming it. Reads no file.
  void check_text() const;
};

/// The application, its options bound to `command` (which must outlive it).
std::unique_ptr<CLI::App> make_app(Command& command);

}  // namespace cli
