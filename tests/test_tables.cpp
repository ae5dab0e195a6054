// scikit-learn's small data sets from Debian's python3-sklearn files: counts, the seeded split, the scaling, and
// every way a file can be wrong.
#include <cmath>
#include <fstream>
#include <map>

#include <zlib.h>

#include "helpers.hpp"

using testing::TempDir;

namespace {
std::string sklearn_file(const std::string& name) { return tg::sklearn_data_dir() + "/" + name; }

// The file's text (gunzipped).
std::string text_of(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string text;
  char block[4096];
  for (int got; (got = gzread(f, block, sizeof block)) > 0;) text.append(block, std::size_t(got));
  gzclose(f);
  return text;
}
void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
}  // namespace

TEST_CASE("scikit-learn's data sets: rows, features, classes, and a seeded half for testing") {
  const std::map<std::string, std::array<std::size_t, 3>> expected{
      {"digits", {1797, 64, 10}}, {"iris", {150, 4, 3}}, {"wine", {178, 13, 3}}, {"breast-cancer", {569, 30, 2}}};
  CHECK(tg::table_dataset_names() == std::vector<std::string>{"digits", "iris", "wine", "breast-cancer"});
  for (const auto& [name, counts] : expected) {
    CAPTURE(name);
    const tg::TrainTest d = tg::load_table_dataset(name, 7);
    CHECK(d.train.rows + d.test.rows == counts[0]);
    CHECK(d.test.rows == std::size_t(std::llround(counts[0] * 0.5)));
    CHECK(d.train.features == counts[1]);
    CHECK(d.train.classes == counts[2]);
    d.train.validate();
    d.test.validate();
    std::vector<std::size_t> per_class(counts[2]);
    for (const tg::Dataset* part : {&d.train, &d.test})
      for (std::size_t l : part->labels) ++per_class[l];
    for (std::size_t c : per_class) CHECK(c > 0);
    // the same seed, the same split; another seed, another
    CHECK(tg::load_table_dataset(name, 7).test.labels == d.test.labels);
    CHECK(tg::load_table_dataset(name, 8).test.values != d.test.values);
  }
  // digits: 8x8 images of 0-16 grey levels, as 0-1; the first image of the file is a 0
  const tg::TrainTest digits = tg::load_table_dataset("digits", 0);
  CHECK(digits.train.image == tg::Shape{1, 8, 8});
  for (float v : digits.train.values) CHECK((v >= 0 && v <= 1));
  // the others: standardised by the training part's statistics
  const tg::TrainTest wine = tg::load_table_dataset("wine", 0);
  for (std::size_t j = 0; j < wine.train.features; ++j) {
    double mean = 0, square = 0;
    for (std::size_t i = 0; i < wine.train.rows; ++i) mean += wine.train.values[i * 13 + j];
    mean /= double(wine.train.rows);
    for (std::size_t i = 0; i < wine.train.rows; ++i)
      square += (wine.train.values[i * 13 + j] - mean) * (wine.train.values[i * 13 + j] - mean);
    CHECK(std::abs(mean) < 1e-5);
    CHECK(std::sqrt(square / double(wine.train.rows)) == doctest::Approx(1).epsilon(1e-4));
  }
}

