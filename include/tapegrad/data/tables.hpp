#pragma once
// The small data sets scikit-learn ships, read from Debian's python3-sklearn package files: handwritten digits
// (1,797 8x8 images), iris, wine and breast cancer, each split into a training and a test part.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/data/dataset.hpp"

namespace tapegrad {

/// "digits", "iris", "wine", "breast-cancer".
const std::vector<std::string>& table_dataset_names();
bool is_table_dataset(const std::string& name);

/// The generated 2-D sets: "spiral" (CS231n's and DeZero's: 3 arms of 100 points), "moons", "circles" and "xor"
/// (300 points each, noise 0.1 for moons and circles), always the same points, split as load_table_dataset
/// splits. ValueError for another name or a fraction outside (0, 1).
const std::vector<std::string>& generated_dataset_names();
bool is_generated_dataset(const std::string& name);
TrainTest load_generated_dataset(const std::string& name, std::uint64_t seed, double test_fraction = 0.5);

/// Where Debian's python3-sklearn installs them.
std::string sklearn_data_dir();

/// Data set `name`, with `test_fraction` of its rows (drawn at random, seeded) as the test part. Digits are images
/// (1x8x8, the 0-16 grey levels as 0-1); the other sets' features are standardised with the training part's mean
/// and standard deviation. ValueError for an unknown name or a fraction outside (0, 1); DataError naming the file
/// for one that is missing, truncated, not numbers, holds NaN or infinite values, or disagrees with its header.
TrainTest load_table_dataset(const std::string& name, std::uint64_t seed, double test_fraction = 0.5,
                             const std::string& dir = sklearn_data_dir());

}  // namespace tapegrad
