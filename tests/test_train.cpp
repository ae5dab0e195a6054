// The training loop and checkpoints, on small synthetic data.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "helpers.hpp"

using testing::TempDir;

namespace {
struct Setup {
  explicit Setup(const std::string& optimizer = "adam", double lr = 0.01, std::uint64_t seed = 1,
                 tg::Activation activation = tg::Activation::Tanh)
      : rng(seed) {
    net = tg::make_mlp<double>({{2, 16, 3}, activation, tg::Init::xavier(), false, 0}, rng);
    tg::OptimizerOptions o;
    o.lr = lr;
    opt = tg::make_optimizer<double>(optimizer, net->parameters(), o);
  }
  tg::Rng rng;
  std::unique_ptr<tg::Sequential<double>> net;
  std::unique_ptr<tg::Optimizer<double>> opt;
};
tg::TrainerOptions quiet(std::size_t epochs, std::size_t batch = 30) { return testing::quiet_options(epochs, batch, 5); }
using testing::spiral;
}  // namespace

TEST_CASE("a small MLP learns the spiral, and the same seed gives the same numbers") {
  Setup a, b;
  tg::Trainer<double> ta(*a.net, *a.opt, quiet(60)), tb(*b.net, *b.opt, quiet(60));
  const tg::History ha = ta.fit(spiral(), &spiral());
  const tg::History hb = tb.fit(spiral(), &spiral());
  CHECK(ha.loss.size() == 60 * 10);
  CHECK(ha.epochs.size() == 60);
  CHECK(ha.loss == hb.loss);
  CHECK(ha.epochs.back().test_accuracy == hb.epochs.back().test_accuracy);
  CHECK(ha.epochs.back().train_accuracy > 0.9);
  CHECK(ha.loss.back() < ha.loss.front() / 3);
}

