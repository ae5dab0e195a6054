#include "cli/pictures.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "cli/output.hpp"
#include "tapegrad/tensor/error.hpp"

namespace cli {
namespace {

constexpr std::size_t kFilterColumns = 10, kFilterCell = 90;
constexpr std::size_t kGalleryColumns = 5, kGalleryMax = 20, kGalleryCellWidth = 180, kGalleryCellHeight = 200;

std::size_t rows_for(std::size_t count, std::size_t columns) { return std::max<std::size_t>(1, (count + columns - 1) / columns); }

// One image as a gnuplot matrix block: rows of numbers, then two blank lines ending the block.
template <class Pixel>
std::string matrix_block(Pixel&& pixel, std::size_t height, std::size_t width) {
  std::string block;
  for (std::size_t y = 0; y < height; ++y) {
    for (std::size_t x = 0; x < width; ++x) block += fmt::format("{}{:.6g}", x ? " " : "", pixel(y, x));
    block += "\n";
  }
  return block + "\n\n";
}

// Panels of images in a grid, one matrix block each (the data file is ARG2: no path goes into the script).
std::string grid_script(PixelSize size, std::size_t rows, std::size_t columns, const std::string& title,
                        const std::vector<std::string>& captions) {
  std::string gp = fmt::format("set terminal pngcairo size {},{} font ',9'\nset output ARG1\n", size.width, size.height);
  gp += "unset key\nunset tics\nunset border\nunset colorbox\nset palette gray negative\nset size ratio -1\n"
        "set yrange [] reverse\nset cbrange [0:1]\nset lmargin 0\nset rmargin 0\n";
  gp += fmt::format("set multiplot layout {},{} title {} noenhanced\n", rows, columns, gnuplot_string(title));
  for (std::size_t i = 0; i < captions.size(); ++i)
    gp += fmt::format("set title {} noenhanced\nplot ARG2 index {} matrix with image pixels\n",
                      gnuplot_string(captions[i]), i);  // an empty title takes no room
  return gp + "unset multiplot\n";
}

}  // namespace

PixelSize filters_png_size(std::size_t filters) {
  return {kFilterColumns * kFilterCell, rows_for(filters, kFilterColumns) * kFilterCell + 40};
}
PixelSize gallery_png_size(std::size_t images) {
  const std::size_t shown = std::min(images, kGalleryMax);
  return {kGalleryColumns * kGalleryCellWidth, rows_for(shown, kGalleryColumns) * kGalleryCellHeight + 40};
}

std::string render_filters(const tapegrad::Tensor<float>& filters, const std::string& base, const std::string& title) {
  const tapegrad::Shape& s = filters.shape();
  if (s.rank() != 4 || s[0] == 0)
    throw tapegrad::ShapeError(fmt::format("filters picture: needs filters (FN, C, FH, FW), got {}", s.str()));
  const std::size_t count = s[0], plane = s[2] * s[3], per_filter = s[1] * plane;
  std::string dat;
  std::vector<std::string> captions;
  for (std::size_t f = 0; f < count; ++f) {
    const float* w = filters.data() + f * per_filter;  // channel 0, as the book shows them
    const auto bounds = std::minmax_element(w, w + plane);  // no structured binding: C++17 cannot capture one
    const float low = *bounds.first, range = *bounds.second - low;
    dat += matrix_block([&](std::size_t y, std::size_t x) { return range > 0 ? (w[y * s[3] + x] - low) / range : 0.5f; },
                        s[2], s[3]);
    captions.emplace_back();  // the grid's order is the filters' order
  }
  write_text(base + ".dat", dat);
  const std::string png = base + ".png";
  render_png(base + ".gp", grid_script(filters_png_size(count), rows_for(count, kFilterColumns), kFilterColumns, title, captions),
             png, {base + ".dat"});
  return png;
}

std::string render_gallery(const std::vector<GalleryImage>& images, std::size_t height, std::size_t width,
                           const std::string& base, const std::string& title) {
  const std::size_t shown = std::min(images.size(), kGalleryMax);
  if (shown == 0) throw tapegrad::ValueError("gallery: no images to draw");
  std::string dat;
  std::vector<std::string> captions;
  for (std::size_t i = 0; i < shown; ++i) {
    if (images[i].pixels.size() != height * width)
      throw tapegrad::ShapeError(fmt::format("gallery: image {} has {} pixels, not {}x{}", i, images[i].pixels.size(),
                                             height, width));
    dat += matrix_block([&](std::size_t y, std::size_t x) { return images[i].pixels[y * width + x]; }, height, width);
    captions.push_back(images[i].caption);
  }
  write_text(base + ".dat", dat);
  const std::string png = base + ".png";
  render_png(base + ".gp",
             grid_script(gallery_png_size(images.size()), rows_for(shown, kGalleryColumns), kGalleryColumns, title, captions),
             png, {base + ".dat"});
  return png;
}

}  // namespace cli
