// Data: the IDX reader (raw and gzip), the MNIST-format loader, bad files, batches, synthetic sets.
#include <set>
#include <tuple>

#include "helpers.hpp"

using testing::TempDir;

namespace {
// A tiny MNIST-format folder: n images of 2x3 pixels (value = row index * 10 + pixel), labels i % 10.
void write_tiny_mnist(const TempDir& dir, std::size_t n, bool gz, bool lecun_names = false) {
  for (const std::string split : {"train", "t10k"}) {
    tg::IdxArray images{{n, 2, 3}, {}}, labels{{n}, {}};
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t p = 0; p < 6; ++p) images.data.push_back(static_cast<std::uint8_t>(i * 10 + p));
      labels.data.push_back(static_cast<std::uint8_t>(i % 10));
    }
    const std::string suffix = gz ? ".gz" : "";
    const std::string image_name = lecun_names ? split + "-images.idx3-ubyte" : split + "-images-idx3-ubyte" + suffix;
    const std::string label_name = lecun_names ? split + "-labels.idx1-ubyte" : split + "-labels-idx1-ubyte" + suffix;
    tg::write_idx(dir.file(image_name), images);
    tg::write_idx(dir.file(label_name), labels);
  }
}
std::string error_of(const std::string& path, std::size_t rank) {
  try {
    tg::read_idx(path, rank);
  } catch (const tg::DataError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("IDX files round-trip, raw and gzip-compressed") {
  TempDir dir;
  const tg::IdxArray a{{2, 2, 2}, {0, 1, 2, 3, 250, 251, 252, 255}};
  for (const char* name : {"a-idx3-ubyte", "a-idx3-ubyte.gz"}) {
    tg::write_idx(dir.file(name), a);
    const tg::IdxArray b = tg::read_idx(dir.file(name), 3);
    CHECK(b.dims == a.dims);
    CHECK(b.data == a.data);
  }
  CHECK(testing::read_bytes(dir.file("a-idx3-ubyte")).size() == 4 + 3 * 4 + 8);
}

TEST_CASE("the MNIST loader reads either naming, scales pixels to [0, 1] and keeps labels") {
  for (bool lecun : {false, true}) {
    TempDir dir;
    write_tiny_mnist(dir, 12, !lecun, lecun);
    const tg::TrainTest d = tg::load_mnist(dir.str());
    CHECK(d.train.rows == 12);
    CHECK(d.train.features == 6);
    CHECK(d.train.classes == 10);
    CHECK(d.test.rows == 12);
    CHECK(d.train.feature(1, 2) == doctest::Approx(12.0 / 255));
    CHECK(d.train.labels[11] == 1);
  }
}

TEST_CASE("Debian's Fashion-MNIST loads: 60,000 + 10,000 images of 28x28, ten classes") {
  const std::string dir = tg::default_data_dir();
  REQUIRE_MESSAGE(std::filesystem::exists(dir), dir << " is not installed (scripts/setup.sh installs it)");
  const tg::TrainTest d = tg::load_mnist(dir);
  CHECK(d.train.rows == 60000);
  CHECK(d.test.rows == 10000);
  CHECK(d.train.files == std::vector<std::string>{dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz"});
  CHECK(d.test.files.size() == 2);
  CHECK(d.train.features == 784);
  CHECK(d.train.labels[0] == 9);  // the first training image is an ankle boot
  std::vector<std::size_t> per_class(10);
  for (std::size_t l : d.test.labels) ++per_class[l];
  CHECK(per_class == std::vector<std::size_t>(10, 1000));
  const auto [lo, hi] = std::minmax_element(d.train.pixels.begin(), d.train.pixels.end());
  CHECK(*lo == 0);
  CHECK(*hi == 255);
  CHECK(d.train.feature(0, 0) >= 0.0f);
  CHECK(d.train.pixels.size() == 60000u * 784);
}

TEST_CASE("bad IDX files give errors that name the file and the problem") {
  TempDir dir;
  const std::string path = dir.file("bad-idx3-ubyte");
  const tg::IdxArray good{{4, 2, 2}, std::vector<std::uint8_t>(16, 7)};
  tg::write_idx(path, good);
  const auto bytes = testing::read_bytes(path);

  SUBCASE("missing file") { CHECK(error_of(dir.file("nope"), 3).find("cannot open") != std::string::npos); }
  SUBCASE("truncated data") {
    testing::write_bytes(path, {bytes.begin(), bytes.end() - 5});
    const std::string e = error_of(path, 3);
    CHECK(e.find(path) == 0);
    CHECK(e.find("truncated: the header (4 x 2 x 2) promises 16 data bytes, the file has 11") != std::string::npos);
  }
  SUBCASE("truncated header") {
    testing::write_bytes(path, {bytes.begin(), bytes.begin() + 6});
    CHECK(error_of(path, 3).find("truncated inside the header") != std::string::npos);
  }
  SUBCASE("wrong magic") {
    auto b = bytes;
    b[0] = 0x1f;
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("not an IDX file") != std::string::npos);
  }
  SUBCASE("wrong element type") {
    auto b = bytes;
    b[2] = 0x0d;
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("0x0d is not supported") != std::string::npos);
  }
  SUBCASE("labels file where images were expected") {
    CHECK(error_of(path, 1).find("has 3 dimensions, expected 1") != std::string::npos);
  }
  SUBCASE("trailing bytes") {
    auto b = bytes;
    b.push_back(1);
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("bytes after") != std::string::npos);
  }
  SUBCASE("absurd header dimensions fail fast, without a huge allocation") {
    auto b = bytes;
    for (int i = 4; i < 16; ++i) b[i] = 0xff;  // 4G x 4G x 4G
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("more than 64 GiB") != std::string::npos);
    b[4] = b[5] = 0;  // 65535 x 4G x 4G: still absurd
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("64 GiB") != std::string::npos);
    for (int i = 4; i < 16; ++i) b[i] = 0;
    b[7] = 1;
    b[9] = b[13] = 0x7f;  // 1 x 8M x 8M = 64 TB claimed... beyond the cap
    testing::write_bytes(path, b);
    CHECK_FALSE(error_of(path, 3).empty());
    b[9] = b[13] = 0;
    b[10] = b[14] = 0x10;  // 1 x 4096 x 4096 = 16 MiB claimed, 16 bytes present: truncated, not allocated
    testing::write_bytes(path, b);
    CHECK(error_of(path, 3).find("truncated") != std::string::npos);
  }
  SUBCASE("corrupt gzip stream") {
    const std::string gz = dir.file("bad-idx3-ubyte.gz");
    tg::write_idx(gz, good);
    auto b = testing::read_bytes(gz);
    for (std::size_t i = 12; i < b.size() - 8; ++i) b[i] ^= 0x5a;
    testing::write_bytes(gz, b);
    CHECK_FALSE(error_of(gz, 3).empty());
  }
}

