// Image augmentation: the text it is given, each row's draw (a shift within the crop's padding, zeros filling in,
// and a mirror), reproducible from (seed, step, row), and the Trainer's use of it: the same with a resumed run,
// refused for data that are not images.
#include <set>

#include "helpers.hpp"

using T = tg::Tensor<double>;

TEST_CASE("augmentation text: off, on, crop:P and flip, and what is not one") {
  CHECK(!tg::Augmentation::parse("off").active());
  CHECK(tg::Augmentation::parse("on").str() == "crop:2,flip");
  CHECK(tg::Augmentation::parse("flip,crop:1").str() == "crop:1,flip");
  CHECK(tg::Augmentation::parse("crop:8").crop == 8);
  CHECK(testing::message_of<tg::ValueError>([] { tg::Augmentation::parse("crop:9"); }) ==
        "augmentation 'crop:9': crop:9 pads more than 8 pixels");
  for (const char* bad : {"rotate", "crop:", "crop:-1", "crop:2,,flip", "crop:99999999999999999999", "", "flip "})
    CHECK(testing::message_of<tg::ValueError>([&] { tg::Augmentation::parse(bad); })
              .find("is not crop:P or flip") != std::string::npos);
}

TEST_CASE("augment: each row is its image shifted within the padding and maybe mirrored, drawn from (seed, step, row)") {
  const std::size_t rows = 400, h = 5, w = 4;
  tg::Rng rng(1);
  const T images = T::uniform({rows, 2 * h * w}, rng, 0.1, 1.0);  // 2 channels, no zero pixels
  const tg::Augmentation a = tg::Augmentation::parse("crop:2,flip");
  std::vector<std::size_t> index(rows);
  for (std::size_t i = 0; i < rows; ++i) index[i] = 1000 + i;
  T x = images;
  tg::augment(x, {2, h, w}, a, 7, 3, index.data());
  std::set<std::pair<long, long>> shifts;
  std::size_t mirrored = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    // find the (dy, dx, mirror) that explains the row exactly
    std::size_t found = 0;
    for (long dy = -2; dy <= 2; ++dy)
      for (long dx = -2; dx <= 2; ++dx)
        for (const bool mirror : {false, true}) {
          bool same = true;
          for (std::size_t c = 0; c < 2 && same; ++c)
            for (long yy = 0; yy < long(h) && same; ++yy)
              for (long xx = 0; xx < long(w) && same; ++xx) {
                const long sy = yy - dy, sx = (mirror ? long(w) - 1 - xx : xx) - dx;
                const bool inside = sy >= 0 && sy < long(h) && sx >= 0 && sx < long(w);
                const double want = inside ? images[r * 2 * h * w + (c * h + sy) * w + sx] : 0.0;
                same = x[r * 2 * h * w + (c * h + yy) * w + xx] == want;
              }
          if (same) {
            ++found;
            shifts.insert({dy, dx});
            mirrored += mirror;
          }
        }
    CHECK(found == 1);
  }
  CHECK(shifts.size() == 25);  // every shift in [-2, 2]^2 drawn
  CHECK(mirrored > rows / 2 - 60);
  CHECK(mirrored < rows / 2 + 60);
  T again = images;  // the same seed, step and rows: the same draws
  tg::augment(again, {2, h, w}, a, 7, 3, index.data());
  CHECK(again == x);
  T next = images;  // another step: other draws
  tg::augment(next, {2, h, w}, a, 7, 4, index.data());
  CHECK(next != x);
  T off = images;
  tg::augment(off, {2, h, w}, tg::Augmentation{}, 7, 3, index.data());
  CHECK(off == images);
  CHECK_THROWS_AS(tg::augment(off, {2 * h * w}, a, 7, 3, index.data()), tg::ShapeError);
  CHECK_THROWS_AS(tg::augment(off, {3, h, w}, a, 7, 3, index.data()), tg::ShapeError);
}

TEST_CASE("a Trainer with augmentation: a resumed run equals a straight one, and data without images are refused") {
  const tg::TrainTest digits = tg::load_table_dataset("digits", 0);
  const auto run = [&](std::size_t start_epoch, std::size_t epochs, tg::Sequential<double>& net) {
    auto sgd = tg::make_sgd<double>(net.parameters(), {0.05});
    tg::TrainerOptions o;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    o.batch_size = 50;
    o.seed = 4;
    o.start_epoch = start_epoch;
    o.epochs = epochs;
    o.augmentation = tg::Augmentation::parse("crop:1");
    o.evaluate_train = false;
    tg::Trainer<double> trainer(net, *sgd, o);
    return trainer.fit(digits.train);
  };
  tg::Rng r1(9), r2(9);
  auto straight = tg::make_mlp<double>({{64, 16, 10}, tg::Activation::ReLU, tg::Init::he()}, r1);
  auto resumed = tg::make_mlp<double>({{64, 16, 10}, tg::Activation::ReLU, tg::Init::he()}, r2);
  run(0, 2, *straight);
  run(0, 1, *resumed);
  run(1, 2, *resumed);  // SGD keeps no state: the second epoch alone, as a resumed run
  const auto a = straight->parameters(), b = resumed->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
  // without augmentation the weights differ: it did move pixels
  tg::Rng r3(9);
  auto plain = tg::make_mlp<double>({{64, 16, 10}, tg::Activation::ReLU, tg::Init::he()}, r3);
  auto sgd = tg::make_sgd<double>(plain->parameters(), {0.05});
  tg::TrainerOptions o;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  o.batch_size = 50;
  o.seed = 4;
  o.epochs = 2;
  o.evaluate_train = false;
  tg::Trainer<double>(*plain, *sgd, o).fit(digits.train);
  CHECK(plain->parameters()[0]->value != a[0]->value);
  // iris has no images
  const tg::TrainTest iris = tg::load_table_dataset("iris", 0);
  auto small = tg::make_mlp<double>({{4, 8, 3}, tg::Activation::ReLU, tg::Init::he()}, r3);
  auto opt = tg::make_sgd<double>(small->parameters(), {0.05});
  o.augmentation = tg::Augmentation::parse("flip");
  tg::Trainer<double> refused(*small, *opt, o);
  CHECK(testing::message_of<tg::ValueError>([&] { refused.fit(iris.train); }) ==
        "trainer: augmentation 'flip' moves image pixels; the data set 'iris (training part)' holds no images (its "
        "samples are (4,))");
}
