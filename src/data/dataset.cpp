#include "tapegrad/data/dataset.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <utility>

#include <fmt/format.h>
#include <zlib.h>

#include "tensor/labels.hpp"
#include "tapegrad/tensor/error.hpp"
#include "tapegrad/tensor/random.hpp"
#include "tapegrad/data/idx.hpp"

namespace tapegrad {

namespace {
// A pixel byte as a feature in [0, 1]; computed in float for both precisions, so float and double runs see
// the same inputs (and the loop vectorises).
inline float pixel_value(std::uint8_t b) { return static_cast<float>(b) / 255.0f; }
}  // namespace

Shape Dataset::sample_shape() const { return image.rank() == 3 ? image : Shape{features}; }

float Dataset::feature(std::size_t row, std::size_t j) const {
  const std::size_t at = row * features + j;
  return pixels.empty() ? values[at] : pixel_value(pixels[at]);
}

void Dataset::check_sizes() const {
  std::size_t cells = 0;
  if (__builtin_mul_overflow(rows, features, &cells))
    throw ValueError(fmt::format("data set '{}': {} rows of {} features do not fit in memory", name, rows, features));
  const std::size_t held = pixels.empty() ? values.size() : pixels.size();
  if ((!pixels.empty() && !values.empty()) || held != cells)
    throw ValueError(fmt::format("data set '{}': {} rows of {} features need {} values; it holds {} pixels and {} "
                                 "values (exactly one of the two is used)",
                                 name, rows, features, cells, pixels.size(), values.size()));
  if (labels.size() != rows)
    throw ValueError(fmt::format("data set '{}': {} rows but {} labels", name, rows, labels.size()));
}

void Dataset::validate() const {
  check_sizes();
  for (std::size_t i = 0; i < rows; ++i)
    if (labels[i] >= classes)
      throw ValueError(fmt::format("data set '{}': label {} (row {}) is not one of its {} classes", name, labels[i], i,
                                   classes));
  for (std::size_t k = 0; k < values.size(); ++k)  // image bytes are finite by construction
    if (!std::isfinite(values[k]))
      throw ValueError(fmt::format("data set '{}': feature {} of row {} is {}; remove or repair that row before training",
                                   name, k % features, k / features, values[k]));
}

std::string Dataset::fingerprint() const {
  std::uint32_t crc = crc32(0L, Z_NULL, 0);
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DataError(fmt::format("{}: cannot be read again to check its contents", file));
    std::vector<char> block(1 << 16);
    while (in.read(block.data(), static_cast<std::streamsize>(block.size())) || in.gcount() > 0)
      crc = crc32(crc, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(in.gcount()));
  }
  if (files.empty()) {  // synthetic: its values and labels
    crc = crc32(crc, reinterpret_cast<const Bytef*>(values.data()), static_cast<uInt>(values.size() * sizeof(float)));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(labels.data()),
                static_cast<uInt>(labels.size() * sizeof(std::size_t)));
  }
  return fmt::format("{} rows x {} features, {} classes, crc32 {:08x}", rows, features, classes, crc);
}

template <class T>
void Dataset::gather(const std::size_t* indices, std::size_t count, Tensor<T>& x, std::vector<std::size_t>& y) const {
  check_sizes();  // cheap; the labels are checked once by validate()
  for (std::size_t i = 0; i < count; ++i)
    if (indices[i] >= rows)
      throw ValueError(fmt::format("data set '{}': row {} asked for, it has {} rows", name, indices[i], rows));
  x.resize({count, features});
  y.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t row = indices[i];
    T* out = x.data() + i * features;
    if (pixels.empty()) {
      const float* src = values.data() + row * features;
      std::copy(src, src + features, out);
    } else {
      const std::uint8_t* src = pixels.data() + row * features;
      for (std::size_t j = 0; j < features; ++j) out[j] = static_cast<T>(pixel_value(src[j]));
    }
    y[i] = labels[row];
  }
}