TEST_CASE("loader errors: missing folder, missing file, label out of range, count mismatch") {
  CHECK_THROWS_WITH_AS(tg::load_mnist("/no/such/folder"),
                       doctest::Contains("/no/such/folder: no such data folder"), tg::DataError);
  TempDir dir;
  write_tiny_mnist(dir, 3, false);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
  CHECK_THROWS_WITH_AS(tg::load_mnist(dir.str()), doctest::Contains("no t10k-labels-idx1 file"), tg::DataError);
  tg::write_idx(dir.file("t10k-labels-idx1-ubyte"), {{3}, {1, 2, 11}});
  CHECK_THROWS_WITH_AS(tg::load_mnist(dir.str()), doctest::Contains("label 11 at row 2"), tg::DataError);
  tg::write_idx(dir.file("t10k-labels-idx1-ubyte"), {{2}, {1, 2}});
  CHECK_THROWS_WITH_AS(tg::load_mnist(dir.str()), doctest::Contains("has 3 images but"), tg::DataError);
}

TEST_CASE("batches: each epoch visits every row once, in a seeded order that changes per epoch") {
  tg::BatchSampler a(10, 4, true, 3), b(10, 4, true, 3);
  CHECK(a.batches() == 3);
  CHECK(a.size(2) == 2);
  std::vector<std::size_t> first;
  for (std::size_t k = 0; k < a.batches(); ++k) first.insert(first.end(), a.indices(k), a.indices(k) + a.size(k));
  std::vector<std::size_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(std::equal(first.begin(), first.end(), b.indices(0)));
  a.next_epoch();
  CHECK_FALSE(std::equal(first.begin(), first.end(), a.indices(0)));
  CHECK(tg::BatchSampler(10, 4, false, 0, true).batches() == 2);
  CHECK_THROWS_WITH_AS(tg::BatchSampler(10, 11, true, 0), "batches: a batch of 11 is larger than the data set (10 rows)",
                       tg::ValueError);
  CHECK_THROWS_AS(tg::BatchSampler(10, 0, true, 0), tg::ValueError);
  CHECK_THROWS_AS(tg::BatchSampler(0, 1, true, 0), tg::ValueError);
}