TEST_CASE("XOR is learned by a ReLU MLP trained with momentum") {
  tg::Rng rng(2);
  auto net = tg::make_mlp<float>({{2, 8, 2}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  tg::OptimizerOptions o;
  o.lr = 0.1;
  auto opt = tg::make_momentum<float>(net->parameters(), o);
  tg::Trainer<float> trainer(*net, *opt, quiet(40, 20));
  const tg::Dataset data = tg::make_xor(200, 3);
  const auto history = trainer.fit(data);
  CHECK(history.epochs.back().train_accuracy > 0.95);
  CHECK(history.epochs.back().test_accuracy == -1);  // no test set given
}

TEST_CASE("callbacks can stop training early") {
  Setup s;
  tg::Trainer<double> trainer(*s.net, *s.opt, quiet(50));
  int calls = 0;
  trainer.add_callback([&](const tg::EpochStats&, const tg::History&) { return ++calls < 3; });
  CHECK(trainer.fit(spiral()).epochs.size() == 3);
  Setup t("sgd", 1e-6);  // learns nothing: accuracy never improves after the first epoch
  tg::Trainer<double> stuck(*t.net, *t.opt, quiet(50));
  stuck.add_callback(tg::early_stopping<double>(2));
  CHECK(stuck.fit(spiral(), &spiral()).epochs.size() <= 4);
}

TEST_CASE("a diverging run stops with a clear message instead of training on NaN") {
  Setup s("sgd", 1e300, 1, tg::Activation::ReLU);
  tg::Trainer<double> trainer(*s.net, *s.opt, quiet(20));
  CHECK_THROWS_WITH_AS(trainer.fit(spiral()), doctest::Contains("learning rate (1e+300) is probably too large"),
                       tg::NumericError);
}

TEST_CASE("per-epoch lines go to the chosen stream") {
  Setup s;
  TempDir dir;
  std::FILE* log = std::fopen(dir.file("log").c_str(), "w");
  auto o = quiet(2);
  o.progress = tg::TrainerOptions::Progress::Lines;
  o.out = log;
  tg::Trainer<double> trainer(*s.net, *s.opt, o);
  trainer.fit(spiral(), &spiral());
  std::fclose(log);
  const auto bytes = testing::read_bytes(dir.file("log"));
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.find("epoch  1/2  loss ") == 0);
  CHECK(text.find("test acc") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("the bar on a terminal says how long the whole run will take, not just its epoch") {
  Setup s;
  TempDir dir;
  auto o = quiet(3);  // 10 batches an epoch, each made to take 60 ms: about 1.8 s in all
  o.progress = tg::TrainerOptions::Progress::Bar;
  o.after_step = [] { std::this_thread::sleep_for(std::chrono::milliseconds(60)); };
  tg::Trainer<double> trainer(*s.net, *s.opt, o);
  std::fflush(stderr);  // the bar goes to standard error: into a file for this run
  const int saved = dup(2), file = open(dir.file("bar").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(saved >= 0);
  REQUIRE(file >= 0);
  dup2(file, 2);
  close(file);
  trainer.fit(spiral());
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  const auto bytes = testing::read_bytes(dir.file("bar"));
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.find("epoch 1/3 [") != std::string::npos);
  std::vector<int> first_epoch_estimates;
  for (std::size_t at = text.find("epoch 1/3"); at < text.find("epoch 2/3"); at = text.find("epoch 1/3", at + 1)) {
    const std::size_t about = text.find(", about ", at), end = text.find(" s left", at);
    if (about < text.find("epoch 1/3", at + 1) && end < text.find("epoch 1/3", at + 1))
      first_epoch_estimates.push_back(std::stoi(text.substr(about + 8, end - about - 8)));
  }
  REQUIRE(!first_epoch_estimates.empty());
  for (const int seconds : first_epoch_estimates) {  // the two later epochs (1.2 s) are counted in
    CHECK(seconds >= 1);
    CHECK(seconds <= 20);
  }
}

TEST_CASE("a stop asked for while an epoch's accuracy is measured ends the evaluation, not the epoch after it") {
  Setup s;
  auto o = quiet(3);  // 300 rows in batches of 30: 10 steps an epoch
  o.eval_batch = 10;  // the accuracy is measured in pieces of 100 rows
  int polls = 0;
  o.should_stop = [&] { return ++polls > 10; };  // no for the 10 steps, yes before the evaluation's second piece
  tg::Trainer<double> trainer(*s.net, *s.opt, o);
  CHECK_THROWS_WITH_AS(trainer.fit(spiral(), &spiral()),
                       doctest::Contains("interrupted while evaluating epoch 1/3, whose training is not saved"),
                       tg::Interrupted);
  CHECK(polls == 11);
}

TEST_CASE("checkpoints: a model and optimizer loaded from a checkpoint take exactly the original's next steps") {
  TempDir dir;
  const std::string path = dir.file("run.tgckpt");
  Setup original;
  tg::Trainer<double> trainer(*original.net, *original.opt, quiet(2));
  trainer.fit(spiral());
  tg::save_checkpoint(path, *original.net, original.opt.get());
  CHECK(testing::temporaries_in(dir.file("")) == 0);

  Setup restored("adam", 0.01, /*seed=*/77);  // other initial weights, replaced by the load
  tg::load_checkpoint(path, *restored.net, restored.opt.get());
  CHECK(restored.net->parameters()[0]->value == original.net->parameters()[0]->value);
  tg::Trainer<double> a(*original.net, *original.opt, quiet(1)), b(*restored.net, *restored.opt, quiet(1));
  tg::Tensor<double> x;
  std::vector<std::size_t> y;
  const std::size_t rows[] = {0, 50, 150, 299};
  spiral().gather(rows, 4, x, y);
  for (int i = 0; i < 3; ++i) CHECK(a.step(x, y) == b.step(x, y));  // Adam's moments and step count came along
  CHECK(restored.net->parameters()[2]->value == original.net->parameters()[2]->value);
}

TEST_CASE("checkpoint errors: corrupt, truncated, not a checkpoint, other architecture, other precision") {
  TempDir dir;
  const std::string path = dir.file("m.tgckpt");
  Setup s;
  tg::save_checkpoint(path, *s.net, s.opt.get());
  const auto bytes = testing::read_bytes(path);
  Setup target;

  auto flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  testing::write_bytes(path, flipped);
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(path, *target.net), doctest::Contains("checksum mismatch"), tg::DataError);

  testing::write_bytes(path, {bytes.begin(), bytes.begin() + static_cast<long>(bytes.size() / 3)});
  CHECK_THROWS_AS(tg::load_checkpoint(path, *target.net), tg::DataError);

  testing::write_bytes(path, {'h', 'e', 'l', 'l', 'o'});
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(path, *target.net), doctest::Contains("not a tapegrad checkpoint"),
                       tg::DataError);
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(dir.file("missing"), *target.net), doctest::Contains("missing"),
                       tg::DataError);

  testing::write_bytes(path, bytes);
  tg::Rng rng(1);
  auto wider = tg::make_mlp<double>({{2, 32, 3}, tg::Activation::Tanh, tg::Init::xavier(), false, 0}, rng);
  const auto before = wider->parameters()[0]->value;
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(path, *wider),
                       doctest::Contains("saved '0: Linear(2 -> 16)', this model '0: Linear(2 -> 32)'"),
                       tg::DataError);
  CHECK(wider->parameters()[0]->value == before);  // nothing changed

  auto as_float = tg::make_mlp<float>({{2, 16, 3}, tg::Activation::Tanh, tg::Init::xavier(), false, 0}, rng);
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(path, *as_float), doctest::Contains("saved in double, the model is float"),
                       tg::DataError);
  auto sgd = tg::make_sgd<double>(target.net->parameters());
  CHECK_THROWS_AS(tg::load_checkpoint(path, *target.net, sgd.get()), tg::DataError);
  tg::load_checkpoint(path, *target.net, target.opt.get());  // the right pair loads
}

