#pragma once
// The one check every consumer of integer class labels makes (internal).
#include <vector>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad::detail {

/// ValueError naming `op`, the first label >= classes and its row.
inline void check_label_range(const char* op, const std::vector<std::size_t>& labels, std::size_t classes) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= classes)
      throw ValueError(
          fmt::format("{}: label {} (row {}) is out of range for {} classes", op, labels[i], i, classes));
}

}  // namespace tapegrad::detail
