#pragma once
// Loss curves as people look at them.
#include <vector>

namespace tapegrad::support {

/// The book's smooth_curve (common/util.py): mirror-pad by 10, convolve with a normalised Kaiser window
/// (length 11, beta 2), keep the middle. Same length as the input; curves shorter than 11 come back unchanged.
std::vector<double> smooth_curve(const std::vector<double>& values);

/// The first index i (0-based) with values[i] < threshold, or -1.
long first_below(const std::vector<double>& values, double threshold);

}  // namespace tapegrad::support
