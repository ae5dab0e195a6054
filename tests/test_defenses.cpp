// The library defends itself: indices a user passes are checked, a Tape refuses a second thread, data with NaN
// and models without parameters are refused, training stops on a non-finite parameter, crafted checkpoints are
// refused before they cost memory, and a run stopped mid-epoch resumes at its next step.
#include <cmath>
#include <thread>

#include "helpers.hpp"

using testing::TempDir;

namespace {
using T = tg::Tensor<double>;
using V = tg::Var<double>;

struct Reads : tg::CustomOp<double> {
  std::size_t k;
  explicit Reads(std::size_t index) : k(index) {}
  const char* name() const override { return "Reads"; }
  T forward(const tg::Inputs<double>& in) override { return in[0]; }
  std::vector<T> backward(const T& g) override {
    (void)input(k);
    (void)needs_grad(k);
    return {g};
  }
};
struct ReadsInForward : tg::CustomOp<double> {
  const char* name() const override { return "ReadsInForward"; }
  T forward(const tg::Inputs<double>& in) override { return in[1]; }
  std::vector<T> backward(const T& g) override { return {g}; }
};

struct Unregistered : tg::Module<double> {  // holds a layer it forgot to register
  tg::Rng rng{1};
  tg::Linear<double> layer{2, 3, tg::Init::he(), rng};
  V forward(tg::Tape<double>& tape, const V& x) override { return layer.forward(tape, x); }
};
}  // namespace

TEST_CASE("defenses: an op's input index out of range is an OpError naming the op, in forward and in backward") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{1.0, 2.0});
  CHECK_THROWS_WITH_AS(tg::apply<ReadsInForward>({a}),
                       doctest::Contains("ReadsInForward: forward threw: ReadsInForward: input 1 asked for, but the op "
                                         "has 1 input (0 to 0)"),
                       tg::OpError);
  const V ok = tg::apply<Reads>({a}, std::size_t{0});
  tg::sum(ok).backward();
  CHECK(a.grad() == T{1.0, 1.0});
  tape.clear();
  const V b = tape.variable(T{1.0, 2.0});
  const V bad = tg::apply<Reads>({b}, std::size_t{3});
  CHECK_THROWS_WITH_AS(tg::sum(bad).backward(), doctest::Contains("Reads: input 3 asked for, but the op has 1 input"),
                       tg::OpError);
}

TEST_CASE("defenses: a tape recorded on by one thread refuses another until clear() hands it over") {
  tg::Tape<double> tape;
  const V a = tape.variable(T{1.0});
  std::string message;
  std::thread other([&] {
    try {
      (void)(a * a);
    } catch (const tg::TapeError& e) {
      message = e.what();
    }
  });
  other.join();
  CHECK(message.find("this tape is in use by another thread") != std::string::npos);
  CHECK((a * a).item() == 1.0);  // the owner goes on
  tape.clear();
  double value = 0;
  std::thread taker([&] {  // after clear(), another thread may take the tape over
    const V b = tape.variable(T{3.0});
    value = (b * b).item();
  });
  taker.join();
  CHECK(value == 9.0);
}

TEST_CASE("defenses: a Var read after its tape was cleared or destroyed is a TapeError") {
  auto tape = std::make_unique<tg::Tape<double>>();
  const V a = tape->variable(T{1.0});
  tape->clear();
  CHECK_THROWS_AS(a.value(), tg::TapeError);
  const V b = tape->variable(T{2.0});
  tape.reset();
  CHECK_THROWS_WITH_AS(b.value(), "this Var belongs to a tape that was destroyed", tg::TapeError);
}

TEST_CASE("defenses: NaN or inf in a data set's features is refused at validate, naming row and column") {
  tg::Dataset d = tg::make_xor(10, 1);
  d.validate();
  d.values[2 * d.features + 1] = std::nanf("");
  CHECK_THROWS_WITH_AS(d.validate(), doctest::Contains("feature 1 of row 2 is nan"), tg::ValueError);
  d.values[2 * d.features + 1] = INFINITY;
  CHECK_THROWS_WITH_AS(d.validate(), doctest::Contains("feature 1 of row 2 is inf"), tg::ValueError);
}

TEST_CASE("defenses: a model with no parameters is refused by the Trainer and by an optimizer's step") {
  Unregistered model;
  auto sgd = tg::make_sgd<double>(model.parameters());
  CHECK_THROWS_WITH_AS(sgd->step(), doctest::Contains("did you register the model's layers"), tg::ValueError);
  CHECK_THROWS_WITH_AS(tg::Trainer<double>(model, *sgd), doctest::Contains("did you register its layers"),
                       tg::ValueError);
}

TEST_CASE("defenses: gradcheck_module refuses a tree with no parameters unless each layer is parameter-free by design") {
  tg::Rng rng(2);
  const T x = testing::kink_free({3, 2}, rng);
  Unregistered model;
  CHECK_THROWS_WITH_AS(tg::gradcheck_module(model, x),
                       doctest::Contains("gradcheck_module: the module (Unregistered) has no parameters to check; "
                                         "did you register its layers"),
                       tg::ValueError);
  tg::Sequential<double> empty;
  CHECK_THROWS_AS(tg::gradcheck_module(empty, x), tg::ValueError);
  tg::Sequential<double> activations;  // nothing to register: its input gradient is what is checked
  activations.add<tg::Tanh<double>>();
  activations.add<tg::Sigmoid<double>>();
  CHECK(activations.parameter_free());
  const tg::GradcheckReport report = tg::gradcheck_module(activations, x);
  CHECK(report.passed());
  CHECK(report.entries.size() == 1);  // the input
}

