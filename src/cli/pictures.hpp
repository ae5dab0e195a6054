#pragma once
// Image grids drawn by gnuplot: a conv layer's filters (the book's visualize_filter.py) and a gallery of
// misclassified test images (misclassified_mnist.py).
#include <string>
#include <vector>

#include "tapegrad/tensor/tensor.hpp"

namespace cli {

/// The first channel of each filter of `filters` (FN, C, FH, FW), each scaled to its own range, dark = large,
/// 10 to a row: writes base.dat, base.gp and base.png. Returns the PNG's path.
std::string render_filters(const tapegrad::Tensor<float>& filters, const std::string& base, const std::string& title);

/// One gallery cell: an image (height x width values in [0, 1]) and its caption.
struct GalleryImage {
  std::vector<float> pixels;
  std::string caption;  // program text (class names), not user input
};
/// Up to 20 images, 5 to a row: writes base.dat, base.gp and base.png. Returns the PNG's path.
std::string render_gallery(const std::vector<GalleryImage>& images, std::size_t height, std::size_t width,
                           const std::string& base, const std::string& title);

/// The PNG sizes these draw (what the tests check).
struct PixelSize {
  std::size_t width, height;
};
PixelSize filters_png_size(std::size_t filters);
PixelSize gallery_png_size(std::size_t images);

}  // namespace cli
