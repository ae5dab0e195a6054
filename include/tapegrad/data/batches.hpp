#pragma once
// Mini-batches: each epoch a fresh seeded permutation, cut into batches (sampling without replacement,
// unlike the book's np.random.choice, which draws each batch with replacement).
#include <cstdint>
#include <vector>

#include "tapegrad/tensor/random.hpp"

namespace tapegrad {

class BatchSampler {
 public:
  /// ValueError for an empty data set, a zero batch, or a batch larger than the data.
  BatchSampler(std::size_t rows, std::size_t batch_size, bool shuffle, std::uint64_t seed, bool drop_last = false);
  /// Reshuffle for the next epoch (the first epoch is shuffled on construction).
  void next_epoch();
  std::size_t batches() const;
  /// Row indices of batch b of this epoch.
  const std::size_t* indices(std::size_t b) const { return order_.data() + b * batch_size_; }
  std::size_t size(std::size_t b) const;

 private:
  std::size_t rows_, batch_size_;
  bool shuffle_, drop_last_;
  Rng rng_;
  std::vector<std::size_t> order_;
};

}  // namespace tapegrad
