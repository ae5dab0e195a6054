#pragma once
// `train --boundary`: the decision regions of a classifier of 2-D points at up to six epochs of its training, over
// the training points (TensorFlow Playground's picture), as one PNG of panels and a CSV.
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace cli {

class BoundaryRecorder {
 public:
  /// ValueError when the data is not 2-D (its message says how many features it has).
  BoundaryRecorder(const tapegrad::Dataset& train, std::size_t first_epoch, std::size_t last_epoch);
  /// After an epoch: the predicted class at every grid point, if the epoch is one of the panels.
  template <class T>
  void after_epoch(tapegrad::Module<T>& model, std::size_t epoch);
  /// boundary.csv (epoch, x, y, class) and boundary.png in `out`; returns the PNG's path.
  std::string write(const std::string& out, const std::string& title) const;

 private:
  tapegrad::Dataset train_, grid_;
  std::vector<std::size_t> epochs_;                    // the panels' epochs
  std::vector<std::pair<std::size_t, std::vector<std::size_t>>> drawn_;  // epoch, class per grid point
  std::size_t side_ = 100;
};

}  // namespace cli
