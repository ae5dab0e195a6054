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

// One options struct per subcommand: what its parser fills and what its function reads.
struct CompareArgs {
  RunOptions run;
  std::vector<std::string> optimizers;         // --opt
  std::vector<std::vector<std::string>> vary;  // each: an axis and its values
  std::size_t seeds = 1;
  std::size_t max_runs = kDefaultMaxRuns;
  bool lr_sweep = false;
  double threshold = 0.5;
  std::string function;  // --function's surface; empty: a comparison of networks
  bool all = false;
  std::size_t jobs = 0;  // 0: one per available core
  int steps = 0;         // 0: the surface's own
};
struct TrainArgs {
  RunOptions run;
  std::string optimizer = "sgd:lr=0.1", save, resume;
  bool data_parallel = false, allow_changed_data = false;
};
struct LrFindArgs {
  RunOptions run;
  std::string optimizer = "sgd";
  tapegrad::LrRangeOptions range;
};
struct EvalArgs {
  std::string model = "out/model.tgckpt", data = tapegrad::default_data_dir();
  std::size_t limit = 0;
  std::string misclassified;
};
struct GradcheckArgs {
  std::vector<std::string> names;
  std::string net;
  bool fast = false, verbose = false;
  int order = 1;
  std::uint64_t seed = 1;
};
struct GraphArgs {
  std::string demo = "apple", model, data = tapegrad::default_data_dir(), out = "out";
  bool steps = false;
};
struct SummaryArgs {
  RunOptions run;
  std::size_t features = 784, classes = 10;
};
struct ExperimentArgs {
  std::string name;
  RunOptions run;  // only --data, --seed, --double and --out: the experiment sets the rest
  ExperimentOptions options;
};

struct Command {
  int threads = 1;
  CLI::App *compare = nullptr, *train = nullptr, *eval = nullptr, *check = nullptr, *rules = nullptr,
           *optimizers = nullptr, *experiment = nullptr, *graph = nullptr, *summary = nullptr, *exit_codes = nullptr,
           *errors = nullptr, *lr_find = nullptr, *landscape = nullptr,
           *doctor = nullptr;
  CompareArgs compare_args;
  TrainArgs train_args;
  LrFindArgs lr_find_args;
  LandscapeArgs landscape_args;
  DoctorArgs doctor_args;
  EvalArgs eval_args;
  GradcheckArgs check_args;
  GraphArgs graph_args;
  SummaryArgs summary_args;
  ExperimentArgs experiment_args;

  /// The train options the user typed (a resumed run refuses those that differ from its checkpoint).
  std::set<std::string> given_train_options() const;
  /// Parses every option that is text with a grammar of its own (optimizer specs, --net, --activation,
  /// --init): ValueError naming it. Reads no file.
  void check_text() const;
};

/// The application, its options bound to `command` (which must outlive it).
std::unique_ptr<CLI::App> make_app(Command& command);

}  // namespace cli
