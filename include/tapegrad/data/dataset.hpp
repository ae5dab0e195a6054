#pragma once
// Classification data sets in memory, and the MNIST-format loader.
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

/// Rows of features (flattened images, pixels scaled to [0, 1]) with integer class labels.
struct Dataset {
  std::string name;
  std::size_t rows = 0, features = 0, classes = 0;
  /// The features, rows * features, row-major, in one of two forms: image bytes, read as byte / 255 (a quarter
  /// of the memory of floats), or floats (synthetic sets). Exactly one is non-empty.
  std::vector<std::uint8_t> pixels;
  std::vector<float> values;
  std::vector<std::size_t> labels;  // rows, each < classes
  std::vector<std::string> files;   // where it was read from (images, then labels); empty for synthetic sets
  Shape image;  // (channels, height, width) of image sets, whose features are its pixels; rank 0 otherwise

  /// One sample's shape: the image's, or (features,).
  Shape sample_shape() const;

  /// Feature j of a row, in [0, 1] for images.
  float feature(std::size_t row, std::size_t j) const;

  /// ValueError unless the counts agree with the data (rows * features values, rows labels, each < classes) and
  /// every feature is finite (a NaN or inf is named by row and column). The Trainer calls it before the first
  /// epoch.
  void validate() const;
  /// What identifies the data: its counts and a CRC-32 of the files it was read from (of its values and labels
  /// when synthetic), so that MPI processes and a resumed run can tell whether they hold the same data.
  std::string fingerprint() const;
  /// The same as validate without the pass over the labels (what gather checks each time).
  void check_sizes() const;
  /// Copies rows `indices[0, count)` into x (count, features) and their labels; ValueError for a row out of
  /// range or counts that disagree with the data.
  template <class T>
  void gather(const std::size_t* indices, std::size_t count, Tensor<T>& x, std::vector<std::size_t>& y) const;
  /// The first n rows (all if n >= rows); for quick runs.
  Dataset head(std::size_t n) const;
  /// These rows, in this order (ValueError for one out of range).
  Dataset subset(const std::vector<std::size_t>& rows) const;
  /// One-hot targets (rows, classes) for a list of labels.
  template <class T>
  static Tensor<T> one_hot(const std::vector<std::size_t>& labels, std::size_t classes);
};

struct TrainTest {
  Dataset train, test;
};

/// A validation split taken from a training set: `held_out` rows drawn at random (seeded) become `test`, the
/// rest `train`, so that choices (a learning rate, a weight decay) are made without looking at the test set.
/// ValueError unless 0 < held_out < rows.
TrainTest split_validation(const Dataset& train, std::size_t held_out, std::uint64_t seed);

/// Where Debian's dataset-fashion-mnist installs Fashion-MNIST.
std::string default_data_dir();

/// Loads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (also MNIST's "train-images.idx3-ubyte" naming)
/// from `dir`: Fashion-MNIST and the original MNIST alike. DataError names the missing or bad file.
TrainTest load_mnist(const std::string& dir);

/// Points on `classes` interleaved spiral arms (CS231n's toy set), 2 features.
Dataset make_spiral(std::size_t points_per_class, std::size_t classes, std::uint64_t seed);
/// XOR of the signs of two uniform [-1, 1] coordinates, 2 features, 2 classes.
Dataset make_xor(std::size_t rows, std::uint64_t seed);
/// scikit-learn's make_moons: two interleaved half circles (rows / 2 each), Gaussian noise of `noise`.
Dataset make_moons(std::size_t rows, double noise, std::uint64_t seed);
/// scikit-learn's make_circles: a circle of radius 1 around one of radius `factor`, Gaussian noise of `noise`.
Dataset make_circles(std::size_t rows, double noise, double factor, std::uint64_t seed);

}  // namespace tapegrad
