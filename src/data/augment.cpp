#include "tapegrad/data/augment.hpp"
#include "tapegrad/tensor/random.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {


constexpr std::size_t kMaxCrop = 8;

}  // namespace

Augmentation Augmentation::parse(const std::string& text) {
  Augmentation a;
  if (text == "off" || text == "none") return a;
  if (text == "on") return {2, true};
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find(',', at), text.size());
    const std::string part = text.substr(at, end - at);
    if (part == "flip") {
      a.flip = true;
    } else if (part.rfind("crop:", 0) == 0 && part.size() > 5 &&
               part.find_first_not_of("0123456789", 5) == std::string::npos && part.size() <= 7) {
      a.crop = std::stoul(part.substr(5));
      if (a.crop > kMaxCrop)
        throw ValueError(fmt::format("augmentation '{}': crop:{} pads more than {} pixels", text, a.crop, kMaxCrop));
    } else {
      throw ValueError(fmt::format("augmentation '{}': '{}' is not crop:P or flip (or give on or off)", text, part));
    }
    at = end + 1;
  }
  return a;
}

std::string Augmentation::str() const {
  if (!active()) return "off";
  std::string out;
  if (crop > 0) out = fmt::format("crop:{}", crop);
  if (flip) out += out.empty() ? "flip" : ",flip";
  return out;
}

template <class T>
void augment(Tensor<T>& x, const Shape& image, const Augmentation& a, std::uint64_t seed, std::uint64_t step,
             const std::size_t* rows) {
  if (!a.active()) return;
  if (image.rank() != 3)
    throw ShapeError(fmt::format("augment: the data's samples are {}, not images (channels, height, width)",
                                 image.str()));
  const std::size_t channels = image[0], height = image[1], width = image[2], size = image.numel();
  if (x.rank() != 2 || x.shape()[1] != size)
    throw ShapeError(fmt::format("augment: a batch of shape {} for images of {} values", x.shape().str(), size));
  const std::size_t count = x.shape()[0];
  thread_local std::vector<T> copy;  // one image; kept, so that a step allocates nothing once it has grown
  copy.resize(size);
  const long span = long(2 * a.crop + 1);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t bits = mix_seed(mix_seed(mix_seed(seed) ^ step) ^ rows[i]);
    const long dy = a.crop ? long(bits % std::uint64_t(span)) - long(a.crop) : 0;
    const long dx = a.crop ? long((bits >> 20) % std::uint64_t(span)) - long(a.crop) : 0;
    const bool mirror = a.flip && ((bits >> 40) & 1);
    if (dy == 0 && dx == 0 && !mirror) continue;
    T* row = x.data() + i * size;
    std::copy(row, row + size, copy.begin());
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t yy = 0; yy < height; ++yy)
        for (std::size_t xx = 0; xx < width; ++xx) {
          // output pixel (yy, xx) reads the source at (yy - dy, xx' - dx), xx' mirrored first when flipping
          const long sy = long(yy) - dy;
          const long sx = long(mirror ? width - 1 - xx : xx) - dx;
          const bool inside = sy >= 0 && sy < long(height) && sx >= 0 && sx < long(width);
          row[(c * height + yy) * width + xx] =
              inside ? copy[(c * height + std::size_t(sy)) * width + std::size_t(sx)] : T(0);
        }
  }
}

template void augment(Tensor<float>&, const Shape&, const Augmentation&, std::uint64_t, std::uint64_t,
                      const std::size_t*);
template void augment(Tensor<double>&, const Shape&, const Augmentation&, std::uint64_t, std::uint64_t,
                      const std::size_t*);

}  // namespace tapegrad
