// Reliability: anomaly detection, a diverging run that keeps its last good checkpoint, and checkpoints that
// survive a process killed, or a disk that fills, in the middle of a save.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <zlib.h>

#include "support/book_chapter4.hpp"
#include "fuzz/feed.hpp"
#include "helpers.hpp"

using testing::TempDir;
using T = tg::Tensor<double>;
namespace book = tg::support::book;
using V = tg::Var<double>;

TEST_CASE("anomaly detection names the op, its tape position and its input shapes") {
  tg::Tape<double> tape;
  const V x = tape.variable(T{1.0, 0.0});
  CHECK(std::isinf(tg::log(x).value()[1]));  // off by default: -inf, silently, as in NumPy
  tg::DetectAnomalyGuard anomaly;
  CHECK_THROWS_WITH_AS(tg::log(x), "anomaly: log (tape position 2) produced -inf at element (1), from inputs of shape (2,)",
                       tg::NumericError);
  CHECK_THROWS_WITH_AS(tape.variable(T{std::nan("")}), doctest::Contains("leaf (tape position 3) produced nan"),
                       tg::NumericError);
}

TEST_CASE("anomaly detection checks gradients in backward") {
  tg::Tape<double> tape;
  tg::DetectAnomalyGuard anomaly;
  const V x = tape.variable(T{4.0, 0.0});
  const V y = tg::sum(tg::sqrt(x));  // sqrt(0) is fine; its derivative 1 / (2 sqrt(0)) is not
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward of sqrt (tape position 1) produced inf at element (1) "
                                                       "in the gradient of its input 0 (shape (2,))"),
                       tg::NumericError);
}

TEST_CASE("the book's lr = 10 divergence is caught by anomaly detection where the values overflow") {
  // (-3, 4) grows by -19 per step; in double x0^2 + x1^2 overflows after about 240 steps
  CHECK(std::isfinite(book::gradient_descent_tape(T{-3.0, 4.0}, 10.0, 100)[0]));
  tg::DetectAnomalyGuard anomaly;
  CHECK_THROWS_WITH_AS(book::gradient_descent_tape(T{-3.0, 4.0}, 10.0, 300),
                       doctest::Contains("sum (tape position 2) produced inf at element ()"), tg::NumericError);
}