TEST_CASE("defenses: a NaN weight stops training naming the parameter, though ReLU keeps the loss finite") {
  tg::Rng rng(3);
  auto net = tg::make_mlp<double>({{2, 8, 3}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  auto sgd = tg::make_sgd<double>(net->parameters());
  net->parameters()[0]->value[0] = std::nan("");  // one weight of the first layer: its unit's ReLU outputs 0
  tg::TrainerOptions options = testing::quiet_options(1, 10, 5);
  tg::Trainer<double> trainer(*net, *sgd, options);
  CHECK_THROWS_WITH_AS(trainer.fit(tg::make_xor(50, 1)), doctest::Contains("parameter '0.W' holds nan at element 0"),
                       tg::NumericError);
}

TEST_CASE("defenses: a checkpoint with NaN weights or a tensor named twice is refused, naming it") {
  TempDir dir;
  tg::Rng rng(1);
  auto net = tg::make_mlp<double>({{2, 4, 3}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  net->parameters()[1]->value[2] = INFINITY;
  tg::save_checkpoint(dir.file("inf.tgckpt"), *net);
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(dir.file("inf.tgckpt"), *net),
                       doctest::Contains("tensor 'param/0.b' holds inf at element 2"), tg::DataError);
  CHECK_THROWS_WITH_AS(tg::load_checkpoint(dir.str(), *net), doctest::Contains("not a regular file"), tg::DataError);
}

TEST_CASE("defenses: a run stopped mid-epoch by max_iterations resumes at its next step, as a straight run goes") {
  TempDir dir;
  const tg::Dataset data = tg::make_xor(100, 2);  // 10 batches of 10 per epoch
  const auto make = [](std::unique_ptr<tg::Sequential<double>>& net, std::unique_ptr<tg::Optimizer<double>>& opt) {
    tg::Rng rng(5);
    net = tg::make_mlp<double>({{2, 8, 2}, tg::Activation::Tanh, tg::Init::xavier(), false, 0}, rng);
    opt = tg::make_sgd<double>(net->parameters());
  };
  std::unique_ptr<tg::Sequential<double>> straight, first, second;
  std::unique_ptr<tg::Optimizer<double>> so, fo, qo;
  make(straight, so);
  tg::TrainerOptions all = testing::quiet_options(2, 10, 5);
  tg::Trainer<double>(*straight, *so, all).fit(data);

  make(first, fo);
  tg::TrainerOptions part = all;
  part.max_iterations = 13;  // epoch 2, step 3
  part.checkpoint = dir.file("m.tgckpt");
  tg::Trainer<double>(*first, *fo, part).fit(data);
  const tg::RunProgress done = tg::read_run_progress(dir.file("m.tgckpt"));
  CHECK(done.epochs_done == 1);  // whole epochs
  CHECK(done.iteration == 13);

  make(second, qo);
  tg::load_checkpoint(dir.file("m.tgckpt"), *second, qo.get());
  tg::TrainerOptions rest = all;
  rest.start_epoch = done.epochs_done;
  rest.start_iteration = done.iteration;
  const tg::History h = tg::Trainer<double>(*second, *qo, rest).fit(data);
  CHECK(h.loss.size() == 7);  // the 7 steps left of epoch 2
  const auto a = straight->parameters(), b = second->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);  // bit for bit
  rest.start_iteration = 25;  // beyond epoch 2
  CHECK_THROWS_AS(tg::Trainer<double>(*second, *qo, rest).fit(data), tg::ValueError);
}

TEST_CASE("defenses: a Checkpoint is read once: what was checked is what loads, however the file changes after") {
  TempDir dir;
  tg::Rng rng(1);
  auto net = tg::make_mlp<double>({{2, 3, 2}, tg::Activation::ReLU, tg::Init::he(), false, 0}, rng);
  tg::save_checkpoint<double>(dir.file("m.tgckpt"), *net, nullptr, "epochs_done=1\niteration=7\n");
  const std::vector<tg::Parameter<double>*> params = net->parameters();
  const tg::Tensor<double> saved = params[0]->value;
  const tg::Checkpoint checkpoint(dir.file("m.tgckpt"));
  CHECK(checkpoint.fields().at("iteration") == "7");
  CHECK(tg::read_run_progress(checkpoint).iteration == 7);
  testing::write_bytes(dir.file("m.tgckpt"), {'g', 'o', 'n', 'e'});  // replaced after the check
  params[0]->value.fill(0.0);
  tg::load_checkpoint(checkpoint, *net);
  CHECK(params[0]->value == saved);
  CHECK_THROWS_WITH_AS(tg::Checkpoint(dir.file("m.tgckpt")), doctest::Contains("not a tapegrad checkpoint"),
                       tg::DataError);
}