TEST_CASE("scikit-learn's data sets: a missing, truncated or crafted file is a DataError naming it") {
  TempDir dir;
  const auto error_of = [&](const std::string& name) {
    return testing::message_of<tg::DataError>([&] { tg::load_table_dataset(name, 0, 0.5, dir.str()); });
  };
  CHECK(error_of("iris") == dir.file("iris.csv") + ": not found (install Debian's python3-sklearn: scripts/setup.sh "
                                                   "does)");
  const std::string iris = text_of(sklearn_file("iris.csv"));
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = iris;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {iris.substr(0, iris.find('\n', iris.size() / 2) + 1), "rows, expected 150 (truncated?)"},
           {replaced("5.1,3.5,1.4,0.2,0", "5.1,nan,1.4,0.2,0"), "line 2: nan is not a finite number"},
           {replaced("5.1,3.5,1.4,0.2,0", "5.1,3.5,1.4,$(rm),0"), "line 2: '$(rm)' is not a number"},
           {replaced("5.1,3.5,1.4,0.2,0", "5.1,3.5,1.4,0.2,7"), "line 2: label 7 is not a class from 0 to 2"},
           {replaced("5.1,3.5,1.4,0.2,0", "5.1,3.5,1.4,0"), "line 2 has 4 fields, expected 4 features and a label"},
           {replaced("150,4,", "15000,4,"), "line 1 is '15000,4,setosa,versicolor,virginica', not the header"},
           {replaced("5.1,3.5,1.4,0.2,0", "5.1,3.5,1.4,1e999,0"), "line 2: '1e999' is not a number"}}) {
    CAPTURE(message);
    write(dir.file("iris.csv"), text);
    CHECK(error_of("iris").find(message) != std::string::npos);
    CHECK(error_of("iris").rfind(dir.file("iris.csv"), 0) == 0);
  }
  // a gzip file cut short
  std::ifstream digits(sklearn_file("digits.csv.gz"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(digits)), std::istreambuf_iterator<char>());
  write(dir.file("digits.csv.gz"), bytes.substr(0, bytes.size() / 2));
  CHECK(error_of("digits").rfind(dir.file("digits.csv.gz") + ": ", 0) == 0);
  CHECK(testing::message_of<tg::ValueError>([] { tg::load_table_dataset("mnist", 0); }) ==
        "data set 'mnist': not one of digits, iris, wine, breast-cancer");
  CHECK(testing::message_of<tg::ValueError>([] { tg::load_table_dataset("iris", 0, 1.0); }) ==
        "data set 'iris': the test fraction 1 must be in (0, 1)");
}

TEST_CASE("generated 2-D sets: moons and circles on their curves, and the named sets split by the seed") {
  const tg::Dataset moons = tg::make_moons(10, 0, 1);
  REQUIRE(moons.rows == 10);
  // without noise: class 0 on the upper half circle from (1, 0) to (-1, 0), class 1 on the lower one from (0, 0.5)
  CHECK(moons.labels == std::vector<std::size_t>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  CHECK(moons.values[0] == doctest::Approx(1));
  CHECK(moons.values[1] == doctest::Approx(0));
  CHECK(moons.values[8] == doctest::Approx(-1));
  CHECK(moons.values[10] == doctest::Approx(0));
  CHECK(moons.values[11] == doctest::Approx(0.5));
  const tg::Dataset circles = tg::make_circles(20, 0, 0.5, 1);
  for (std::size_t i = 0; i < circles.rows; ++i)
    CHECK(std::hypot(circles.values[2 * i], circles.values[2 * i + 1]) ==
          doctest::Approx(circles.labels[i] == 0 ? 1.0 : 0.5).epsilon(1e-6));
  CHECK(testing::message_of<tg::ValueError>([] { tg::make_circles(20, 0.1, 1.5, 1); }) ==
        "circles: the factor 1.5 must be in (0, 1)");
  CHECK(testing::message_of<tg::ValueError>([] { tg::make_moons(20, -1, 1); }) == "moons: the noise -1 must be >= 0");
  CHECK(testing::message_of<tg::ValueError>([] { tg::make_moons(2, 0.1, 1); }) == "moons: 2 rows; at least 4");

  CHECK(tg::generated_dataset_names() == std::vector<std::string>{"spiral", "moons", "circles", "xor"});
  for (const std::string& name : tg::generated_dataset_names()) {
    CAPTURE(name);
    const tg::TrainTest d = tg::load_generated_dataset(name, 3);
    CHECK(d.train.rows == 150);
    CHECK(d.test.rows == 150);
    CHECK(d.train.features == 2);
    CHECK(tg::load_generated_dataset(name, 3).test.values == d.test.values);
    CHECK(tg::load_generated_dataset(name, 4).test.values != d.test.values);
  }
  CHECK(testing::message_of<tg::ValueError>([] { tg::load_generated_dataset("swirl", 0); }) ==
        "data set 'swirl': not one of spiral, moons, circles, xor");
}