TEST_CASE("a diverging run stops with a clear message and keeps the last good checkpoint") {
  TempDir dir;
  const std::string path = dir.file("last-good.tgckpt");
  tg::Rng rng(1);
  auto net = tg::make_mlp<float>({{2, 32, 3}, tg::Activation::ReLU, tg::Init::he()}, rng);
  auto sgd = tg::make_sgd<float>(net->parameters(), {0.05});
  tg::TrainerOptions o;
  o.epochs = 2;
  o.batch_size = 30;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  o.checkpoint = path;
  tg::Trainer<float> trainer(*net, *sgd, o);
  const tg::Dataset spiral = tg::make_spiral(100, 3, 4);
  trainer.fit(spiral);
  const tg::Tensor<float> good = net->parameters()[0]->value;
  sgd->set_learning_rate(1e30);  // the book's lesson, in float: a learning rate far too large
  CHECK_THROWS_WITH_AS(trainer.fit(spiral), doctest::Contains("is probably too large"), tg::NumericError);
  auto fresh = tg::make_mlp<float>({{2, 32, 3}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::load_checkpoint(path, *fresh);
  CHECK(fresh->parameters()[0]->value == good);
}

namespace {
// Two models whose checkpoints differ everywhere; big enough that a save takes a while.
struct Pair {
  Pair() : rng(5) {
    a = tg::make_mlp<float>({{784, 200, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
    b = tg::make_mlp<float>({{784, 200, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  }
  bool loaded_equals(tg::Sequential<float>& m, tg::Sequential<float>& reference) {
    const auto p = m.parameters(), q = reference.parameters();
    for (std::size_t i = 0; i < p.size(); ++i)
      if (p[i]->value != q[i]->value) return false;
    return true;
  }
  tg::Rng rng;
  std::unique_ptr<tg::Sequential<float>> a, b;
};
}  // namespace

TEST_CASE("killing the process at any point of a save leaves the old checkpoint or the new one, whole") {
  TempDir dir;
  const std::string path = dir.file("model.tgckpt");
  Pair models;
  tg::save_checkpoint(path, *models.a);
  tg::Rng timing(9);
  for (int round = 0; round < 12; ++round) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {  // save B and A over each other until killed
      for (;;) {
        tg::save_checkpoint(path, *models.b);
        tg::save_checkpoint(path, *models.a);
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + timing.below(20000)));
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    tg::Rng rng(6);
    auto loaded = tg::make_mlp<float>({{784, 200, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
    tg::load_checkpoint(path, *loaded);  // never torn: loads, checksum and all
    CHECK((models.loaded_equals(*loaded, *models.a) || models.loaded_equals(*loaded, *models.b)));
  }
}

TEST_CASE("a save that fails half-way (the disk limit is hit) leaves the old checkpoint and no temporary file") {
  TempDir dir;
  const std::string path = dir.file("model.tgckpt");
  Pair models;
  tg::save_checkpoint(path, *models.a);
  const auto size = std::filesystem::file_size(path);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing the process
    const rlimit half{size / 2, size / 2};
    setrlimit(RLIMIT_FSIZE, &half);
    try {
      tg::save_checkpoint(path, *models.b);
    } catch (const tg::DataError& e) {
      _exit(std::string(e.what()).find("is unchanged") != std::string::npos ? 0 : 2);
    }
    _exit(1);  // the save did not notice
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(testing::temporaries_in(dir.file("")) == 0);
  tg::Rng rng(6);
  auto loaded = tg::make_mlp<float>({{784, 200, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::load_checkpoint(path, *loaded);
  CHECK(models.loaded_equals(*loaded, *models.a));
}

TEST_CASE("a layer given the wrong number of features names both shapes") {
  tg::Rng rng(1);
  tg::Linear<double> layer(4, 3, tg::Init::he(), rng);
  tg::Tape<double> tape;
  CHECK_THROWS_WITH_AS(layer.forward(tape, tape.constant(T::zeros({2, 5}))),
                       "affine: needs x (N, in) or (N, ...) of in values per row, W (in, out), b (out,); got x (2, 5), W (4, "
                       "3), b (3,)", tg::ShapeError);
}

TEST_CASE("training input errors: a batch larger than the data, an empty data set") {
  tg::Rng rng(1);
  auto net = tg::make_mlp<double>({{2, 4, 2}, tg::Activation::ReLU, tg::Init::he()}, rng);
  auto sgd = tg::make_sgd<double>(net->parameters());
  tg::TrainerOptions o;
  o.batch_size = 500;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  tg::Trainer<double> trainer(*net, *sgd, o);
  CHECK_THROWS_WITH_AS(trainer.fit(tg::make_xor(100, 1)), "batches: a batch of 500 is larger than the data set (100 rows)",
                       tg::ValueError);
  CHECK_THROWS_AS(trainer.fit(tg::make_xor(0, 1)), tg::ValueError);
  o.epochs = 0;
  CHECK_THROWS_AS(tg::Trainer<double>(*net, *sgd, o), tg::ValueError);
}

TEST_CASE("inputs the fuzzers found stay harmless (tests/fuzz/regressions)") {
  // Each file is replayed as its fuzz target feeds it: raw, and (checkpoints) with its checksum repaired.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TAPEGRAD_FUZZ_REGRESSIONS)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    ++files;
    if (name.rfind("checkpoint", 0) == 0) {
      TempDir dir;
      const auto bytes = testing::read_bytes(entry.path().string());
      testing::write_bytes(dir.file("repaired"), fuzz::with_repaired_checksum({bytes.begin(), bytes.end()}));
      fuzz::feed_checkpoint(entry.path().string());
      fuzz::feed_checkpoint(dir.file("repaired"));
    } else {
      fuzz::feed_idx(entry.path().string());
    }
  }
  CHECK(files >= 2);
}

TEST_CASE("sizes that do not fit: overflowing shapes and impossible allocations are tapegrad errors") {
  const std::size_t big = std::size_t{1} << 40;
  CHECK_THROWS_WITH_AS(tg::Shape({big, big}).numel(), doctest::Contains("more elements than a 64-bit count holds"),
                       tg::ShapeError);
  CHECK(tg::Shape({big, big, 0}).numel() == 0);  // a zero extent: empty, whatever the others
  CHECK_THROWS_AS(tg::Tensor<float>(tg::Shape{big, big}), tg::ShapeError);
  CHECK_THROWS_WITH_AS(tg::Tensor<float>(tg::Shape{big, std::size_t{1} << 20}), doctest::Contains("more than any machine has"),
                       tg::MemoryError);
#if !defined(__SANITIZE_ADDRESS__)  // ASan's operator new stops the process on a failed allocation, by design
  // larger than this machine's memory and swap, smaller than the absolute cap: the allocation itself fails
  CHECK_THROWS_WITH_AS(tg::Tensor<double>(tg::Shape{std::size_t{1} << 42}), doctest::Contains("out of memory"),
                       tg::MemoryError);
#endif
  tg::Tensor<double> t(tg::Shape{2, 2}, 1.0);
  CHECK_THROWS_AS(t.resize({big, big}), tg::ShapeError);
  CHECK(t.shape() == tg::Shape{2, 2});  // left as it was
  tg::Tape<double> tape;
  const tg::Var<double> x = tape.variable(T::ones({2, 2}));
  CHECK_THROWS_WITH_AS(tg::reshape(x, tg::Shape{big, big, 4}), doctest::Contains("reshape: shape"), tg::ShapeError);
  CHECK_THROWS_WITH_AS(tg::broadcast_to(x, tg::Shape{big, big, 2}), doctest::Contains("broadcast_to: shape"),
                       tg::ShapeError);
}

TEST_CASE("the library defends itself: values that make no sense are a ValueError naming what") {
  tg::Rng rng(1);
  CHECK_THROWS_WITH_AS(rng.below(0), doctest::Contains("Rng::below: needs n >= 1"), tg::ValueError);
  CHECK_THROWS_WITH_AS(rng.uniform(2.0, 1.0), doctest::Contains("needs finite low <= high"), tg::ValueError);
  CHECK_THROWS_AS(rng.uniform(0.0, std::nan("")), tg::ValueError);
  CHECK_THROWS_WITH_AS(T::randn({2}, rng, -1.0), doctest::Contains("standard deviation must be finite and >= 0"),
                       tg::ValueError);
  CHECK_THROWS_AS(tg::Init::fixed_std(-0.01), tg::ValueError);
  CHECK_THROWS_AS(tg::Init::fixed_std(std::nan("")), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::BatchNorm<double>(0), doctest::Contains("at least one feature"), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::BatchNorm<double>(3, 1.5), doctest::Contains("momentum must be in [0, 1]"), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::BatchNorm<double>(3, 0.9, 0.0), doctest::Contains("eps must be"), tg::ValueError);
  CHECK_THROWS_AS(tg::BatchNorm<double>(3, 0.9, std::nan("")), tg::ValueError);
  CHECK_THROWS_AS(tg::Dropout<double>(std::nan(""), 1), tg::ValueError);
}

TEST_CASE("the library defends itself: optimizer state is checked against each parameter at every step") {
  tg::Parameter<double> w("w", T{1.0, 2.0});
  auto momentum = tg::make_momentum<double>({&w});
  w.grad() = T{0.1, 0.1};
  momentum->step();
  w.value = T{1.0, 2.0, 3.0};  // resized behind the optimizer's back
  w.grad() = T{0.1, 0.1, 0.1};
  CHECK_THROWS_WITH_AS(momentum->step(), doctest::Contains("parameter 'w' has shape (3,) but its state"), tg::ShapeError);
  CHECK_THROWS_WITH_AS(tg::make_sgd<double>({&w, &w}), doctest::Contains("parameter 'w' is given twice"), tg::ValueError);
  CHECK_THROWS_AS(tg::make_adam<double>({&w, nullptr}), tg::ValueError);
}

TEST_CASE("the library defends itself: a Dataset whose counts disagree with its data is refused before it is read") {
  tg::Dataset d = tg::make_xor(10, 1);
  d.rows = 20;  // claims more rows than it holds
  std::vector<std::size_t> rows{15}, y;
  T x;
  CHECK_THROWS_WITH_AS(d.gather(rows.data(), 1, x, y), doctest::Contains("20 rows of 2 features need 40 values"),
                       tg::ValueError);
  tg::Dataset bad_label = tg::make_xor(10, 1);
  bad_label.labels[3] = 7;
  tg::Rng rng(2);
  auto net = tg::make_mlp<double>({{2, 4, 2}, tg::Activation::ReLU, tg::Init::he()}, rng);
  auto sgd = tg::make_sgd<double>(net->parameters());
  tg::TrainerOptions o;
  o.progress = tg::TrainerOptions::Progress::Quiet;
  tg::Trainer<double> trainer(*net, *sgd, o);
  CHECK_THROWS_WITH_AS(trainer.fit(bad_label), doctest::Contains("label 7 (row 3) is not one of its 2 classes"),
                       tg::ValueError);
  tg::Dataset wrong_features = tg::make_xor(10, 2);
  wrong_features.features = 1;
  wrong_features.rows = 20;
  CHECK_THROWS_AS(trainer.fit(tg::make_xor(10, 1), &wrong_features), tg::ValueError);
  tg::Dataset empty_test = tg::make_xor(10, 3).head(0);
  CHECK_THROWS_WITH_AS(trainer.fit(tg::make_xor(10, 1), &empty_test), doctest::Contains("test set 'xor' is empty"),
                       tg::ValueError);
}

TEST_CASE("a gzip IDX file with bytes after its stream is refused, concatenated gzip members are read") {
  TempDir dir;
  const tg::IdxArray labels{{3}, {1, 2, 3}};
  const std::string path = dir.file("labels-idx1-ubyte.gz");
  tg::write_idx(path, labels);
  auto bytes = testing::read_bytes(path);
  auto with_tail = bytes;
  for (unsigned char c : {'j', 'u', 'n', 'k', '!'}) with_tail.push_back(c);
  testing::write_bytes(path, with_tail);
  CHECK_THROWS_WITH_AS(tg::read_idx(path, 1), doctest::Contains("has 5 bytes after its gzip stream"), tg::DataError);
  // the same data split over two gzip members (as `cat a.gz b.gz` makes) is fine
  const std::string a = dir.file("a.gz"), b = dir.file("b.gz");
  std::vector<unsigned char> header{0, 0, 8, 1, 0, 0, 0, 3}, body{1, 2, 3};
  const auto gz = [&](const std::vector<unsigned char>& raw, const std::string& out) {
    gzFile f = gzopen(out.c_str(), "wb");
    gzwrite(f, raw.data(), static_cast<unsigned>(raw.size()));
    gzclose(f);
    return testing::read_bytes(out);
  };
  auto joined = gz(header, a);
  const auto second = gz(body, b);
  joined.insert(joined.end(), second.begin(), second.end());
  testing::write_bytes(path, joined);
  CHECK(tg::read_idx(path, 1).data == std::vector<std::uint8_t>{1, 2, 3});
}

TEST_CASE("the library defends itself: gradient checking refuses steps and tolerances that make no sense") {
  CHECK_THROWS_WITH_AS(tg::numerical_diff([](double x) { return x * x; }, 1.0, 0.0),
                       doctest::Contains("numerical_diff: the step h must be a positive finite number"), tg::ValueError);
  T x{1.0, 2.0};
  CHECK_THROWS_AS(tg::numerical_gradient<double>([](const T& v) { return v[0]; }, x, -1e-4), tg::ValueError);
  const auto f = [](tg::Tape<double>&, const std::vector<V>& v) { return v[0] * v[0]; };
  tg::GradcheckOptions bad;
  bad.eps = std::nan("");
  CHECK_THROWS_WITH_AS(tg::gradcheck<double>(f, {x}, bad), doctest::Contains("options.eps must be"), tg::ValueError);
  tg::GradcheckOptions none;
  none.fast = true;
  none.directions = 0;
  CHECK_THROWS_WITH_AS(tg::gradcheck<double>(f, {x}, none), doctest::Contains("at least one direction"), tg::ValueError);
}

TEST_CASE("two processes saving to one path never share a temporary: the file always loads whole") {
  TempDir dir;
  const std::string path = dir.file("shared.tgckpt");
  Pair models;
  tg::save_checkpoint(path, *models.a);
  std::vector<pid_t> children;
  for (int writer = 0; writer < 2; ++writer) {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      try {
        for (int i = 0; i < 30; ++i) tg::save_checkpoint(path, writer == 0 ? *models.a : *models.b);
      } catch (...) {
        _exit(1);
      }
      _exit(0);
    }
    children.push_back(child);
  }
  for (pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // no save failed for want of its temporary
  }
  tg::Rng rng(6);
  auto loaded = tg::make_mlp<float>({{784, 200, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
  tg::load_checkpoint(path, *loaded);
  CHECK((models.loaded_equals(*loaded, *models.a) || models.loaded_equals(*loaded, *models.b)));
  CHECK(testing::temporaries_in(dir.file("")) == 0);
}