TEST_CASE("synthetic sets and batch gathering") {
  const tg::Dataset spiral = tg::make_spiral(50, 3, 1);
  CHECK(spiral.rows == 150);
  CHECK(spiral.classes == 3);
  const tg::Dataset x = tg::make_xor(100, 2);
  for (std::size_t i = 0; i < x.rows; ++i)
    CHECK(x.labels[i] == ((x.feature(i, 0) > 0) != (x.feature(i, 1) > 0) ? 1u : 0u));
  tg::Tensor<double> batch;
  std::vector<std::size_t> labels;
  const std::size_t rows[] = {4, 0};
  x.gather(rows, 2, batch, labels);
  CHECK(batch.shape() == tg::Shape{2, 2});
  CHECK(batch(0, 1) == double(x.feature(4, 1)));
  CHECK(labels == std::vector<std::size_t>{x.labels[4], x.labels[0]});
  CHECK(tg::Dataset::one_hot<double>({2, 0}, 3) == tg::Tensor<double>{{0, 0, 1}, {1, 0, 0}});
  CHECK(spiral.head(10).rows == 10);
}

TEST_CASE("split_validation holds out seeded random rows: disjoint, complete, reproducible, and refuses empty parts") {
  const tg::Dataset d = tg::make_spiral(50, 3, 2);  // 150 rows
  const tg::TrainTest a = tg::split_validation(d, 30, 7), b = tg::split_validation(d, 30, 7);
  REQUIRE(a.train.rows == 120);
  REQUIRE(a.test.rows == 30);
  CHECK(a.test.values == b.test.values);  // same seed, same split
  CHECK(a.test.values != tg::split_validation(d, 30, 8).test.values);
  // every row lands in exactly one part: match each row of d to the parts by its two features and label
  std::multiset<std::tuple<float, float, std::size_t>> all, parts;
  for (std::size_t r = 0; r < d.rows; ++r) all.emplace(d.values[2 * r], d.values[2 * r + 1], d.labels[r]);
  for (const tg::Dataset* part : {&a.train, &a.test}) {
    part->validate();
    for (std::size_t r = 0; r < part->rows; ++r)
      parts.emplace(part->values[2 * r], part->values[2 * r + 1], part->labels[r]);
  }
  CHECK(all == parts);
  CHECK_THROWS_WITH_AS(tg::split_validation(d, 0, 1),
                       "validation split of 'spiral': 0 rows held out of 150; hold out at least 1 and leave at least 1 "
                       "to train on",
                       tg::ValueError);
  CHECK_THROWS_AS(tg::split_validation(d, 150, 1), tg::ValueError);
}