Dataset Dataset::head(std::size_t n) const {
  Dataset out = *this;
  out.rows = std::min(n, rows);
  if (!out.pixels.empty()) out.pixels.resize(out.rows * features);
  if (!out.values.empty()) out.values.resize(out.rows * features);
  out.labels.resize(out.rows);
  return out;
}

Dataset Dataset::subset(const std::vector<std::size_t>& chosen) const {
  Dataset out = *this;
  out.rows = chosen.size();
  out.pixels.clear();
  out.values.clear();
  out.labels.clear();
  for (std::size_t r : chosen) {
    if (r >= rows) throw ValueError(fmt::format("{}: row {} is out of range ({} rows)", name, r, rows));
    if (!pixels.empty()) out.pixels.insert(out.pixels.end(), pixels.begin() + r * features, pixels.begin() + (r + 1) * features);
    if (!values.empty()) out.values.insert(out.values.end(), values.begin() + r * features, values.begin() + (r + 1) * features);
    out.labels.push_back(labels[r]);
  }
  return out;
}

TrainTest split_validation(const Dataset& train, std::size_t held_out, std::uint64_t seed) {
  if (held_out == 0 || held_out >= train.rows)
    throw ValueError(fmt::format("validation split of '{}': {} rows held out of {}; hold out at least 1 and leave "
                                 "at least 1 to train on",
                                 train.name, held_out, train.rows));
  std::vector<std::size_t> order(train.rows);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(seed);
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);  // Fisher-Yates
  TrainTest out{train.subset({order.begin() + std::ptrdiff_t(held_out), order.end()}),
                train.subset({order.begin(), order.begin() + std::ptrdiff_t(held_out)})};
  out.train.name = train.name + " (training part)";
  out.test.name = train.name + " (validation part)";
  return out;
}

template <class T>
Tensor<T> Dataset::one_hot(const std::vector<std::size_t>& labels, std::size_t classes) {
  detail::check_label_range("one_hot", labels, classes);
  Tensor<T> t(Shape{labels.size(), classes});
  for (std::size_t i = 0; i < labels.size(); ++i) t[i * classes + labels[i]] = T(1);
  return t;
}

std::string default_data_dir() { return "/usr/share/datasets/fashion-mnist"; }

namespace {

// The first of the usual spellings of an MNIST file that exists in dir.
std::string find_file(const std::string& dir, const std::string& split, const std::string& kind) {
  namespace fs = std::filesystem;
  const std::vector<std::string> names{split + "-" + kind + "-ubyte.gz", split + "-" + kind + "-ubyte",
                                       split + "-" + kind.substr(0, kind.find('-')) + "." +
                                           kind.substr(kind.find('-') + 1) + "-ubyte"};
  for (const std::string& n : names)
    if (fs::exists(fs::path(dir) / n)) return (fs::path(dir) / n).string();
  throw DataError(fmt::format("{}: no {} file (looked for {})", dir, split + "-" + kind, fmt::join(names, ", ")));
}

Dataset load_split(const std::string& dir, const std::string& split, const std::string& name) {
  const std::string image_path = find_file(dir, split, "images-idx3");
  const std::string label_path = find_file(dir, split, "labels-idx1");
  IdxArray images = read_idx(image_path, 3);
  const IdxArray labels = read_idx(label_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw DataError(fmt::format("{} has {} images but {} has {} labels", image_path, images.dims[0], label_path,
                                labels.dims[0]));
  Dataset d;
  d.name = name;
  d.rows = images.dims[0];
  d.features = images.dims[1] * images.dims[2];
  d.image = Shape{1, images.dims[1], images.dims[2]};
  d.classes = 10;
  d.pixels = std::move(images.data);
  d.files = {image_path, label_path};
  d.labels.resize(d.rows);
  for (std::size_t i = 0; i < d.rows; ++i) {
    if (labels.data[i] >= d.classes)
      throw DataError(fmt::format("{}: label {} at row {} is not a class 0-9", label_path, labels.data[i], i));
    d.labels[i] = labels.data[i];
  }
  return d;
}

}  // namespace

TrainTest load_mnist(const std::string& dir) {
  if (!std::filesystem::is_directory(dir))
    throw DataError(fmt::format("{}: no such data folder (Fashion-MNIST: apt-get install dataset-fashion-mnist)", dir));
  const std::string name = std::filesystem::path(dir).filename().string();
  return {load_split(dir, "train", name + " train"), load_split(dir, "t10k", name + " test")};
}

Dataset make_spiral(std::size_t points_per_class, std::size_t classes, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.name = "spiral";
  d.rows = points_per_class * classes;
  d.features = 2;
  d.classes = classes;
  for (std::size_t c = 0; c < classes; ++c)
    for (std::size_t i = 0; i < points_per_class; ++i) {
      const double r = double(i) / double(points_per_class);
      const double angle = 4.0 * (double(c) + r) + 0.2 * rng.normal();
      d.values.push_back(float(r * std::sin(angle)));
      d.values.push_back(float(r * std::cos(angle)));
      d.labels.push_back(c);
    }
  return d;
}

Dataset make_xor(std::size_t rows, std::uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.name = "xor";
  d.rows = rows;
  d.features = 2;
  d.classes = 2;
  for (std::size_t i = 0; i < rows; ++i) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    d.values.push_back(float(a));
    d.values.push_back(float(b));
    d.labels.push_back((a > 0) != (b > 0) ? 1 : 0);
  }
  return d;
}

