#include "tapegrad/data/tables.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>

#include "tapegrad/tensor/error.hpp"

namespace tapegrad {
namespace {

struct TableFile {
  const char* name;
  const char* file;
  bool header;        // scikit-learn's "n_samples,n_features,class names..." first line
  std::size_t rows, features, classes;
};

const std::vector<TableFile>& table_files() {
  static const std::vector<TableFile> files{{"digits", "digits.csv.gz", false, 1797, 64, 10},
                                            {"iris", "iris.csv", true, 150, 4, 3},
                                            {"wine", "wine_data.csv", true, 178, 13, 3},
                                            {"breast-cancer", "breast_cancer.csv", true, 569, 30, 2}};
  return files;
}

constexpr std::size_t kMaxBytes = std::size_t{64} << 20;  // the largest of them is 300 kB

// The whole file, gunzipped when it is gzip (zlib reads a plain file as it is).
std::string read_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw DataError(fmt::format("{}: not found (install Debian's python3-sklearn: scripts/setup.sh does)", path));
  std::unique_ptr<std::remove_pointer_t<gzFile>, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), &gzclose);
  if (!f) throw DataError(fmt::format("{}: cannot open", path));
  std::string text;
  char block[1 << 16];
  for (;;) {
    const int got = gzread(f.get(), block, sizeof block);
    if (got < 0) {
      int code = 0;
      const char* why = gzerror(f.get(), &code);
      throw DataError(fmt::format("{}: cannot decompress: {}", path, why ? why : "gzip error"));
    }
    if (got == 0) break;
    text.append(block, std::size_t(got));
    if (text.size() > kMaxBytes) throw DataError(fmt::format("{}: larger than {} MB; not the expected file", path,
                                                              kMaxBytes >> 20));
  }
  int code = 0;
  gzerror(f.get(), &code);
  if (code != Z_OK && code != Z_BUF_ERROR) throw DataError(fmt::format("{}: cannot decompress", path));
  return text;
}

double number(const std::string& field, const std::string& path, std::size_t line) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  if (field.empty() || *end != '\0' || errno == ERANGE)
    throw DataError(fmt::format("{}: line {}: '{}' is not a number", path, line, field));
  if (!std::isfinite(v)) throw DataError(fmt::format("{}: line {}: {} is not a finite number", path, line, field));
  return v;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, ',')) out.push_back(field);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

Dataset parse(const TableFile& t, const std::string& path) {
  const std::string text = read_text(path);
  std::istringstream lines(text);
  std::string line;
  std::size_t number_of_line = 0;
  Dataset d;
  d.name = t.name;
  d.features = t.features;
  d.classes = t.classes;
  d.files = {path};
  if (t.header) {
    std::getline(lines, line);
    ++number_of_line;
    const std::vector<std::string> head = fields_of(line);
    if (head.size() != 2 + t.classes || number(head[0], path, 1) != double(t.rows) ||
        number(head[1], path, 1) != double(t.features))
      throw DataError(fmt::format("{}: line 1 is '{}', not the header of {} rows of {} features and {} classes", path,
                                  line.substr(0, 80), t.rows, t.features, t.classes));
  }
  while (std::getline(lines, line)) {
    ++number_of_line;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> fields = fields_of(line);
    if (fields.size() != t.features + 1)
      throw DataError(fmt::format("{}: line {} has {} fields, expected {} features and a label", path,
                                  number_of_line, fields.size(), t.features));
    for (std::size_t j = 0; j < t.features; ++j) d.values.push_back(float(number(fields[j], path, number_of_line)));
    const double label = number(fields.back(), path, number_of_line);
    if (label < 0 || label >= double(t.classes) || label != std::floor(label))
      throw DataError(fmt::format("{}: line {}: label {} is not a class from 0 to {}", path, number_of_line,
                                  fields.back(), t.classes - 1));
    d.labels.push_back(std::size_t(label));
    ++d.rows;
  }
  if (d.rows != t.rows)
    throw DataError(fmt::format("{}: {} rows, expected {} (truncated?)", path, d.rows, t.rows));
  return d;
}

}  // namespace

