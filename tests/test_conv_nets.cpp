// Convolution layers and networks: every layer and a whole conv net gradient-checked as modules, the book's
// SimpleConvNet's shapes and parameter count, the layer-list spec and its errors.
#include "helpers.hpp"

using T = tg::Tensor<double>;

namespace {
void check_module(tg::Module<double>& m, const T& x) {
  const auto report = tg::gradcheck_module(m, x);
  INFO(m.description());
  INFO(report.table());
  CHECK(report.passed());
}

std::string error_of(const tg::NetSpec& spec) {
  tg::Rng rng(0);
  try {
    tg::make_network<double>(spec, rng);
  } catch (const tg::Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("Conv2D, MaxPool2D, AvgPool2D, Flatten and Reshape pass gradcheck as modules") {
  tg::Rng rng(8);
  const T images = testing::kink_free({2, 3, 7, 6}, rng);
  SUBCASE("Conv2D 3 -> 4, 3x2 kernel, stride 2x1, padding 1") {
    tg::Conv2dSettings s;
    s.stride = {2, 1};
    s.padding = 1;
    tg::Conv2D<double> layer(3, 4, {3, 2}, tg::Init::he(), rng, s);
    layer.b.value = testing::kink_free({4}, rng);
    CHECK(layer.describe() == "Conv2D(3 -> 4, 3x2, stride 2x1, padding 1)");
    check_module(layer, images);
  }
  SUBCASE("MaxPool2D, overlapping 3x3 windows with stride 2") {
    tg::MaxPool2D<double> layer({3, 2});
    CHECK(layer.describe() == "MaxPool2D(3, stride 2, padding 0)");
    check_module(layer, testing::kink_free({2, 3, 7, 5}, rng));
  }
  SUBCASE("AvgPool2D, 2x3 windows with padding") {
    tg::AvgPool2D<double> layer({{2, 3}, {2, 3}, {1, 0}});
    check_module(layer, testing::kink_free({2, 3, 6, 6}, rng));
  }
  SUBCASE("Flatten and Reshape") {
    tg::Flatten<double> flatten;
    check_module(flatten, images);
    tg::Reshape<double> reshape(tg::Shape{3, 42});
    check_module(reshape, images);
    CHECK(reshape.describe() == "Reshape(3, 42)");
  }
}

TEST_CASE("Conv2D draws filters with the init's scale over its fan-in C * FH * FW") {
  tg::Rng rng(4);
  tg::Conv2D<double> layer(8, 64, 3, tg::Init::he(), rng);
  CHECK(layer.W.value.shape() == tg::Shape{64, 8, 3, 3});
  double sum2 = 0;
  for (double w : layer.W.value) sum2 += w * w;
  const double std = std::sqrt(sum2 / double(layer.W.value.size()));
  CHECK(std == doctest::Approx(std::sqrt(2.0 / 72)).epsilon(0.05));  // 4608 draws: within 5%
  for (double b : layer.b.value) CHECK(b == 0);
}

TEST_CASE("the book's SimpleConvNet: layers, output shapes and 433,890 parameters") {
  tg::Rng rng(1);
  auto net = tg::make_simple_conv_net<float>({1, 28, 28}, 10, rng);
  CHECK(net->description() ==
        "(model): Sequential\n"
        "0: Reshape(1, 28, 28)\n"
        "1: Conv2D(1 -> 30, 5, stride 1, padding 0)\n"
        "2: MaxPool2D(2, stride 2, padding 0)\n"
        "3: ReLU\n"
        "4: Linear(4320 -> 100)\n"
        "5: ReLU\n"
        "6: Linear(100 -> 10)\n");
  const auto layers = net->inspect({100, 784});
  std::vector<std::string> shapes;
  for (const auto& m : layers) shapes.push_back(m.output.str());
  CHECK(shapes == std::vector<std::string>{"(100, 10)", "(100, 1, 28, 28)", "(100, 30, 24, 24)", "(100, 30, 12, 12)",
                                           "(100, 30, 12, 12)", "(100, 100)", "(100, 100)", "(100, 10)"});
  // conv 30*25 + 30, affine 4320*100 + 100, affine 100*10 + 10
  CHECK(net->parameter_count() == 780 + 432100 + 1010);
  tg::NetSpec spec;
  spec.sample = {1, 28, 28};
  spec.layers = "simple_conv";
  CHECK(spec.footprint().parameters == 780 + 432100 + 1010);
  CHECK(spec.footprint().activations == 784 + 784 + 17280 + 2 * 4320 + 2 * 100 + 10);
  // the book's weight_init_std = 0.01
  double sum2 = 0;
  const auto& w = net->named_parameters().front().second->value;
  for (float v : w) sum2 += double(v) * v;
  CHECK(std::sqrt(sum2 / double(w.size())) == doctest::Approx(0.01).epsilon(0.15));
}

TEST_CASE("SimpleConvNet pools before its ReLU: the book's ReLU-then-pool order's loss and gradients, bit for bit") {
  // relu(max(window)) = max(relu(window)), and the gradient reaches the same cell: the window's first maximum when
  // it is positive, no cell otherwise. Random images, and windows that are all negative, all zero or tied.
  for (const char* order : {"conv:30:5,relu,maxpool:2,linear:100,relu", "conv:3:3,relu,maxpool:2,linear:7,relu"}) {
    CAPTURE(order);
    std::string pooled_first = order;
    pooled_first.replace(pooled_first.find("relu,maxpool:2"), 14, "maxpool:2,relu");
    tg::Rng data_rng(3);
    T x = T::randn({6, 784}, data_rng);
    for (std::size_t i = 0; i < 784; ++i) x[i] = -1;       // image 0: constant, every conv window the same
    for (std::size_t i = 784; i < 2 * 784; ++i) x[i] = 0;  // image 1: zeros
    const std::vector<std::size_t> labels{0, 1, 2, 3, 4, 5};
    std::vector<double> losses;
    std::vector<std::vector<T>> grads;
    for (const std::string& layers : {std::string(order), pooled_first}) {
      tg::NetSpec spec;
      spec.sample = {1, 28, 28};
      spec.layers = layers;
      tg::Rng rng(7);
      auto net = tg::make_network<double>(spec, rng);
      tg::Tape<double> tape;
      const auto loss = tg::softmax_cross_entropy((*net)(tape, tape.constant(x)), labels);
      loss.backward();
      losses.push_back(loss.value()[0]);
      grads.emplace_back();
      for (tg::Parameter<double>* p : net->parameters()) grads.back().push_back(p->grad());
    }
    CHECK(losses[0] == losses[1]);
    REQUIRE(grads[0].size() == grads[1].size());
    for (std::size_t k = 0; k < grads[0].size(); ++k) CHECK(grads[0][k] == grads[1][k]);
  }
  CHECK(std::string(tg::kSimpleConvNet) == "conv:30:5,maxpool:2,relu,linear:100,relu");
}

TEST_CASE("a whole conv net passes gradcheck: conv, relu, max and average pooling, flatten, batchnorm, linear") {
  tg::Rng rng(9);
  tg::NetSpec spec;
  spec.sample = {2, 7, 6};
  spec.classes = 3;
  spec.layers = "conv:3:3:pad=1,tanh,maxpool:2:stride=1,conv:2:2x3:stride=2x1,sigmoid,avgpool:1x2:stride=1,flatten,"
                "batchnorm,linear:5,tanh";
  auto net = tg::make_network<double>(spec, rng);
  CHECK(spec.str() == "2x7x6 " + spec.layers + " -> 3 he");
  check_module(*net, testing::kink_free({3, 84}, rng));
}

TEST_CASE("network specs: hidden sizes still build an MLP, simple_conv expands, and bad text names the layer") {
  tg::NetSpec mlp;
  mlp.layers = "50-20";
  CHECK(mlp.is_mlp());
  CHECK(mlp.str() == "784-50-20-10 relu he");
  tg::NetSpec conv;
  conv.sample = {1, 28, 28};
  conv.layers = "simple_conv";
  CHECK(conv.str() == "1x28x28 conv:30:5,maxpool:2,relu,linear:100,relu -> 10 he");

  tg::NetSpec bad = conv;
  bad.layers = "conv:30,relu";
  CHECK(error_of(bad) == "network 'conv:30,relu': layer 1 'conv:30': needs conv:FILTERS:KERNEL, e.g. conv:30:5");
  bad.layers = "conv:30:5,swish";
  CHECK(error_of(bad) == "network 'conv:30:5,swish': layer 2 'swish': unknown layer (conv, maxpool, avgpool, linear, "
                         "relu, sigmoid, tanh, flatten, batchnorm, dropout, lstm, gru, rnn)");
  bad.layers = "conv:30:29";
  CHECK(error_of(bad) == "network 'conv:30:29': layer 1 'conv:30:29': conv2d: the window's height 29 is larger than "
                         "the padded input's 28 (x (1, 1, 28, 28), padding 0)");
  bad.layers = "maxpool:3";
  CHECK(error_of(bad).find("network 'maxpool:3': layer 1 'maxpool:3': max_pool2d: x (1, 1, 28, 28) with window "
                           "height 3, stride 3 and padding 0 leaves the last 1 input row(s)") == 0);
  CHECK(error_of(bad).find("(in a layer list: remainder=drop)") != std::string::npos);
  bad.layers = "maxpool:3:remainder=drop";
  CHECK(error_of(bad) == "no error");
  bad.layers = "conv:4:3:stride=0";
  CHECK(error_of(bad) == "network 'conv:4:3:stride=0': layer 1 'conv:4:3:stride=0': the stride must be positive");
  bad.layers = "linear:10,conv:4:3";
  CHECK(error_of(bad) == "network 'linear:10,conv:4:3': layer 2 'conv:4:3': needs images (channels, height, width), "
                         "but its input is (10,)");
  bad.layers = "relu:2";
  CHECK(error_of(bad) == "network 'relu:2': layer 1 'relu:2': needs no values");
  bad.layers = "conv:4:3:size=2";
  CHECK(error_of(bad) == "network 'conv:4:3:size=2': layer 1 'conv:4:3:size=2': unknown setting 'size=2' (stride, pad or remainder=drop)");
  bad.layers = "conv:99999999999999999999:3";
  CHECK(error_of(bad).find("the filter count '99999999999999999999' is not a whole number up to 1000000") !=
        std::string::npos);
  bad.sample = {784};  // flat data
  bad.layers = "conv:4:3";
  CHECK(error_of(bad) == "network 'conv:4:3': layer 1 'conv:4:3': needs images (channels, height, width), but its "
                         "input is (784,)");
}

TEST_CASE("network specs: lstm, gru and rnn layers read images row by row and give the last h") {
  tg::NetSpec spec;
  spec.sample = {1, 28, 28};
  spec.layers = "lstm:64";
  // LibTorch's count: 4 x 64 x (28 + 64) weights and 2 x 4 x 64 biases, then Linear 64 -> 10
  CHECK(spec.footprint().parameters == 4 * 64 * (28 + 64) + 2 * 4 * 64 + 64 * 10 + 10);
  tg::Rng rng(2);
  auto net = tg::make_network<double>(spec, rng);
  CHECK(net->parameter_count() == 24064 + 650);
  CHECK(net->named_parameters()[0].first == "0.lstm.weight_ih_l0");
  CHECK((*net)[0].describe() == "LSTM(28 -> 64) over 28 steps, last h");
  // the network's output is the Linear of the LSTM's last h, run on the rows of each image
  const T x = T::randn({3, 784}, rng);
  tg::Tape<double> tape;
  const tg::Var<double> y = (*net)(tape, tape.constant(x));
  CHECK(y.shape() == tg::Shape{3, 10});
  auto& head = dynamic_cast<tg::LastHidden<double, tg::LSTMCell<double>>&>((*net)[0]);
  tg::Tape<double> by_hand;
  const tg::Var<double> rows = tg::reshape(by_hand.constant(x), {3, 28, 28});
  const tg::Var<double> h = tg::reshape(head.layer.run(by_hand, rows).h, {3, 64});
  const T expected = (*net)[1](by_hand, h).value();
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(y.value()[i] == doctest::Approx(expected[i]).epsilon(1e-14));
  // every parameter's gradient, first and second order, on a small one: GRU of 2 layers over a flat sample
  tg::NetSpec small;
  small.sample = {5};
  small.classes = 3;
  small.layers = "gru:3:layers=2,tanh";
  auto gru = tg::make_network<double>(small, rng);
  CHECK((*gru)[0].describe() == "GRU(1 -> 3, 2 layers) over 5 steps, last h");
  tg::GradcheckOptions options;
  const T input = testing::kink_free({2, 5}, rng);
  CHECK(tg::gradcheck_module(*gru, input, options).passed());
  small.layers = "rnn:4";
  CHECK(tg::make_network<double>(small, rng)->parameter_count() == 4 * (1 + 4 + 2) + 4 * 3 + 3);

  tg::NetSpec bad = spec;
  bad.layers = "lstm";
  CHECK(error_of(bad) == "network 'lstm': layer 1 'lstm': needs lstm:HIDDEN[:layers=L], e.g. lstm:128");
  bad.layers = "gru:0";
  CHECK(error_of(bad) == "network 'gru:0': layer 1 'gru:0': the hidden size must be positive");
  bad.layers = "lstm:8:layers=0";
  CHECK(error_of(bad) == "network 'lstm:8:layers=0': layer 1 'lstm:8:layers=0': the layer count must be positive");
  bad.layers = "lstm:8:layers=101";
  CHECK(error_of(bad) == "network 'lstm:8:layers=101': layer 1 'lstm:8:layers=101': the layer count is at most 100");
  bad.layers = "rnn:8:dropout=0.5";
  CHECK(error_of(bad) == "network 'rnn:8:dropout=0.5': layer 1 'rnn:8:dropout=0.5': unknown setting 'dropout=0.5' "
                         "(layers=L)");
  bad.layers = "conv:2:3,lstm:8";  // after a conv: its (2, 26, 26) output is read as 26 steps of 52 values
  CHECK(error_of(bad) == "no error");
  tg::Tape<float> t2;
  tg::LastHidden<float, tg::LSTMCell<float>> head_only({1, 4, 4}, 2, 1, rng);
  CHECK(testing::message_of<tg::ShapeError>([&] { head_only(t2, t2.constant(tg::Tensor<float>::zeros({2, 15}))); }) ==
        "LSTM(4 -> 2) over 4 steps, last h: the input has shape (2, 15); each row is one sample of 16 values");
}

TEST_CASE("Fashion-MNIST: the book's SimpleConvNet, Adam lr 0.001, batch 100, 5 epochs reaches 90% test accuracy") {
  const tg::History h = testing::fit_fashion_mnist(
      [](const tg::Dataset& train, tg::Rng& rng) {
        return tg::make_simple_conv_net<float>(train.sample_shape(), train.classes, rng, tg::Init::he());
      },
      5);
  for (const tg::EpochStats& e : h.epochs)
    MESSAGE("epoch " << e.epoch << ": test accuracy " << e.test_accuracy << ", " << e.seconds << " s");
  CHECK(h.epochs.back().test_accuracy >= 0.90);
}

TEST_CASE("DeepConvNet, reduced: 3,000 Fashion-MNIST images, 2 epochs of Adam, and a run resumed after its first "
          "epoch ends bit for bit where the straight run does") {
  const std::string dir = tg::default_data_dir();
  REQUIRE_MESSAGE(std::filesystem::exists(dir), dir << " is not installed (scripts/setup.sh installs it)");
  tg::set_blas_threads(1);
  const tg::TrainTest full = tg::load_mnist(dir);
  const tg::Dataset train = full.train.head(3000), test = full.test.head(2000);
  testing::TempDir folder;
  const std::string checkpoint = folder.file("deep.tgckpt");
  struct Run {
    explicit Run(const tg::Dataset& data) {
      tg::Rng rng(0);
      tg::NetSpec spec;
      spec.sample = data.sample_shape();
      spec.classes = data.classes;
      spec.layers = "deep_conv";
      net = tg::make_network<float>(spec, rng);
      adam = tg::make_adam<float>(net->parameters(), {0.001});
    }
    std::unique_ptr<tg::Sequential<float>> net;
    std::unique_ptr<tg::Optimizer<float>> adam;
  };
  const auto options = [&](std::size_t epochs, std::size_t start) {
    tg::TrainerOptions o;
    o.epochs = epochs;
    o.start_epoch = start;
    o.seed = 0;
    o.evaluate_train = false;
    o.progress = tg::TrainerOptions::Progress::Quiet;
    o.checkpoint = checkpoint;
    return o;
  };
  Run straight(train), resumed(train);
  const tg::History h = tg::Trainer<float>(*straight.net, *straight.adam, options(2, 0)).fit(train, &test);
  CHECK(straight.net->parameter_count() == 123552);
  for (const tg::EpochStats& e : h.epochs)
    MESSAGE("epoch " << e.epoch << ": test accuracy " << e.test_accuracy << ", " << e.seconds << " s");
  CHECK(h.epochs.back().test_accuracy >= 0.65);  // measured: 0.7075 (own kernel); untrained: about 0.10
  CHECK(h.epochs.back().train_loss < h.epochs.front().train_loss);

  tg::Trainer<float>(*resumed.net, *resumed.adam, options(1, 0)).fit(train);
  Run second_half(train);  // a fresh process would do this: the same network, then the checkpoint's weights
  tg::load_checkpoint(checkpoint, *second_half.net, second_half.adam.get());
  tg::Trainer<float>(*second_half.net, *second_half.adam, options(2, 1)).fit(train);
  const auto a = straight.net->parameters(), b = second_half.net->parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(a[i]->value == b[i]->value);
}