namespace {
// A 2-feature set of `rows` points: class 0 takes the first half, class 1 the rest, each at point(t, class) for t
// evenly over [0, 1] (endpoints included), plus Gaussian noise.
template <class Point>
Dataset two_classes(const char* name, std::size_t rows, double noise, std::uint64_t seed, Point point) {
  if (rows < 4) throw ValueError(fmt::format("{}: {} rows; at least 4", name, rows));
  if (!(noise >= 0 && std::isfinite(noise)))
    throw ValueError(fmt::format("{}: the noise {} must be >= 0", name, noise));
  Rng rng(seed);
  Dataset d;
  d.name = name;
  d.rows = rows;
  d.features = 2;
  d.classes = 2;
  const std::size_t first = rows / 2;
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t c = i < first ? 0 : 1, n = c == 0 ? first : rows - first, k = c == 0 ? i : i - first;
    const auto [x, y] = point(n > 1 ? double(k) / double(n - 1) : 0.0, c);
    d.values.push_back(float(x + noise * rng.normal()));
    d.values.push_back(float(y + noise * rng.normal()));
    d.labels.push_back(c);
  }
  return d;
}
}  // namespace

Dataset make_moons(std::size_t rows, double noise, std::uint64_t seed) {
  const double pi = std::acos(-1.0);
  return two_classes("moons", rows, noise, seed, [pi](double t, std::size_t c) {
    return c == 0 ? std::pair{std::cos(pi * t), std::sin(pi * t)}
                  : std::pair{1 - std::cos(pi * t), 0.5 - std::sin(pi * t)};
  });
}

Dataset make_circles(std::size_t rows, double noise, double factor, std::uint64_t seed) {
  if (!(factor > 0 && factor < 1)) throw ValueError(fmt::format("circles: the factor {} must be in (0, 1)", factor));
  const double pi = std::acos(-1.0);
  return two_classes("circles", rows, noise, seed, [pi, factor](double t, std::size_t c) {
    const double r = c == 0 ? 1.0 : factor, angle = 2 * pi * t;
    return std::pair{r * std::cos(angle), r * std::sin(angle)};
  });
}

template void Dataset::gather(const std::size_t*, std::size_t, Tensor<float>&, std::vector<std::size_t>&) const;
template void Dataset::gather(const std::size_t*, std::size_t, Tensor<double>&, std::vector<std::size_t>&) const;
template Tensor<float> Dataset::one_hot(const std::vector<std::size_t>&, std::size_t);
template Tensor<double> Dataset::one_hot(const std::vector<std::size_t>&, std::size_t);

}  // namespace tapegrad