const std::vector<std::string>& table_dataset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const TableFile& t : table_files()) out.push_back(t.name);
    return out;
  }();
  return names;
}

bool is_table_dataset(const std::string& name) {
  const auto& names = table_dataset_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

const std::vector<std::string>& generated_dataset_names() {
  static const std::vector<std::string> names{"spiral", "moons", "circles", "xor"};
  return names;
}

bool is_generated_dataset(const std::string& name) {
  const auto& names = generated_dataset_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

TrainTest load_generated_dataset(const std::string& name, std::uint64_t seed, double test_fraction) {
  if (!(test_fraction > 0 && test_fraction < 1))
    throw ValueError(fmt::format("data set '{}': the test fraction {} must be in (0, 1)", name, test_fraction));
  Dataset all;
  if (name == "spiral") all = make_spiral(100, 3, 0);
  else if (name == "moons") all = make_moons(300, 0.1, 0);
  else if (name == "circles") all = make_circles(300, 0.1, 0.5, 0);
  else if (name == "xor") all = make_xor(300, 0);
  else
    throw ValueError(fmt::format("data set '{}': not one of {}", name, fmt::join(generated_dataset_names(), ", ")));
  const auto held_out = std::size_t(std::llround(test_fraction * double(all.rows)));
  TrainTest out = split_validation(all, std::clamp<std::size_t>(held_out, 1, all.rows - 1), seed);
  out.train.name = name + " (training part)";
  out.test.name = name + " (test part)";
  return out;
}

std::string sklearn_data_dir() { return "/usr/lib/python3/dist-packages/sklearn/datasets/data"; }

TrainTest load_table_dataset(const std::string& name, std::uint64_t seed, double test_fraction,
                             const std::string& dir) {
  const auto found = std::find_if(table_files().begin(), table_files().end(),
                                  [&](const TableFile& t) { return name == t.name; });
  if (found == table_files().end())
    throw ValueError(fmt::format("data set '{}': not one of {}", name, fmt::join(table_dataset_names(), ", ")));
  if (!(test_fraction > 0 && test_fraction < 1))
    throw ValueError(fmt::format("data set '{}': the test fraction {} must be in (0, 1)", name, test_fraction));
  Dataset all = parse(*found, (std::filesystem::path(dir) / found->file).string());
  if (name == "digits") {
    for (float& v : all.values) {
      if (v < 0 || v > 16)
        throw DataError(fmt::format("{}: a grey level of {} (digits are 0 to 16)", all.files.front(), v));
      v /= 16;
    }
    all.image = Shape{1, 8, 8};
  }
  const auto held_out = std::size_t(std::llround(test_fraction * double(all.rows)));
  TrainTest out = split_validation(all, std::clamp<std::size_t>(held_out, 1, all.rows - 1), seed);
  out.train.name = name + " (training part)";
  out.test.name = name + " (test part)";
  if (name != "digits") {  // standardised by the training part's statistics: the test part is not looked at
    for (std::size_t j = 0; j < all.features; ++j) {
      double mean = 0, square = 0;
      for (std::size_t i = 0; i < out.train.rows; ++i) mean += out.train.values[i * all.features + j];
      mean /= double(out.train.rows);
      for (std::size_t i = 0; i < out.train.rows; ++i) {
        const double c = out.train.values[i * all.features + j] - mean;
        square += c * c;
      }
      const double deviation = std::sqrt(square / double(out.train.rows));
      const double scale = deviation > 0 ? 1 / deviation : 1;
      for (Dataset* part : {&out.train, &out.test})
        for (std::size_t i = 0; i < part->rows; ++i) {
          float& v = part->values[i * all.features + j];
          v = float((v - mean) * scale);
        }
    }
  }
  return out;
}

}  // namespace tapegrad