TEST_CASE("saving over a checkpoint replaces it whole, a failed save leaves the old file") {
  TempDir dir;
  const std::string path = dir.file("m.tgckpt");
  Setup a, b("adam", 0.01, 2);
  tg::save_checkpoint(path, *a.net);
  tg::save_checkpoint(path, *b.net);
  Setup c("adam", 0.01, 3);
  tg::load_checkpoint(path, *c.net);
  CHECK(c.net->parameters()[0]->value == b.net->parameters()[0]->value);
  // a folder that does not exist: the message names the file and the folder
  CHECK_THROWS_WITH_AS(tg::save_checkpoint(dir.file("no/such/m.tgckpt"), *a.net),
                       doctest::Contains("no/such/m.tgckpt: cannot create a file in folder"), tg::DataError);
}

TEST_CASE("Fashion-MNIST: 784-256-128-10 ReLU, Adam lr 0.001, batch 100, 10 epochs reaches 88% test accuracy") {
  const tg::History h = testing::fit_fashion_mnist(
      [](const tg::Dataset&, tg::Rng& rng) {
        return tg::make_mlp<float>({{784, 256, 128, 10}, tg::Activation::ReLU, tg::Init::he()}, rng);
      },
      10);
  MESSAGE("test accuracy after 10 epochs: " << h.epochs.back().test_accuracy);
  CHECK(h.epochs.back().test_accuracy >= 0.88);
}

TEST_CASE("a resumed Trainer (start_epoch) continues bit for bit where a straight run would be") {
  TempDir dir;
  const std::string path = dir.file("half.tgckpt");
  const auto options = [&](std::size_t epochs, std::size_t start) {
    tg::TrainerOptions o = quiet(epochs);
    o.seed = 9;
    o.start_epoch = start;
    o.checkpoint = path;
    return o;
  };
  Setup straight("adam", 0.01, 4), first_half("adam", 0.01, 4), second_half("adam", 0.01, 99);
  tg::Trainer<double>(*straight.net, *straight.opt, options(4, 0)).fit(spiral());
  tg::Trainer<double>(*first_half.net, *first_half.opt, options(2, 0)).fit(spiral());
  CHECK(tg::read_run_progress(path).epochs_done == 2);
  tg::load_checkpoint(path, *second_half.net, second_half.opt.get());
  tg::Trainer<double>(*second_half.net, *second_half.opt, options(4, 2)).fit(spiral());
  for (std::size_t i = 0; i < straight.net->parameters().size(); ++i)
    CHECK(straight.net->parameters()[i]->value == second_half.net->parameters()[i]->value);
  CHECK(tg::read_run_progress(path).epochs_done == 4);
  CHECK_THROWS_WITH_AS(tg::Trainer<double>(*second_half.net, *second_half.opt, options(4, 4)).fit(spiral()),
                       doctest::Contains("4 epochs are done already"), tg::ValueError);
}

TEST_CASE("predict and accuracy are free functions of a model and data: no optimizer, the model's mode kept") {
  tg::Rng rng(5);
  auto net = tg::make_mlp<double>({{2, 8, 2}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  const tg::Dataset data = tg::make_xor(37, 2);
  // by hand: the largest logit of each row
  std::vector<std::size_t> all(data.rows), labels;
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  tg::Tensor<double> x;
  data.gather(all.data(), all.size(), x, labels);
  tg::Tape<double> tape;
  const tg::Tensor<double> logits = net->forward(tape, tape.constant(x)).value();
  const std::vector<std::size_t> expected = tg::argmax(logits);
  CHECK(net->training());
  for (std::size_t batch : {1, 5, 37, 1000}) {
    CAPTURE(batch);
    CHECK(tg::predict(*net, data, batch) == expected);
  }
  CHECK(net->training());  // evaluation mode only while predicting
  CHECK(tg::predict(*net, data, 4, 10, 20) == std::vector<std::size_t>(expected.begin() + 10, expected.begin() + 20));
  std::size_t right = 0;
  for (std::size_t i = 0; i < data.rows; ++i) right += expected[i] == data.labels[i];
  CHECK(tg::accuracy(*net, data) == double(right) / 37.0);
  CHECK_THROWS_WITH_AS(tg::predict(*net, data, 0), doctest::Contains("at least one row"), tg::ValueError);
  CHECK_THROWS_AS(tg::predict(*net, data, 4, 30, 20), tg::ValueError);
}
