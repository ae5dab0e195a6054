#pragma once
// The book's chapter 6 experiments as comparisons (src/cli/experiments.cpp): what each trains, for
// `tapegrad experiment` (src/cli/experiment.cpp) and for the help text the option parser prints.
#include <functional>
#include <string>
#include <vector>

#include "cli/grid.hpp"

namespace cli {

struct Experiment {
  std::string name, source, what;
  // the comparison: base options and configurations, from the user's --data, --out and --seed
  std::function<std::vector<Configuration>(RunOptions&)> plan;
};

/// weight-init, batch-norm, overfit (activation-histogram is not a comparison: experiment.cpp runs it).
const std::vector<Experiment>& experiments();

/// Every experiment with what it does, for `tapegrad experiment --help`.
std::string experiments_help();

}  // namespace cli
