#pragma once
// Data for the LibTorch twins: the same values tapegrad's batches hold.
#include <torch/torch.h>

#include "tapegrad/data/dataset.hpp"

namespace bench {

/// The whole data set as one float tensor (rows, features).
inline torch::Tensor all_features(const tapegrad::Dataset& d) {
  auto x = torch::empty({int64_t(d.rows), int64_t(d.features)}, torch::kFloat32);
  float* out = x.data_ptr<float>();
  for (std::size_t i = 0; i < d.rows; ++i)
    for (std::size_t j = 0; j < d.features; ++j) out[i * d.features + j] = d.feature(i, j);
  return x;
}

/// The labels as int64.
inline torch::Tensor all_labels(const tapegrad::Dataset& d) {
  std::vector<int64_t> labels(d.labels.begin(), d.labels.end());
  return torch::tensor(labels, torch::kInt64);
}

}  // namespace bench
