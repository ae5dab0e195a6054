#include "tapegrad/data/batches.hpp"

#include <numeric>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {

BatchSampler::BatchSampler(std::size_t rows, std::size_t batch_size, bool shuffle, std::uint64_t seed, bool drop_last)
    : rows_(rows), batch_size_(batch_size), shuffle_(shuffle), drop_last_(drop_last), rng_(seed), order_(rows) {
  if (rows == 0) throw ValueError("batches: the data set is empty");
  if (batch_size == 0) throw ValueError("batches: the batch size must be at least 1");
  if (batch_size > rows)
    throw ValueError(fmt::format("batches: a batch of {} is larger than the data set ({} rows)", batch_size, rows));
  std::iota(order_.begin(), order_.end(), std::size_t{0});
  next_epoch();
}

void BatchSampler::next_epoch() {
  if (!shuffle_) return;
  for (std::size_t i = rows_; i > 1; --i) std::swap(order_[i - 1], order_[rng_.below(i)]);  // Fisher-Yates
}

std::size_t BatchSampler::batches() const {
  return drop_last_ ? rows_ / batch_size_ : (rows_ + batch_size_ - 1) / batch_size_;
}

std::size_t BatchSampler::size(std::size_t b) const { return std::min(batch_size_, rows_ - b * batch_size_); }

}  // namespace tapegrad
