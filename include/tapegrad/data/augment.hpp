#pragma once
// Data augmentation for image batches, seeded and reproducible: random crops of the image padded with zeros (the
// same as shifting it by up to that many pixels, zeros filling in) and horizontal flips. Each row's draw comes
// from (seed, step, row index) alone, so a run draws the same whether it is resumed, or split over processes.
#include <cstdint>
#include <string>

#include "tapegrad/tensor/tensor.hpp"

namespace tapegrad {

struct Augmentation {
  std::size_t crop = 0;  // pad by this many pixels on each side, then crop back at a random place: a shift in
                         // [-crop, crop] along each axis, zeros filling in
  bool flip = false;     // mirror left-right with probability 1/2 (clothes, not digits)
  /// "off"; "on" (crop:2,flip, the usual for Fashion-MNIST); or a comma-separated list of crop:P and flip.
  /// ValueError naming the part that is not one, or a crop above 8.
  static Augmentation parse(const std::string& text);
  /// "off", or the list: "crop:2,flip".
  std::string str() const;
  bool active() const { return crop > 0 || flip; }
};

/// Augments rows `x` (count, C*H*W) of images of shape `image` (C, H, W) in place. Row i's draw comes from
/// (seed, step, rows[i]): the step and the data set's row index. ShapeError unless x holds count images of that
/// shape, or when the image is not (C, H, W) while the augmentation is active.
template <class T>
void augment(Tensor<T>& x, const Shape& image, const Augmentation& a, std::uint64_t seed, std::uint64_t step,
             const std::size_t* rows);

extern template void augment(Tensor<float>&, const Shape&, const Augmentation&, std::uint64_t, std::uint64_t,
                             const std::size_t*);
extern template void augment(Tensor<double>&, const Shape&, const Augmentation&, std::uint64_t, std::uint64_t,
                             const std::size_t*);

}  // namespace tapegrad
